"""Hires fix: make the image small, enlarge it, and denoise it again at the bigger size.

As in A1111: the first pass makes the image at the chosen size (where the
model composes well), :func:`upscale` enlarges it by ``hires_scale`` (its
latents, or its decoded pixels with bicubic or Lanczos resampling), and a
second image-to-image pass at ``hires_strength`` adds detail at the new size.
Both passes use the one loaded pipeline's components (the img2img pipeline is
built from them, sharing their weights): nothing is loaded again.

Latent upscaling needs the SD latent layout (4 channels; SD 1.x, 2.x, SDXL);
SD 3.x and FLUX upscale pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from desktop.core.errors import InvalidParameter

LATENT, BICUBIC, LANCZOS = "latent", "bicubic", "lanczos"
HIRES_METHODS = (LATENT, BICUBIC, LANCZOS)
MIN_SCALE, MAX_SCALE = 1.0, 4.0  # the scale must be above 1 and at most 4


@dataclass(frozen=True)
class HiresPlan:
    """The two passes' sizes (first pass = the request's width and height)."""

    first: tuple[int, int]
    final: tuple[int, int]
    scale: float
    strength: float
    method: str

    def to_dict(self) -> dict[str, Any]:
        return {"scale": self.scale, "strength": self.strength, "method": self.method,
                "first_size": list(self.first), "size": list(self.final)}


def parse_hires(text: str) -> tuple[float, float]:
    """``"SCALE:STRENGTH"`` (``"2:0.5"``) -> (scale, strength); InvalidParameter naming what is wrong."""
    scale_text, sep, strength_text = str(text).partition(":")
    try:
        scale = float(scale_text)
        strength = float(strength_text) if sep else 0.5
    except ValueError:
        raise InvalidParameter(f"Hires takes SCALE:STRENGTH, two numbers (got {text!r}).",
                               "For example 2:0.5 doubles the size and denoises at strength 0.5.") from None
    return scale, strength


def check_hires(scale: Any, strength: Any, method: str, *, width: int, height: int, multiple: int,
                max_side: int, latent_ok: bool) -> HiresPlan:
    """Refuse a scale outside (1, 4], a strength outside (0, 1], an unknown method or a too big result."""
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not math.isfinite(scale) \
            or not MIN_SCALE < scale <= MAX_SCALE:
        raise InvalidParameter(f"Hires scale must be above {MIN_SCALE:g} and at most {MAX_SCALE:g} (got {scale!r}).",
                               "2 doubles the width and height; 1.5 is a gentler step.")
    if isinstance(strength, bool) or not isinstance(strength, (int, float)) or not math.isfinite(strength) \
            or not 0 < strength <= 1:
        raise InvalidParameter(f"Hires strength must be above 0 and at most 1 (got {strength!r}).",
                               "0.3-0.6 adds detail and keeps the picture; 1 redraws it.")
    if method not in HIRES_METHODS:
        raise InvalidParameter(f"Hires upscaler must be one of {', '.join(HIRES_METHODS)} (got {method!r}).")
    if method == LATENT and not latent_ok:
        raise InvalidParameter("Latent upscaling works with Stable Diffusion 1.x, 2.x and SDXL latents only.",
                               f"Choose {BICUBIC} or {LANCZOS} for this model.")
    final = tuple(max(multiple, int(round(side * scale / multiple)) * multiple) for side in (width, height))
    if max(final) > max_side:
        raise InvalidParameter(f"Hires scale {scale:g} makes {final[0]}x{final[1]}; "
                               f"this model takes at most {max_side} px a side.",
                               f"Use a scale up to {max_side / max(width, height):.2f} or a smaller first size.")
    return HiresPlan((width, height), (final[0], final[1]), float(scale), float(strength), method)


def upscale_latents(latents: Any, size: tuple[int, int], vae_scale_factor: int = 8) -> Any:
    """Bicubic resize of SD latents (B, 4, h, w) to the latent size of ``size`` (pixels, w x h)."""
    import torch.nn.functional as F

    width, height = size
    return F.interpolate(latents, size=(height // vae_scale_factor, width // vae_scale_factor),
                         mode="bicubic", align_corners=False)


def upscale_image(image: Any, size: tuple[int, int], method: str) -> Any:
    """A PIL image resized to ``size`` with bicubic or Lanczos resampling."""
    from PIL import Image

    resample = Image.Resampling.LANCZOS if method == LANCZOS else Image.Resampling.BICUBIC
    return image.resize(size, resample)
