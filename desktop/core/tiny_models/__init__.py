"""Tiny models written at run time, for tests, benchmarks and ``--self-test``.

They need no download: a random-weight llama GGUF (``gguf`` package) and a
small StableDiffusionPipeline built from configs.
"""

from __future__ import annotations

from pathlib import Path


def write_tiny_gguf(path: Path, **kwargs) -> Path:
    from desktop.core.tiny_models.gguf_writer import write_tiny_gguf as _write

    return _write(Path(path), **kwargs)


def build_tiny_sd_pipeline(dest: Path, **kwargs) -> Path:
    from desktop.core.tiny_models.diffusion import build_tiny_sd_pipeline as _build

    return _build(Path(dest), **kwargs)
