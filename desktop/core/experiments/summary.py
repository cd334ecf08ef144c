"""Per axis, per value: how the cells with that value did (mean rating, mean speed, failures).

:func:`summarize` takes an experiment and its history records and, for every
axis of its spec, one :class:`ValueSummary` per value in the spec's order:
the cells having that value (repeats count as cells), how many are saved,
rated and failed, the mean rating of the *rated* cells only (an unrated
cell is not a zero; None when none is rated) and the mean speed of the saved
ones: tokens per second for a text sweep, seconds per image for an image one.
A cell's value on an axis comes from the plan (as in the CSV export), so a
failed cell, which has no record, still counts under its values.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from statistics import fmean
from typing import Any, Iterable

from desktop.core.experiments.plan import plan_cells
from desktop.core.experiments.records import CellTag
from desktop.core.experiments.store import Experiment
from desktop.core.records import GenerationRecord

TEXT_SPEED = ("tokens_per_s", "tok/s")
IMAGE_SPEED = ("total_s", "s/image")


@dataclass(frozen=True)
class ValueSummary:
    """The cells of one value of one axis."""

    value: Any  # as written in the spec
    label: str  # as shown in grids and exports (a model by its file name)
    cells: int
    done: int  # cells with a saved record
    rated: int
    failed: int
    mean_rating: float | None  # of the rated cells; None when none is rated
    mean_speed: float | None  # of the saved cells that report a speed (see AxisSummary.speed_unit)


@dataclass(frozen=True)
class AxisSummary:
    axis: str
    speed_unit: str  # "tok/s" (text) or "s/image" (image)
    values: tuple[ValueSummary, ...]


def _mean(numbers: list[float]) -> float | None:
    return fmean(numbers) if numbers else None


def summarize(experiment: Experiment, records: Iterable[GenerationRecord]) -> tuple[AxisSummary, ...]:
    """Every axis of ``experiment`` with a summary per value (see the module docstring)."""
    spec = experiment.parsed_spec(check_models=False)
    # Paths are not needed to group cells; resolving library names would need the library.
    cells = plan_cells(spec, resolve=Path).cells
    by_cell: dict[int, GenerationRecord] = {}
    for record in records:
        tag = CellTag.of(record)
        if tag is not None and tag.id == experiment.id:
            by_cell.setdefault(tag.cell, record)  # the first record of a cell, as the export takes it
    speed_key, unit = TEXT_SPEED if spec.kind == "text" else IMAGE_SPEED
    axes = []
    for axis in spec.axes:
        values = []
        for value in axis.values:
            mine = [c for c in cells if c.coords.get(axis.name) == value]
            saved = [by_cell[c.index] for c in mine if c.index in by_cell]
            ratings = [float(r.rating) for r in saved if r.rating > 0]
            speeds = [float(r.timings[speed_key]) for r in saved if r.timings.get(speed_key) is not None]
            failed = sum(1 for c in mine if c.index in experiment.failures and c.index not in by_cell)
            values.append(ValueSummary(value, axis.label(value), len(mine), len(saved), len(ratings), failed,
                                       _mean(ratings), _mean(speeds)))
        axes.append(AxisSummary(axis.name, unit, tuple(values)))
    return tuple(axes)
