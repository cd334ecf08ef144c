"""The cells of a sweep and the order they run in.

:func:`plan_cells` takes the product of the spec's axes (a paired group
counts as one factor whose values are zipped), the first axis varying
slowest, and the repeats innermost.  A cell's ``index`` is its place in that
order: it is the cell's key in the history, so a resumed run knows which
cells are saved.  Cells run grouped by model (and, for text, by the options
that need a reload: ctx, threads, gpu_layers), each group in index order, so
each model loads once.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from desktop.core.errors import GenLabError
from desktop.core.experiments.params import LOAD_PARAMS, PARAMS, TEXT
from desktop.core.experiments.resolve import resolve_model_ref
from desktop.core.experiments.spec import ExperimentSpec, units


@dataclass(frozen=True)
class Cell:
    """One generation of the sweep.

    ``coords``: the cell's value on every axis (as written in the spec);
    ``values``: every parameter it runs with, by option name (fixed values,
    its coordinates, the prompt filled from the template, the repeat's seed).
    """

    index: int
    coords: dict[str, Any]
    repeat: int
    model: str  # as written in the spec (a path or a library name)
    values: dict[str, Any]

    @property
    def prompt(self) -> str:
        return str(self.values.get("prompt", ""))


@dataclass
class ModelGroup:
    """The cells that run on one loaded model, in index order."""

    model: str
    path: Path
    load: tuple[tuple[str, Any], ...] = ()  # the text options that need their own load
    cells: list[Cell] = field(default_factory=list)


@dataclass
class Plan:
    spec: ExperimentSpec
    cells: list[Cell]
    groups: list[ModelGroup]

    @property
    def cell_count(self) -> int:
        return len(self.cells)

    @property
    def model_loads(self) -> int:
        """Model loads a run from scratch needs: one per group."""
        return len(self.groups)


def cell_values(spec: ExperimentSpec, coords: dict[str, Any], repeat: int) -> dict[str, Any]:
    """Every parameter of the cell at ``coords``, ``repeat`` (see :class:`Cell`)."""
    values = dict(spec.fixed)
    values.update({k: v for k, v in coords.items() if k in PARAMS[spec.kind]})
    if spec.template:
        values["prompt"] = spec.template.format_map(coords)
    if repeat and isinstance(values.get("seed"), int):
        values["seed"] = values["seed"] + repeat  # a given seed: each repeat the next one, like a batch
    return values


def iter_coords(spec: ExperimentSpec):
    """Every point of the sweep as {axis: value}, in index order (repeats not included)."""
    factors = [list(zip(*(a.values for a in group))) for group in units(spec)]
    names = [[a.name for a in group] for group in units(spec)]
    for combo in itertools.product(*factors):
        coords: dict[str, Any] = {}
        for group_names, values in zip(names, combo):
            coords.update(zip(group_names, values))
        yield {a.name: coords[a.name] for a in spec.axes}  # in the spec's axis order


def _resolved(ref: str, resolve: Callable[[str], Path]) -> Path:
    try:
        return resolve(ref)
    except GenLabError:  # a library model gone since the spec was checked: its load says so
        return Path(ref)


def plan_cells(spec: ExperimentSpec, *, resolve: Callable[[str], Path] = resolve_model_ref) -> Plan:
    """The cells of ``spec`` and their model groups (see the module docstring)."""
    cells: list[Cell] = []
    for coords in iter_coords(spec):
        for repeat in range(spec.repeats):
            values = cell_values(spec, coords, repeat)
            cells.append(Cell(len(cells), coords, repeat, str(values["model"]), values))
    groups: dict[tuple, ModelGroup] = {}
    paths: dict[str, Path] = {}
    for cell in cells:
        load = tuple((k, cell.values[k]) for k in LOAD_PARAMS if k in cell.values) if spec.kind == TEXT else ()
        key = (cell.model, load)
        if key not in groups:
            if cell.model not in paths:
                paths[cell.model] = _resolved(cell.model, resolve)
            groups[key] = ModelGroup(cell.model, paths[cell.model], load)
        groups[key].cells.append(cell)
    return Plan(spec, cells, list(groups.values()))
