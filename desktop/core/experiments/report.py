"""One experiment as a self-contained HTML report that opens in any browser with no server.

The page holds the experiment's title, description, axes and fixed values;
then, for a text sweep, a table of one row per cell (its axis values, the
reply, tok/s, TTFT, rating), and for an image sweep a grid (rows: the
combined values of every axis but the last, columns: the last axis's values, an
``<img>`` per cell); then a summary per axis value (cells, done, mean
rating, mean tok/s or mean seconds per image:
:func:`~desktop.core.experiments.summary.summarize`, as in the Summary tab).

Images are copied beside the page into ``<name>_files/`` and linked
relatively, or with ``embed_images`` put in the page as base64 data URIs.
The template is rendered with autoescape on: a prompt or reply is text,
never markup.
"""

from __future__ import annotations

import base64
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from desktop.core.experiments.export import DONE, cell_rows
from desktop.core.experiments.records import experiment_records
from desktop.core.experiments.spec import ExperimentSpec
from desktop.core.experiments.store import Experiment
from desktop.core.experiments.summary import summarize
from desktop.core.paths import resource_path

TEMPLATE = ("templates", "experiment_report.html.j2")


@dataclass
class GridItem:
    cell: int
    status: str
    src: str = ""
    caption: str = ""
    error: str = ""


@dataclass
class Grid:
    row_label: str
    column_label: str
    columns: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)


def _number(value: Any, digits: int = 2) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _label(spec: ExperimentSpec, name: str, value: Any) -> str:
    axis = spec.axis(name)
    return axis.label(value) if axis and not isinstance(value, str) else str(value)


def files_folder(path: Path) -> Path:
    """Where the report's images go: ``<name>_files/`` beside it."""
    return path.with_name(f"{path.stem}_files")


class _Images:
    """Turns a record's image path into the ``src`` of an ``<img>``: a copied file or a data URI."""

    def __init__(self, page: Path, embed: bool) -> None:
        self.page = page
        self.embed = embed
        self.folder = files_folder(page)

    def src(self, cell: int, image_path: str) -> str:
        source = Path(image_path)
        if not image_path or not source.is_file():
            return ""
        if self.embed:
            return "data:image/png;base64," + base64.b64encode(source.read_bytes()).decode("ascii")
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"cell-{cell:05d}{source.suffix.lower() or '.png'}"
        shutil.copyfile(source, self.folder / name)
        return f"{quote(self.folder.name)}/{quote(name)}"


def _grid(spec: ExperimentSpec, rows: list[dict[str, Any]], images: _Images) -> Grid:
    names = [a.name for a in spec.axes]
    column_axis, row_axes = names[-1], names[:-1]
    columns = [spec.axes[-1].label(v) for v in spec.axes[-1].values]
    grid = Grid(row_label=" × ".join(row_axes) or "", column_label=column_axis, columns=columns)
    by_row: dict[str, dict[str, list[GridItem]]] = {}
    for row in rows:
        key = ", ".join(f"{a}={row[a]}" for a in row_axes) if row_axes else ""
        src = images.src(row["cell"], row["image_path"]) if row["status"] == DONE else ""
        status = row["status"] if src or row["status"] != DONE else "missing image"
        caption = f"★{row['rating']}" if row["rating"] else ""
        item = GridItem(cell=row["cell"], status=status, src=src, caption=caption, error=row["error"])
        by_row.setdefault(key, {}).setdefault(_label(spec, column_axis, row[column_axis]), []).append(item)
    for key, cells in by_row.items():
        grid.rows.append({"label": key, "cells": [cells.get(c, []) for c in columns]})
    return grid


def _summary(experiment: Experiment, history) -> list[dict[str, Any]]:
    rows = []
    for axis in summarize(experiment, experiment_records(history, experiment.id)):
        for value in axis.values:
            rows.append({"axis": axis.axis, "value": value.label, "cells": value.cells, "done": value.done,
                         "failed": value.failed, "rating": _number(value.mean_rating),
                         "speed": _number(value.mean_speed)})
    return rows


def write_report(experiment: Experiment, history, path: Path, *, embed_images: bool = False) -> int:
    """Write the experiment's HTML report to ``path`` (see the module docstring); returns the cell count."""
    import jinja2

    path = Path(path)
    spec = experiment.parsed_spec(check_models=False)
    rows = cell_rows(experiment, history)
    path.parent.mkdir(parents=True, exist_ok=True)
    image = spec.kind == "image"
    context: dict[str, Any] = {
        "title": experiment.name, "description": experiment.description or spec.description,
        "kind": spec.kind, "cell_count": len(rows), "status": experiment.status,
        "created": experiment.created_at.strftime("%Y-%m-%d %H:%M UTC"),
        "axes": [{"name": a.name, "labels": [a.label(v) for v in a.values]} for a in spec.axes],
        "fixed": sorted((k, str(v)) for k, v in spec.fixed.items()),
        "grid": _grid(spec, rows, _Images(path, embed_images)) if image else None,
        "cells": [] if image else [
            {"cell": r["cell"], "status": r["status"], "coords": [_label(spec, a.name, r[a.name]) for a in spec.axes],
             "reply": r["output_text"] or r["error"], "tokens_per_s": _number(r["tokens_per_s"], 1),
             "ttft_s": _number(r["ttft_s"], 3), "rating": r["rating"] or ""} for r in rows],
        "summary": _summary(experiment, history),
        "speed_label": "Mean seconds per image" if image else "Mean tok/s",
    }
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    template = env.from_string(resource_path(*TEMPLATE).read_text(encoding="utf-8"))
    path.write_text(template.render(**context), encoding="utf-8")
    return len(rows)
