"""Stable Diffusion 3.x on a tiny pipeline: detection, defaults, bare-diffusers pixels, img2img, a LoRA refusal."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from desktop.core.errors import InvalidParameter
from desktop.core.image.engine import ImageRequest
from desktop.core.image.model_files import inspect_model
from desktop.core.image.params import SD3, ImageParams, LoraChoice, default_params
from desktop.core.records import ListSink
from desktop.core.tiny_models.flow import build_tiny_sd3_pipeline

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def sd3(tmp_path_factory):
    return build_tiny_sd3_pipeline(tmp_path_factory.mktemp("sd3") / "tiny-sd3")


def params(**kw) -> ImageParams:
    base = dict(prompt="a red lighthouse", negative_prompt="fog", steps=2, guidance=4.5, width=64, height=64,
                seed=5, scheduler="Default")
    base.update(kw)
    return ImageParams(**base)


@pytest.mark.slow
def test_the_folder_is_detected_with_its_three_text_encoders(sd3):
    info = inspect_model(sd3)
    assert (info.family, info.pipeline_class, info.family_label) == (SD3, "StableDiffusion3Pipeline",
                                                                     "Stable Diffusion 3.x")
    assert {"transformer/config.json", "text_encoder_3/config.json", "tokenizer_3/tokenizer.json"} <= set(info.files)
    d = default_params(SD3)
    assert (d.steps, d.guidance, d.width, d.scheduler) == (28, 4.5, 1024, "Default")


@pytest.mark.slow
def test_the_engine_makes_bare_diffusers_pixels_with_the_negative_prompt(engine, sd3):
    import diffusers
    import torch

    p = params()
    sink = ListSink()
    [image] = engine.generate(ImageRequest(str(sd3), p), sink=sink).images
    pipe = diffusers.StableDiffusion3Pipeline.from_pretrained(sd3, local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    bare = pipe(p.prompt, negative_prompt=p.negative_prompt, num_inference_steps=p.steps, guidance_scale=p.guidance,
                width=p.width, height=p.height, generator=torch.Generator().manual_seed(p.seed)).images[0]
    assert np.array_equal(np.asarray(image.image), np.asarray(bare))
    [record] = sink.records
    assert (record.negative_prompt, record.parameters["pipeline"]) == ("fog", "StableDiffusion3Pipeline")
    other = engine.generate(ImageRequest(str(sd3), params(negative_prompt=""))).images[0]
    assert not np.array_equal(np.asarray(other.image), np.asarray(bare))  # the negative prompt is used


@pytest.mark.slow
def test_img2img_runs_on_the_same_components(engine, sd3, tmp_path):
    init = tmp_path / "init.png"
    Image.new("RGB", (64, 64), (200, 40, 40)).save(init)
    sink = ListSink()
    [image] = engine.generate(ImageRequest(str(sd3), params(init_image=str(init), strength=0.5)), sink=sink).images
    assert image.image.size == (64, 64)
    assert sink.records[0].parameters["pipeline"] == "StableDiffusion3Img2ImgPipeline"


@pytest.mark.slow
def test_an_sd1_lora_is_refused_naming_both_families(engine, sd3, tmp_path):
    import torch
    from safetensors.torch import save_file

    lora = tmp_path / "sd15-style.safetensors"
    name = "lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn2_to_k"
    save_file({f"{name}.lora_down.weight": torch.zeros(4, 768), f"{name}.lora_up.weight": torch.zeros(640, 4)},
              str(lora))
    with pytest.raises(InvalidParameter) as err:
        engine.generate(ImageRequest(str(sd3), params(loras=[LoraChoice(str(lora), 1.0)])))
    assert "is for Stable Diffusion 1.x" in str(err.value) and "is Stable Diffusion 3.x" in str(err.value)
