"""How long a planned sweep will take here, from this machine's recorded speeds.

Text: each cell costs its ``max_tokens`` at the model's tokens per second,
the median of its replies in the history (:func:`desktop.core.models.speed.store_speeds`),
else the CPU estimate from the memory bandwidth when one is given.  Images:
the median ``total_s`` of the model's images in the history.  A model with
neither leaves its cells out of the sum, and the estimate says so.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from pathlib import Path

from desktop.core.experiments.params import TEXT
from desktop.core.experiments.plan import ModelGroup, Plan
from desktop.core.text.params import SamplingParams

DEFAULT_MAX_TOKENS = SamplingParams().max_tokens


@dataclass(frozen=True)
class Estimate:
    seconds: float  # for the cells with a known speed
    unknown_cells: int  # cells of models with no recorded or estimated speed
    measured: bool  # every known part comes from this machine's history

    @property
    def summary(self) -> str:
        if self.unknown_cells and not self.seconds:
            return "time unknown (no recorded speed for these models yet)"
        text = f"about {_duration(self.seconds)}" + ("" if self.measured else " (estimated)")
        if self.unknown_cells:
            text += f", plus {self.unknown_cells} cells of models with no recorded speed"
        return text


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def image_seconds(store) -> dict[str, float]:
    """Median seconds per image by lower-case model file/folder name, from the history's images."""
    table = store.scan(columns=["model_file", "timings_json"], where="kind = 'image'")
    seen: dict[str, list[float]] = {}
    for file, timings in zip(table.column("model_file").to_pylist(), table.column("timings_json").to_pylist()):
        try:
            total = json.loads(timings or "{}").get("total_s")
        except ValueError:
            continue
        if isinstance(total, (int, float)) and not isinstance(total, bool) and total > 0 and file:
            seen.setdefault(file.lower(), []).append(float(total))
    return {k: statistics.median(v) for k, v in seen.items()}


def estimate_plan(plan: Plan, store=None, *, bandwidth: float | None = None) -> Estimate:
    """The time ``plan`` should take; ``store``: the history (None: no records to learn from)."""
    from desktop.core.models.speed import estimate_speed, store_speeds

    if plan.spec.kind == TEXT:
        measured_speeds = store_speeds(store) if store is not None else {}
    else:
        per_image = image_seconds(store) if store is not None else {}
    seconds, unknown, measured = 0.0, 0, True
    for group in plan.groups:
        if plan.spec.kind == TEXT:
            speed = estimate_speed(_size(group), bandwidth=bandwidth, file=group.path.name,
                                   measured=measured_speeds)
            if speed is None:
                unknown += len(group.cells)
                continue
            measured = measured and speed.measured
            seconds += sum(int(c.values.get("max_tokens", DEFAULT_MAX_TOKENS)) for c in group.cells) \
                / speed.tokens_per_s
        else:
            each = per_image.get(group.path.name.lower())
            if each is None:
                unknown += len(group.cells)
                continue
            seconds += each * len(group.cells)
    return Estimate(seconds, unknown, measured)


def _size(group: ModelGroup) -> int:
    try:
        return Path(group.path).stat().st_size
    except OSError:
        return 0
