"""Size presets for the Images panel: common aspect ratios at the model family's native size.

Each family is trained at one resolution (SD 1.x 512, SD 2.x 768, SDXL 1024,
the Turbo models 512); other aspect ratios keep about the same number of
pixels, rounded to multiples of 64 as the models' training buckets are, so
a 16:9 SDXL image is 1344×768 and a 4:3 SD 1.x image 576×448.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from desktop.core.image.params import MIN_SIDE, defaults_for

ASPECTS: tuple[tuple[int, int], ...] = ((1, 1), (4, 3), (3, 2), (16, 9), (3, 4), (2, 3), (9, 16))
BUCKET = 64


@dataclass(frozen=True)
class SizePreset:
    aspect: str  # "16:9"
    width: int
    height: int

    @property
    def label(self) -> str:
        return f"{self.aspect} · {self.width}×{self.height}"


def _round(value: float) -> int:
    return max(MIN_SIDE, int(round(value / BUCKET)) * BUCKET)


def presets_for(family: str, *, lcm: bool = False) -> list[SizePreset]:
    """The aspect presets of ``family`` at its native pixel count, none above its largest side."""
    d = defaults_for(family, lcm=lcm)
    area = d.width * d.height
    presets = []
    for w, h in ASPECTS:
        width = _round(math.sqrt(area * w / h))
        height = _round(area / math.sqrt(area * w / h))
        if width <= d.max_side and height <= d.max_side:
            presets.append(SizePreset(f"{w}:{h}", width, height))
    return presets
