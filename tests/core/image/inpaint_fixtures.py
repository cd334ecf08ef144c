"""Shared inputs of the inpainting, outpainting and hires tests: an init image, masks, the bare pipeline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from desktop.core.image.params import ImageParams

SIDE = 64


def write_init(path: Path, side: int = SIDE) -> Path:
    """A busy picture (seeded noise over a gradient), so any change to a pixel shows."""
    rng = np.random.default_rng(0)
    grad = np.linspace(0, 200, side, dtype=np.float32)[None, :, None].repeat(side, 0).repeat(3, 2)
    pixels = np.clip(grad + rng.normal(0, 30, (side, side, 3)), 0, 255).astype(np.uint8)
    Image.fromarray(pixels, "RGB").save(path)
    return path


def write_square_mask(path: Path, size: tuple[int, int] = (SIDE, SIDE), box=(16, 16, 40, 40)) -> Path:
    mask = np.zeros((size[1], size[0]), np.uint8)
    left, top, right, bottom = box
    mask[top:bottom, left:right] = 255
    Image.fromarray(mask, "L").save(path)
    return path


def inpaint_params(init: Path, **kw) -> ImageParams:
    base = dict(prompt="a red door", negative_prompt="", steps=4, guidance=7.0, width=SIDE, height=SIDE,
                seed=11, scheduler="Euler", init_image=str(init), strength=0.8)
    base.update(kw)
    return ImageParams(**base)


def pixels(image) -> np.ndarray:
    return np.asarray(image.convert("RGB")).astype(int)


class LoadCounter:
    """Counts the engine's model loads (the real loader runs every time)."""

    def __init__(self, engine) -> None:
        self.count = 0
        real = engine._load

        def counting(*args, **kwargs):
            self.count += 1
            return real(*args, **kwargs)

        engine._load = counting
