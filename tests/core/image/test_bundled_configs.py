"""The diffusers configs GenLab ships let single-file checkpoints load with no hub.

Components are built from the configs on the ``meta`` device (no weights, no
memory) and their parameter counts compared with the published sizes of the
official models, so a wrong layer count or width in a config fails here.
"""

from __future__ import annotations

import json
import shutil

import pytest

from desktop.core import paths
from desktop.core.errors import ModelFileError
from desktop.core.image.model_files import inspect_model
from desktop.core.image.pipeline import load_pipeline, single_file_config_dir

FAMILIES = ("sd1", "sd2", "sd2-base", "sd-turbo", "sdxl", "sdxl-turbo")
XL = ("sdxl", "sdxl-turbo")
# Millions of parameters of the official weights (SD 1.5, SD 2.1, SDXL base 1.0).
UNET_M = {"sd1": 859.52, "sd2": 865.91, "sd2-base": 865.91, "sd-turbo": 865.91, "sdxl": 2567.46,
          "sdxl-turbo": 2567.46}
VAE_M = 83.65
CLIP_L_M, OPENCLIP_H_M, OPENCLIP_BIGG_M = 123.06, 340.39, 694.66
A_PHOTO_OF_A_CAT = [49406, 320, 1125, 539, 320, 2368, 49407]  # what OpenAI's CLIP tokenizer gives


def bundled(family: str):
    return paths.resource_path("diffusers-configs", family)


def millions(module) -> float:
    return round(sum(p.numel() for p in module.parameters()) / 1e6, 2)


def tokenizer_dirs():
    return [(fam, sub) for fam in FAMILIES for sub in (("tokenizer", "tokenizer_2") if fam in XL else ("tokenizer",))]


@pytest.mark.parametrize("family", FAMILIES)
def test_every_declared_component_has_its_config(family):
    folder = bundled(family)
    index = json.loads((folder / "model_index.json").read_text(encoding="utf-8"))
    components = {k for k, v in index.items() if isinstance(v, list) and v[0]}
    expected = {"scheduler", "unet", "vae", "text_encoder", "tokenizer"}
    assert components == (expected | {"text_encoder_2", "tokenizer_2"} if family in XL else expected)
    for name in components:
        files = {p.name for p in (folder / name).iterdir()}
        if name.startswith("tokenizer"):
            assert {"vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"} <= files
        else:
            assert files == {"scheduler_config.json" if name == "scheduler" else "config.json"}
    assert not list(folder.rglob("*.safetensors"))


@pytest.mark.slow
@pytest.mark.parametrize("family", FAMILIES)
def test_components_built_from_configs_have_the_official_sizes(family):
    import torch
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    folder = bundled(family)
    with torch.device("meta"):
        unet = UNet2DConditionModel.from_config(UNet2DConditionModel.load_config(folder / "unet"))
        vae = AutoencoderKL.from_config(AutoencoderKL.load_config(folder / "vae"))
        text = CLIPTextModel(CLIPTextConfig.from_pretrained(folder / "text_encoder"))
        assert millions(unet) == UNET_M[family]
        assert millions(vae) == VAE_M
        if family in XL:
            assert millions(text) == CLIP_L_M
            text_2 = CLIPTextModelWithProjection(CLIPTextConfig.from_pretrained(folder / "text_encoder_2"))
            assert millions(text_2) == OPENCLIP_BIGG_M
            assert unet.config.cross_attention_dim == text.config.hidden_size + text_2.config.hidden_size
        else:
            assert millions(text) == (CLIP_L_M if family == "sd1" else OPENCLIP_H_M)
            assert unet.config.cross_attention_dim == text.config.hidden_size


@pytest.mark.parametrize("family,sub", tokenizer_dirs())
def test_tokenizers_encode_like_clip(family, sub):
    from transformers import CLIPTokenizer

    tok = CLIPTokenizer.from_pretrained(bundled(family) / sub)
    assert tok("a photo of a cat").input_ids == A_PHOTO_OF_A_CAT
    assert len(tok) == 49408 and tok.model_max_length == 77
    # OpenAI CLIP pads with <|endoftext|>; the OpenCLIP encoders (SD 2.x, SDXL's second) with "!".
    openclip = family not in ("sd1",) and not (family in XL and sub == "tokenizer")
    assert tok.pad_token == ("!" if openclip else "<|endoftext|>")
    assert tok.pad_token_id == (0 if openclip else 49407)


