"""LoRA files in the model library: their own kind, found by a scan, never listed as image models."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from desktop.core import paths
from desktop.core.models.library import Library
from desktop.core.models.scan import candidates_in_folders, is_lora_file

MODULE = "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k"


def write_peft_lora(path: Path, width: int = 768) -> Path:
    """A diffusers/PEFT-format LoRA: its keys start like a UNet's (``unet.down_blocks.``)."""
    from safetensors.numpy import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({f"unet.{MODULE}.lora_A.weight": np.zeros((4, width), dtype=np.float16),
               f"unet.{MODULE}.lora_B.weight": np.zeros((320, 4), dtype=np.float16)}, str(path))
    return path


def write_kohya_lora(path: Path) -> Path:
    from safetensors.numpy import save_file

    name = "lora_unet_" + MODULE.replace(".", "_")
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({f"{name}.lora_down.weight": np.zeros((4, 768), dtype=np.float16),
               f"{name}.lora_up.weight": np.zeros((320, 4), dtype=np.float16),
               f"{name}.alpha": np.array(4.0, dtype=np.float16)}, str(path),
              metadata={"ss_base_model_version": "sd_v1"})
    return path


def write_checkpoint(path: Path) -> Path:
    from safetensors.numpy import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({"model.diffusion_model.input_blocks.0.0.weight": np.zeros((4, 4), dtype=np.float16)}, str(path))
    return path


def test_a_lora_file_is_told_from_a_checkpoint_by_its_tensors(tmp_path):
    assert is_lora_file(write_peft_lora(tmp_path / "peft.safetensors"))
    assert is_lora_file(write_kohya_lora(tmp_path / "kohya.safetensors"))
    assert not is_lora_file(write_checkpoint(tmp_path / "model.safetensors"))
    (tmp_path / "broken.safetensors").write_bytes(b"nope")
    assert not is_lora_file(tmp_path / "broken.safetensors")


def test_imported_loras_are_their_own_kind_and_not_image_models(tmp_path):
    library = Library()
    peft = library.import_path(write_peft_lora(tmp_path / "style.safetensors"), "link")
    kohya = library.import_path(write_kohya_lora(tmp_path / "ink.safetensors"), "copy")
    checkpoint = library.import_path(write_checkpoint(tmp_path / "model.safetensors"), "link")
    assert (peft.kind, kohya.kind, checkpoint.kind) == ("lora", "lora", "image")
    assert [m.name for m in library.models(kind="lora")] == ["ink.safetensors", "style.safetensors"]
    assert [m.name for m in library.models(kind="image")] == ["model.safetensors"]


def test_a_scan_finds_loras_in_user_folders_and_in_the_models_lora_folder(tmp_path):
    user = write_peft_lora(tmp_path / "comfy" / "loras" / "a.safetensors")
    write_checkpoint(tmp_path / "comfy" / "checkpoints" / "big.safetensors")  # checkpoints are imported, not scanned
    own = write_kohya_lora(paths.models_dir() / "loras" / "b.safetensors")
    assert candidates_in_folders([tmp_path / "comfy"]) == [user]
    library = Library()
    result = library.scan([tmp_path / "comfy"], hf_cache=False)
    assert sorted(m.path for m in result.added) == sorted(str(p.absolute()) for p in (user, own))
    assert {m.kind for m in library.models()} == {"lora"}
    assert library.scan([tmp_path / "comfy", paths.models_dir() / "loras"], hf_cache=False).added == []
