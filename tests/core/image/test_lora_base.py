"""A LoRA's base family from its header alone: metadata, key names, cross-attention width; prompt tags."""

from __future__ import annotations

import pytest

from desktop.core.errors import InvalidParameter, ModelFileError
from desktop.core.image.lora import LoraTag, a1111_prompt, check_family, lora_base, resolve, split_prompt_loras
from desktop.core.image.params import SD1, SD2, SD_TURBO, SDXL


def write(path, tensors: dict[str, tuple[int, ...]], metadata: dict[str, str] | None = None):
    import torch
    from safetensors.torch import save_file

    save_file({k: torch.zeros(shape) for k, shape in tensors.items()}, str(path), metadata=metadata)
    return path


# The shapes real LoRAs have: rank 4 down-projections of a cross-attention key (diffusers/PEFT naming)
# and of the same module in kohya naming.
def cross_attention_lora(width: int, kohya: bool = False) -> dict[str, tuple[int, ...]]:
    if kohya:
        name = "lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn2_to_k"
        return {f"{name}.lora_down.weight": (4, width), f"{name}.lora_up.weight": (640, 4), f"{name}.alpha": ()}
    name = "unet.down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k"
    return {f"{name}.lora_A.weight": (4, width), f"{name}.lora_B.weight": (640, 4)}


@pytest.mark.parametrize(("width", "family"), [(768, SD1), (1024, SD2), (2048, SDXL)])
@pytest.mark.parametrize("kohya", [False, True])
def test_the_cross_attention_width_names_the_family(tmp_path, width, family, kohya):
    path = write(tmp_path / "l.safetensors", cross_attention_lora(width, kohya))
    base = lora_base(path)
    assert (base.family, base.cross_attention_dim) == (family, width)


def test_metadata_and_sdxl_key_names_name_the_family(tmp_path):
    meta = write(tmp_path / "m.safetensors", cross_attention_lora(32), {"ss_base_model_version": "sd_v2"})
    assert lora_base(meta).family == SD2
    spec = write(tmp_path / "s.safetensors", cross_attention_lora(32),
                 {"modelspec.architecture": "stable-diffusion-xl-v1-base/lora"})
    assert lora_base(spec).family == SDXL
    te2 = write(tmp_path / "t.safetensors", {"lora_te2_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight":
                                             (4, 1280)})
    assert lora_base(te2).family == SDXL
    sgm = write(tmp_path / "u.safetensors", {"lora_unet_input_blocks_4_1_proj_in.lora_down.weight": (4, 640)})
    assert lora_base(sgm).family == SDXL
    unknown = write(tmp_path / "x.safetensors", cross_attention_lora(32))
    assert lora_base(unknown).family == ""


def test_a_file_without_lora_tensors_is_refused(tmp_path):
    path = write(tmp_path / "w.safetensors", {"conv_in.weight": (8, 4, 3, 3)})
    with pytest.raises(ModelFileError, match="w.safetensors is not a LoRA"):
        lora_base(path)


def test_a_wrong_family_names_both_and_turbo_counts_as_its_base(tmp_path):
    sd2 = resolve("anime", write(tmp_path / "anime.safetensors", cross_attention_lora(1024)), 1.0)
    check_family(sd2, SD_TURBO, "sd-turbo")  # SD-Turbo is SD 2.1 distilled: its LoRAs fit
    with pytest.raises(InvalidParameter) as err:
        check_family(sd2, SDXL, "my-xl")
    message = str(err.value)
    assert "anime is for Stable Diffusion 2.x" in message and "my-xl is Stable Diffusion XL" in message


def test_prompt_tags_are_parsed_and_removed_as_a1111_does():
    text, tags = split_prompt_loras("a cat <lora:fluffy:0.8>, <lora:ink> on a mat <lora:x:0.5:0.2>")
    assert text == "a cat ,  on a mat "
    assert tags == [LoraTag("fluffy", 0.8), LoraTag("ink", 1.0), LoraTag("x", 0.5)]
    with pytest.raises(InvalidParameter, match="<lora:fluffy:much> is not a number"):
        split_prompt_loras("<lora:fluffy:much>")


def test_the_a1111_prompt_adds_a_tag_only_for_untagged_loras(tmp_path):
    path = write(tmp_path / "ink.safetensors", cross_attention_lora(768))
    lora = resolve(str(path), path, 0.5)
    assert a1111_prompt("a cat", [lora]) == "a cat <lora:ink:0.5>"
    assert a1111_prompt("a cat <lora:ink:0.5>", [resolve("ink", path, 0.5)]) == "a cat <lora:ink:0.5>"


def test_transformer_loras_name_flux_or_sd3_and_are_refused_on_a_unet_model(tmp_path):
    from desktop.core.image.params import FLUX, FLUX_SCHNELL, SD3

    kohya_flux = write(tmp_path / "f.safetensors", {"lora_unet_double_blocks_0_img_attn_qkv.lora_down.weight": (16, 3072),
                                                     "lora_unet_double_blocks_0_img_attn_qkv.lora_up.weight": (9216, 16)})
    assert lora_base(kohya_flux).family == FLUX
    peft_flux = write(tmp_path / "p.safetensors",
                      {"transformer.single_transformer_blocks.0.attn.to_q.lora_A.weight": (4, 3072)})
    assert lora_base(peft_flux).family == FLUX
    sd35 = write(tmp_path / "s.safetensors", {"transformer.transformer_blocks.0.attn.to_q.lora_A.weight": (16, 2432)})
    assert lora_base(sd35).family == SD3
    flux = resolve("flux-style", kohya_flux, 1.0)
    check_family(flux, FLUX_SCHNELL, "schnell")  # dev LoRAs are used on schnell
    with pytest.raises(InvalidParameter, match=r"flux-style is for FLUX.1 \(dev\).*my-xl is Stable Diffusion XL"):
        check_family(flux, SDXL, "my-xl")
