"""Tiny random textual-inversion embeddings for the tiny pipelines, in A1111's, diffusers' and SDXL's layouts.

:func:`build_tiny_embedding` writes ``vectors`` random vectors as wide as
the tiny pipeline's text encoder (read from its ``text_encoder/config.json``,
nothing loaded), or as wide as ``width`` says (768 for an SD 1.x-shaped one,
1024 for SD 2.x), so tests can make an embedding of any family.  Layouts:
``"a1111"`` (``emb_params`` [n, width], the token is the file name),
``"diffusers"`` (one tensor named by ``token``) and ``"sdxl"`` (``clip_l``
and ``clip_g``, each as wide as that encoder).
"""

from __future__ import annotations

import json
from pathlib import Path


def _hidden_size(pipeline: Path, encoder: str) -> int:
    config = json.loads((Path(pipeline) / encoder / "config.json").read_text(encoding="utf-8"))
    return int(config["hidden_size"])


def build_tiny_embedding(pipeline: Path, dest: Path, *, layout: str = "a1111", vectors: int = 2,
                         seed: int = 0, token: str = "", width: int | None = None, scale: float = 0.5) -> Path:
    """A random embedding for the text encoder(s) of the diffusers folder ``pipeline``, saved to ``dest``."""
    import torch
    from safetensors.torch import save_file

    generator = torch.Generator().manual_seed(seed)

    def random(side: int) -> torch.Tensor:
        return (torch.randn(vectors, side, generator=generator) * scale).contiguous()

    if layout == "sdxl":
        widths = ((width, width) if width else
                  (_hidden_size(pipeline, "text_encoder"), _hidden_size(pipeline, "text_encoder_2")))
        tensors = {"clip_l": random(widths[0]), "clip_g": random(widths[1])}
    else:
        side = width or _hidden_size(pipeline, "text_encoder")
        if layout == "a1111":
            tensors = {"emb_params": random(side)}
        elif layout == "diffusers":
            tensors = {token or f"<{Path(dest).stem}>": random(side)}
        else:
            raise ValueError(f"unknown embedding layout {layout!r}")
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(dest))
    return dest
