"""Textual-inversion embeddings in the model library: their own kind, told from LoRAs and checkpoints
by their tensors, found by a scan of <models dir>/embeddings, their base family read from the width."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from desktop.core import paths
from desktop.core.image.embeddings import embedding_base, read_layout
from desktop.core.image.params import SD1, SD2, SDXL
from desktop.core.models.headers import read_safetensors_header
from desktop.core.models.library import TEXTUAL_INVERSION, Library
from desktop.core.models.scan import embedding_layout, is_embedding_file, is_lora_file
from tests.core.models.test_library_loras import write_checkpoint, write_peft_lora


def write(path: Path, tensors: dict[str, tuple[int, ...]]) -> Path:
    from safetensors.numpy import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: np.zeros(shape, dtype=np.float32) for k, shape in tensors.items()}, str(path))
    return path


@pytest.mark.parametrize(("tensors", "family", "token"), [
    ({"emb_params": (2, 768)}, SD1, "file"),  # A1111
    ({"string_to_param.*": (4, 1024)}, SD2, "file"),  # A1111's .pt layout, saved as safetensors
    ({"clip_l": (3, 768), "clip_g": (3, 1280)}, SDXL, "file"),  # SDXL
    ({"<cat-toy>": (768,)}, SD1, "<cat-toy>"),  # diffusers, one vector
    ({"<cat-toy>": (2, 1024)}, SD2, "<cat-toy>"),
    ({"emb_params": (2, 32)}, "", "file"),  # a width of no published family
])
def test_each_layout_gives_its_family_and_token(tmp_path, tensors, family, token):
    path = write(tmp_path / "file.safetensors", tensors)
    assert is_embedding_file(path) and not is_lora_file(path)
    layout = read_layout(path)
    assert embedding_base(layout).family == family
    assert (layout.stored_token or path.stem) == token


def test_loras_checkpoints_and_odd_tensors_are_not_embeddings(tmp_path):
    assert not is_embedding_file(write_peft_lora(tmp_path / "lora.safetensors"))
    assert not is_embedding_file(write_checkpoint(tmp_path / "model.safetensors"))
    assert not is_embedding_file(write(tmp_path / "big.safetensors", {"emb_params": (500, 768)}))
    assert not is_embedding_file(write(tmp_path / "bias.safetensors", {"conv.bias": (768,)}))
    assert not is_embedding_file(write(tmp_path / "cube.safetensors", {"token": (2, 2, 768)}))
    (tmp_path / "broken.safetensors").write_bytes(b"nope")
    assert not is_embedding_file(tmp_path / "broken.safetensors")
    assert embedding_layout(read_safetensors_header(write_peft_lora(tmp_path / "l2.safetensors"))) is None


def test_imported_and_scanned_embeddings_are_their_own_kind(tmp_path):
    library = Library()
    emb = library.import_path(write(tmp_path / "EasyNegative.safetensors", {"emb_params": (8, 768)}), "link")
    lora = library.import_path(write_peft_lora(tmp_path / "style.safetensors"), "link")
    assert (emb.kind, lora.kind) == (TEXTUAL_INVERSION, "lora")
    own = write(paths.models_dir() / "embeddings" / "xl.safetensors", {"clip_l": (1, 768), "clip_g": (1, 1280)})
    write_checkpoint(paths.models_dir() / "embeddings" / "not-one.safetensors")
    result = library.scan([], hf_cache=False)
    assert [m.path for m in result.added] == [str(own.absolute())]
    assert [m.name for m in library.models(kind=TEXTUAL_INVERSION)] == ["EasyNegative.safetensors", "xl.safetensors"]
    assert [m.name for m in library.models(kind="image")] == []
