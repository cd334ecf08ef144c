"""Outpainting: a bigger canvas around the init image, and the mask of its new area.

:func:`outpaint_canvas` extends the image by left, top, right and bottom
pixels (each rounded to the family's size step, so the canvas stays a size
the model takes), fills the new area by stretching the edge pixels outward
with seeded noise on top (a plain edge colour gives the model nothing to
work with; noise seeded from the image's seed keeps a re-run exact), and
makes the mask: white over the new area and ``overlap`` pixels into the old
image, so the seam is repainted too and the feather blends it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from desktop.core.errors import InvalidParameter

NOISE_STRENGTH = 48.0  # standard deviation of the fill noise, of 255
SIDES = ("left", "top", "right", "bottom")


@dataclass
class OutpaintCanvas:
    image: Any  # PIL RGB: the init image on the bigger canvas, new area filled
    mask: Any  # PIL L: white over the new area (and the overlap)
    pads: tuple[int, int, int, int]  # left, top, right, bottom after rounding
    notes: list[str] = field(default_factory=list)

    @property
    def size(self) -> tuple[int, int]:
        return self.image.size


def round_pad(value: int, multiple: int) -> int:
    """Half up to a multiple (0 stays 0, 1..multiple/2-1 becomes 0)."""
    return (value + multiple // 2) // multiple * multiple


def parse_pads(text: str) -> tuple[int, int, int, int]:
    """``"L,T,R,B"`` (whole pixels) -> a tuple; InvalidParameter naming what is wrong."""
    parts = [p.strip() for p in str(text).split(",")]
    if len(parts) != 4:
        raise InvalidParameter(f"Outpaint takes four numbers, left,top,right,bottom (got {text!r}).",
                               "For example 0,0,256,0 extends the image 256 px to the right.")
    try:
        values = tuple(int(p) for p in parts)
    except ValueError:
        raise InvalidParameter(f"Outpaint takes whole pixel numbers (got {text!r}).",
                               "For example 64,0,64,0 adds 64 px left and right.") from None
    return values  # type: ignore[return-value]


def check_pads(pads: Any, width: int, height: int, multiple: int, max_side: int) -> tuple[int, int, int, int]:
    """The pads rounded to ``multiple``; refuses negative ones, none at all, or a canvas over ``max_side``."""
    if not isinstance(pads, (list, tuple)) or len(pads) != 4 or any(
            isinstance(v, bool) or not isinstance(v, int) for v in pads):
        raise InvalidParameter(f"Outpaint takes four whole numbers, left,top,right,bottom (got {pads!r}).")
    negative = [f"{side} {v}" for side, v in zip(SIDES, pads) if v < 0]
    if negative:
        raise InvalidParameter(f"Outpaint cannot shrink the image: {', '.join(negative)} is negative.",
                               "Give the pixels to add on each side, 0 or more (crop the image elsewhere).")
    rounded = tuple(round_pad(v, multiple) for v in pads)
    if not any(rounded):
        raise InvalidParameter(f"Outpaint {','.join(map(str, pads))} adds nothing "
                               f"(sides go in steps of {multiple} px).",
                               f"Add at least {multiple} px on one side.")
    new_w, new_h = width + rounded[0] + rounded[2], height + rounded[1] + rounded[3]
    if new_w > max_side or new_h > max_side:
        raise InvalidParameter(f"Outpaint {','.join(map(str, pads))} makes a {new_w}x{new_h} canvas; "
                               f"this model takes at most {max_side} px a side.",
                               f"Add at most {max_side - width} px across and {max_side - height} px down.")
    return rounded  # type: ignore[return-value]


def outpaint_canvas(image: Any, pads: tuple[int, int, int, int], *, seed: int, overlap: int = 8) -> OutpaintCanvas:
    """``image`` extended by ``pads`` (already rounded), its new area filled, and the mask of it."""
    import numpy as np
    from PIL import Image

    left, top, right, bottom = pads
    pixels = np.asarray(image.convert("RGB"), dtype=np.float32)
    h, w = pixels.shape[:2]
    grown = np.pad(pixels, ((top, bottom), (left, right), (0, 0)), mode="edge")
    new_area = np.ones(grown.shape[:2], dtype=bool)
    new_area[top:top + h, left:left + w] = False
    rng = np.random.default_rng(seed)
    noise = rng.normal(0.0, NOISE_STRENGTH, size=grown.shape).astype(np.float32)
    grown[new_area] += noise[new_area]
    canvas = Image.fromarray(np.clip(grown, 0, 255).round().astype(np.uint8), "RGB")
    mask = np.zeros(grown.shape[:2], dtype=np.uint8)
    # The repainted band reaches `overlap` px into the old image on each extended side only.
    o_l, o_t = (min(overlap, w) if left else 0), (min(overlap, h) if top else 0)
    o_r, o_b = (min(overlap, w) if right else 0), (min(overlap, h) if bottom else 0)
    mask[new_area] = 255
    mask[top:top + h, left:left + o_l] = 255
    mask[top:top + h, left + w - o_r:left + w] = 255
    mask[top:top + o_t, left:left + w] = 255
    mask[top + h - o_b:top + h, left:left + w] = 255
    return OutpaintCanvas(canvas, Image.fromarray(mask, "L"), pads)