def test_scheduler_defaults_follow_the_official_models():
    def cfg(family):
        return json.loads((bundled(family) / "scheduler" / "scheduler_config.json").read_text(encoding="utf-8"))

    assert cfg("sd2")["prediction_type"] == "v_prediction"
    for family in ("sd1", "sd2-base", "sd-turbo", "sdxl", "sdxl-turbo"):
        assert cfg(family)["prediction_type"] == "epsilon"
    for family in ("sd-turbo", "sdxl-turbo"):
        assert cfg(family)["timestep_spacing"] == "trailing"


def write_header_checkpoint(path, family: str, *, unet_width: int = 320, cross: int | None = None):
    """A small original-layout checkpoint with just the tensors that identify it."""
    import torch
    from safetensors.torch import save_file

    cross = cross or {"sd1": 768, "sd2": 1024, "sdxl": 2048}[family]
    unet = "model.diffusion_model."
    tensors = {f"{unet}input_blocks.0.0.weight": torch.zeros(unet_width, 4, 3, 3, dtype=torch.float16),
               f"{unet}input_blocks.4.1.transformer_blocks.0.attn2.to_k.weight":
                   torch.zeros(640, cross, dtype=torch.float16)}
    if family == "sd2":
        tensors["cond_stage_model.model.ln_final.weight"] = torch.zeros(1024)
    if family == "sdxl":
        tensors["conditioner.embedders.1.model.ln_final.weight"] = torch.zeros(1280)
    save_file(tensors, str(path))
    return path


@pytest.mark.parametrize("file_name,family,folder", [
    ("v1-5-pruned-emaonly.safetensors", "sd1", "sd1"),
    ("v2-1_768-ema-pruned.safetensors", "sd2", "sd2"),
    ("v2-1_512-ema-pruned.safetensors", "sd2", "sd2-base"),
    ("sd_turbo.safetensors", "sd2", "sd-turbo"),
    ("sd_xl_base_1.0.safetensors", "sdxl", "sdxl"),
    ("sd_xl_turbo_1.0_fp16.safetensors", "sdxl", "sdxl-turbo"),
])
def test_checkpoints_of_every_family_find_the_bundled_configs(tmp_path, file_name, family, folder):
    info = inspect_model(write_header_checkpoint(tmp_path / file_name, family))
    assert single_file_config_dir(info) == paths.resource_path("diffusers-configs", folder)


def test_user_configs_take_precedence_over_bundled(tmp_path):
    info = inspect_model(write_header_checkpoint(tmp_path / "v1-5-pruned-emaonly.safetensors", "sd1"))
    mine = paths.models_dir() / "configs" / "sd1"
    shutil.copytree(bundled("sd1"), mine)
    assert single_file_config_dir(info) == mine


def test_checkpoint_not_matching_bundled_configs_says_why(tmp_path):
    odd = inspect_model(write_header_checkpoint(tmp_path / "odd.safetensors", "sd1", cross=1024))
    with pytest.raises(ModelFileError, match="needs its diffusers configs.*1024-wide text embeddings") as exc:
        single_file_config_dir(odd)
    assert str(paths.models_dir() / "configs" / "sd1") in exc.value.hint


@pytest.mark.slow
def test_tiny_single_file_checkpoint_still_loads_from_user_configs(tmp_path):
    import torch

    from desktop.core.tiny_models.diffusion import build_tiny_ldm_sd_pipeline

    folder, checkpoint = build_tiny_ldm_sd_pipeline(tmp_path / "tiny-ldm", tmp_path / "tiny-v1.safetensors")
    info = inspect_model(checkpoint)
    # The bundled SD 1.x configs describe a 320-wide UNet: they are not used for this tiny one.
    with pytest.raises(ModelFileError, match="needs its diffusers configs.*8 channels wide"):
        load_pipeline(info, torch.float32)
    shutil.copytree(folder, paths.models_dir() / "configs" / "sd1", ignore=shutil.ignore_patterns("*.safetensors"))
    pipe = load_pipeline(info, torch.float32)
    assert list(pipe.unet.config.block_out_channels) == [8, 8, 8, 8]
    assert pipe.tokenizer("a cat").input_ids[0] == pipe.tokenizer.bos_token_id


def test_checkpoint_without_a_unet_input_is_not_given_bundled_configs(tmp_path):
    import torch
    from safetensors.torch import save_file

    path = tmp_path / "v1.safetensors"
    save_file({"model.diffusion_model.out.2.weight": torch.zeros(4, 320, 3, 3)}, str(path))
    with pytest.raises(ModelFileError, match="do not fit: it has no UNet input convolution"):
        single_file_config_dir(inspect_model(path))
