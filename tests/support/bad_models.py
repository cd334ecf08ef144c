"""Things offered for import that are not models, each with the exact message GenLab gives."""

from __future__ import annotations

from pathlib import Path

from tests.support.hub_server import gguf_file_bytes


def bad_magic_gguf(folder: Path) -> Path:
    path = folder / "bad-Q4_0.gguf"
    path.write_bytes(b"GGUX" + b"\0" * 100)
    return path


def truncated_gguf(folder: Path) -> Path:
    path = folder / "cut-Q4_0.gguf"
    path.write_bytes(gguf_file_bytes(64 * 1024)[:200])
    return path


def folder_without_index(folder: Path) -> Path:
    target = folder / "not-a-pipeline"
    (target / "unet").mkdir(parents=True)
    (target / "unet" / "config.json").write_text("{}")
    return target


def text_file(folder: Path) -> Path:
    path = folder / "notes.txt"
    path.write_text("not a model")
    return path


BAD_IMPORTS = [
    (bad_magic_gguf, "bad-Q4_0.gguf is not a GGUF model (it does not start with the GGUF signature; a file "
                     "renamed to .gguf, or another format such as safetensors). Choose a .gguf file, e.g. one "
                     "converted with llama.cpp."),
    (truncated_gguf, "cut-Q4_0.gguf is truncated or its metadata is damaged: the file ends inside the header at "
                     "byte 197. Download the model again or choose another .gguf file."),
    (folder_without_index, "The folder not-a-pipeline has no model_index.json, so it is not a diffusers model. "
                           "Choose the pipeline's top folder (the one holding model_index.json)."),
    (text_file, "notes.txt is not a model file GenLab can use. Import a .gguf file, a .safetensors file or a "
                "diffusers folder (with model_index.json)."),
]
BAD_IMPORT_IDS = ["bad-magic", "truncated", "no-model-index", "text-file"]
