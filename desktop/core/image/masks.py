"""Inpainting masks: read, check, feather, store beside the image, paste the original back.

A mask is a greyscale image the size of the init image: white (>= 128) means
"repaint", black means "keep".  The pipeline binarizes it at that threshold
(diffusers' mask processor), so a mask with no pixel at 128 or above repaints
nothing and is refused.

Feathering blurs the mask's edge (a Gaussian of the chosen radius).  After
decoding, :func:`paste_back` blends the generated image into the original
through the feathered mask, as A1111 does: where the feathered mask is 0 (outside
the mask, beyond its feather) the pixels are the original ones, exactly, so an
inpaint never degrades the rest of the picture (the VAE's round trip would).

The mask a record used is stored beside its image (``masks/<image stem>.png``,
next to ``thumbs/``) and referenced by path and sha256, so a re-run uses the
very same pixels.
"""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desktop.core.errors import InvalidParameter

REPAINT_THRESHOLD = 128  # diffusers binarizes the mask at 0.5
MAX_FEATHER = 64  # px; past this the blend reaches far into the kept picture


@dataclass
class Mask:
    """A mask at the working size (mode "L"), with what was done to make it fit."""

    image: Any  # PIL image, mode "L"
    notes: list[str] = field(default_factory=list)  # e.g. "resized from 100x80 to 64x64"


def mask_from_image(image: Any, size: tuple[int, int], *, name: str = "The mask") -> Mask:
    """``image`` (any PIL mode) as a mask of ``size``; resized with a note when it differs.

    Raises InvalidParameter when nothing in it is white enough to repaint.
    """
    from PIL import Image

    grey = image.convert("L") if image.mode != "L" else image.copy()
    notes = []
    if grey.size != tuple(size):
        notes.append(f"{name} is {grey.size[0]}x{grey.size[1]} and the image {size[0]}x{size[1]}: "
                     f"the mask was resized to fit.")
        grey = grey.resize(tuple(size), Image.Resampling.LANCZOS)
    lo, hi = grey.getextrema()
    if hi < REPAINT_THRESHOLD:
        raise InvalidParameter(f"{name} is all black: it marks nothing to repaint.",
                               "Paint the parts to repaint in white (white = repaint, black = keep).")
    return Mask(grey, notes)


def read_mask(path: str | Path, size: tuple[int, int]) -> Mask:
    """The mask file at ``path`` fitted to ``size`` (see :func:`mask_from_image`)."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise InvalidParameter(f"Mask {path} does not exist.", "Pick an existing PNG mask (white = repaint).")
    try:
        with Image.open(path) as img:
            img.load()
            image = img.copy()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InvalidParameter(f"The mask {path.name} is not an image GenLab can read.",
                               "Use a PNG (white = repaint, black = keep) the size of the init image.") from exc
    return mask_from_image(image, size, name=f"The mask {path.name}")


def feather(mask: Any, radius: int) -> Any:
    """The mask with its edge blurred by ``radius`` px (0: unchanged)."""
    from PIL import ImageFilter

    return mask.copy() if radius <= 0 else mask.filter(ImageFilter.GaussianBlur(radius))


def paste_back(original: Any, generated: Any, feathered: Any) -> Any:
    """``generated`` where the feathered mask is white, ``original`` where it is black, blended between."""
    from PIL import Image

    if generated.size != original.size:
        generated = generated.resize(original.size, Image.Resampling.LANCZOS)
    return Image.composite(generated.convert("RGB"), original.convert("RGB"), feathered)


def png_bytes(mask: Any) -> bytes:
    buf = io.BytesIO()
    mask.save(buf, format="PNG")
    return buf.getvalue()


def mask_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def write_mask(mask: Any, path: str | Path) -> str:
    """Write ``mask`` as a greyscale PNG atomically; returns the file's sha256."""
    path = Path(path)
    data = png_bytes(mask.convert("L"))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
    return hashlib.sha256(data).hexdigest()


def check_mask_unchanged(path: str | Path, expected_sha256: str) -> None:
    """Refuse a mask whose bytes are not the recorded ones (a re-run would not be exact)."""
    if expected_sha256 and Path(path).is_file() and mask_sha256(path) != expected_sha256:
        raise InvalidParameter(f"The mask {Path(path).name} has changed since the image was made "
                               f"(sha256 {expected_sha256[:12]}… expected).",
                               "Re-run with the original mask, or choose the mask again to make a new image.")
