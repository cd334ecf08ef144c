"""Where each cell of a sweep goes on screen: a column per value of one axis, rows and tabs for the rest.

Plain Python (no widgets), so the text table, the image grid and the PNG
export place cells the same way.  Text: one column per value of the chosen
axis, one row per combination of the other axes (and the repeat).  Images:
X = the chosen axis, Y = the next one, Z (tabs) = the combinations of the
rest.  Rows and tabs come in the cells' own order, so paired axes, whose
values move together, make one row per pair instead of a product.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from desktop.core.experiments.plan import Cell
from desktop.core.experiments.spec import ExperimentSpec

REPEAT = "repeat"  # the pseudo-axis of a sweep with repeats > 1
EMPTY_VALUE = "(empty)"  # how an empty value (no negative prompt) is labelled


@dataclass(frozen=True)
class Slot:
    tab: int
    row: int
    column: int


@dataclass
class GridLayout:
    """Labels of the columns, rows and tabs, and the slot of every cell index."""

    column_axis: str
    row_axes: tuple[str, ...]
    tab_axes: tuple[str, ...]
    columns: list[str] = field(default_factory=list)
    rows: list[str] = field(default_factory=list)
    tabs: list[str] = field(default_factory=list)
    slots: dict[int, Slot] = field(default_factory=dict)

    def cell_at(self, tab: int, row: int, column: int) -> int | None:
        for index, slot in self.slots.items():
            if slot == Slot(tab, row, column):
                return index
        return None


def default_column_axis(spec: ExperimentSpec) -> str:
    """The model axis when it has several values, else the first axis that is not the prompt."""
    names = [a.name for a in spec.axes if len(a.values) > 1] or [a.name for a in spec.axes]
    if "model" in names:
        return "model"
    return next((n for n in names if n != "prompt"), names[0] if names else REPEAT)


def axis_names(spec: ExperimentSpec) -> list[str]:
    names = [a.name for a in spec.axes]
    return names + [REPEAT] if spec.repeats > 1 else names


def _label(spec: ExperimentSpec, cell: Cell, name: str) -> str:
    if name == REPEAT:
        return f"#{cell.repeat + 1}"
    axis = spec.axis(name)
    value = cell.coords.get(name)
    label = axis.label(value) if axis is not None else str(value)
    return label if label.strip() else EMPTY_VALUE


def _joined(spec: ExperimentSpec, cell: Cell, names: tuple[str, ...], with_names: bool) -> str:
    parts = [_label(spec, cell, n) for n in names]
    if with_names:
        parts = [f"{n} = {p}" for n, p in zip(names, parts)]
    return " · ".join(parts)


def grid_layout(spec: ExperimentSpec, cells: list[Cell], column_axis: str | None = None, *,
                row_axis_count: int | None = None) -> GridLayout:
    """Place ``cells``; ``row_axis_count``: how many of the other axes make rows (None: all, the text table;
    1: the image grid, the rest are tabs)."""
    names = axis_names(spec)
    column = column_axis if column_axis in names else default_column_axis(spec)
    others = tuple(n for n in names if n != column)
    count = len(others) if row_axis_count is None else min(row_axis_count, len(others))
    row_axes, tab_axes = others[:count], others[count:]
    layout = GridLayout(column, row_axes, tab_axes)
    seen: dict[str, dict[str, int]] = {"c": {}, "r": {}, "t": {}}
    for cell in sorted(cells, key=lambda c: c.index):
        keys = (_label(spec, cell, column) if column in names else "",
                _joined(spec, cell, row_axes, with_names=len(row_axes) > 1),
                _joined(spec, cell, tab_axes, with_names=True))
        places = []
        for kind, key, labels in zip("crt", keys, (layout.columns, layout.rows, layout.tabs)):
            if key not in seen[kind]:
                seen[kind][key] = len(labels)
                labels.append(key)
            places.append(seen[kind][key])
        layout.slots[cell.index] = Slot(places[2], places[1], places[0])
    return layout
