"""FLUX.1 on tiny pipelines: family detection (folders and single files, dev and schnell), defaults,
pixel-identical images against bare diffusers, no negative prompt; a checkpoint matching no family."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from desktop.core.errors import InvalidParameter, ModelFileError
from desktop.core.image.engine import ImageRequest
from desktop.core.image.model_files import inspect_model
from desktop.core.image.params import FLUX, FLUX_SCHNELL, SD3, ImageParams, default_params
from desktop.core.records import ListSink
from desktop.core.tiny_models.flow import build_tiny_flux_pipeline

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def sparse_safetensors(path, tensors: dict[str, list[int]]):
    """A valid safetensors file with these names and shapes (bf16) whose data is a sparse hole:
    the published FLUX and SD 3.5 tensors are hundreds of MB each, and detection reads only the header."""
    header, offset = {}, 0
    for name, shape in tensors.items():
        size = 2 * int(np.prod(shape))
        header[name] = {"dtype": "BF16", "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(raw)) + raw)
        fh.truncate(8 + len(raw) + offset)
    return path


# Names and shapes of Black Forest Labs' flux1-dev.safetensors / flux1-schnell.safetensors (hidden 3072,
# 64 packed latent channels in, T5-XXL 4096 and CLIP-L 768 conditioning).
FLUX_TENSORS = {
    "img_in.weight": [3072, 64], "txt_in.weight": [3072, 4096], "time_in.in_layer.weight": [3072, 256],
    "vector_in.in_layer.weight": [3072, 768], "double_blocks.0.img_attn.qkv.weight": [9216, 3072],
    "double_blocks.0.txt_attn.qkv.weight": [9216, 3072], "single_blocks.0.linear1.weight": [21504, 3072],
    "final_layer.linear.weight": [64, 3072],
}
# Stability's sd3.5_medium.safetensors: MM-DiT under model.diffusion_model (hidden 1536, 2x2 patches of
# 16 latent channels), its VAE and text encoders beside it.
SD35_TENSORS = {
    "model.diffusion_model.x_embedder.proj.weight": [1536, 16, 2, 2],
    "model.diffusion_model.context_embedder.weight": [1536, 4096],
    "model.diffusion_model.joint_blocks.0.x_block.attn.qkv.weight": [4608, 1536],
    "model.diffusion_model.joint_blocks.0.context_block.attn.qkv.weight": [4608, 1536],
    "first_stage_model.decoder.conv_in.weight": [512, 16, 3, 3],
    "text_encoders.clip_l.transformer.text_model.final_layer_norm.weight": [768],
}


@pytest.fixture(scope="module")
def flux_dev(tmp_path_factory):
    return build_tiny_flux_pipeline(tmp_path_factory.mktemp("flux") / "tiny-flux-dev")


def test_folders_are_detected_from_model_index_and_the_transformer_config(flux_dev, tmp_path):
    info = inspect_model(flux_dev)
    assert (info.family, info.pipeline_class, info.family_label) == (FLUX, "FluxPipeline", "FLUX.1 (dev)")
    assert "transformer/config.json" in info.files and "tokenizer_2/tokenizer.json" in info.files
    schnell = inspect_model(build_tiny_flux_pipeline(tmp_path / "tiny-flux-schnell", schnell=True))
    assert schnell.family == FLUX_SCHNELL


def test_single_files_are_detected_from_the_published_tensor_names(tmp_path):
    dev = sparse_safetensors(tmp_path / "flux1-dev.safetensors",
                             {**FLUX_TENSORS, "guidance_in.in_layer.weight": [3072, 256]})
    assert inspect_model(dev).family == FLUX
    schnell = sparse_safetensors(tmp_path / "flux1-schnell.safetensors", FLUX_TENSORS)
    assert (inspect_model(schnell).family, inspect_model(schnell).pipeline_class) == (FLUX_SCHNELL, "FluxPipeline")
    comfy = sparse_safetensors(tmp_path / "flux-aio.safetensors",
                               {f"model.diffusion_model.{k}": v for k, v in FLUX_TENSORS.items()})
    assert inspect_model(comfy).family == FLUX_SCHNELL
    sd35 = sparse_safetensors(tmp_path / "sd3.5_medium.safetensors", SD35_TENSORS)
    assert (inspect_model(sd35).family, inspect_model(sd35).pipeline_class) == (SD3, "StableDiffusion3Pipeline")


def test_a_checkpoint_matching_no_family_is_refused_naming_what_it_holds(tmp_path):
    vae = sparse_safetensors(tmp_path / "some-vae.safetensors", {
        "encoder.conv_in.weight": [128, 3, 3, 3], "encoder.down.0.block.0.conv1.weight": [128, 128, 3, 3],
        "decoder.conv_out.weight": [3, 128, 3, 3]})
    with pytest.raises(ModelFileError) as err:
        inspect_model(vae)
    message = str(err.value)
    assert "some-vae.safetensors matches no image model family" in message
    assert "3 tensors, mostly encoder.conv_in.*" in message and "decoder.conv_out.*" in message


def test_defaults_are_flux_dev_ones_and_the_sd_samplers_and_uneven_sizes_are_refused(engine, flux_dev):
    d = default_params(FLUX)
    assert (d.steps, d.guidance, d.width, d.height, d.scheduler) == (28, 3.5, 1024, 1024, "Default")
    assert (default_params(FLUX_SCHNELL).steps, default_params(FLUX_SCHNELL).guidance) == (4, 0.0)
    with pytest.raises(InvalidParameter, match="Scheduler must be one GenLab knows"):
        engine.generate(ImageRequest(str(flux_dev), ImageParams(prompt="x", steps=1, width=64, height=64,
                                                                scheduler="Euler a")))
    with pytest.raises(InvalidParameter, match="Width 72 must be a multiple of 16"):
        engine.generate(ImageRequest(str(flux_dev), ImageParams(prompt="x", steps=1, width=72, height=64,
                                                                scheduler="Default")))


def bare_flux(folder, p: ImageParams):
    import diffusers
    import torch

    pipe = diffusers.FluxPipeline.from_pretrained(folder, local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    return pipe(p.prompt, num_inference_steps=p.steps, guidance_scale=p.guidance, width=p.width, height=p.height,
                generator=torch.Generator().manual_seed(p.seed)).images[0]


@pytest.mark.slow
def test_the_engine_makes_bare_diffusers_pixels_and_leaves_the_negative_prompt_out(engine, flux_dev):
    p = ImageParams(prompt="a red lighthouse", negative_prompt="fog", steps=2, guidance=3.5, width=64, height=64,
                    seed=11, scheduler="Default")
    sink = ListSink()
    result = engine.generate(ImageRequest(str(flux_dev), p), sink=sink)
    [image] = result.images
    assert any("takes no negative prompt" in w for w in result.warnings)
    assert np.array_equal(np.asarray(image.image), np.asarray(bare_flux(flux_dev, p)))
    [record] = sink.records
    assert (record.negative_prompt, record.parameters["family"], record.parameters["pipeline"]) == \
        ("", FLUX, "FluxPipeline")


@pytest.mark.slow
def test_a_flux_lora_changes_the_image_weight_zero_does_not_and_an_sd_lora_is_refused(engine, flux_dev, tmp_path,
                                                                                      tiny_sd_pipeline):
    from desktop.core.image.params import LoraChoice
    from desktop.core.tiny_models.lora import build_tiny_lora

    lora = build_tiny_lora(flux_dev, tmp_path / "flux-style.safetensors", seed=3)
    p = ImageParams(prompt="a red lighthouse", steps=2, guidance=3.5, width=64, height=64, seed=2, scheduler="Default")

    def pixels(**kw):
        [image] = engine.generate(ImageRequest(str(flux_dev), ImageParams(**{**p.__dict__, **kw}))).images
        return np.asarray(image.image).astype(int)

    bare = pixels()
    assert np.abs(pixels(loras=[LoraChoice(str(lora), 1.0)]) - bare).max() > 0
    assert np.array_equal(pixels(loras=[LoraChoice(str(lora), 0.0)]), bare)
    sd_lora = build_tiny_lora(tiny_sd_pipeline, tmp_path / "sd-style.safetensors")
    with pytest.raises(InvalidParameter, match="is for a UNet .* model, but tiny-flux-dev is FLUX.1 \\(dev\\)"):
        pixels(loras=[LoraChoice(str(sd_lora), 1.0)])


@pytest.mark.slow
def test_flux_loads_in_bfloat16_on_a_gpu_that_has_it_and_others_keep_their_dtype():
    import torch

    from desktop.core.image.engine import family_dtype
    from desktop.core.image.params import SDXL

    assert family_dtype(FLUX, "cuda", torch.float16, bf16_supported=True) == torch.bfloat16
    assert family_dtype(FLUX_SCHNELL, "cuda", torch.float16, bf16_supported=False) == torch.float16
    assert family_dtype(SDXL, "cuda", torch.float16, bf16_supported=True) == torch.float16
    assert family_dtype(FLUX, "cpu", torch.float32) == torch.float32
