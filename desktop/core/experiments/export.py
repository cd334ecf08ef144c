"""One experiment as a table: one row per cell, to CSV or Parquet (or an HTML report, :mod:`.report`).

A row holds the cell's index, repeat and status (done, failed, pending),
its value on every axis (a column per axis, named after it; a model by its
file name), the prompt, and from its history record the output (text, or
the image's path), seed, rating, speeds and record id.  A failed cell has
its error, a pending one nothing more.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from desktop.core.experiments.errors import ExperimentError
from desktop.core.experiments.plan import plan_cells
from desktop.core.experiments.records import CellTag, experiment_records
from desktop.core.experiments.spec import Axis
from desktop.core.experiments.store import Experiment
from desktop.core.records import GenerationRecord

DONE, FAILED, PENDING = "done", "failed", "pending"
RECORD_COLUMNS = ("output_text", "image_path", "seed", "rating", "tokens_per_s", "ttft_s", "total_s",
                  "model_name", "record_id", "error")
FORMATS = (".csv", ".parquet", ".html")


def _axis_value(axis: Axis, value: Any) -> Any:
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in axis.values)
    if numeric:
        return float(value) if any(isinstance(v, float) for v in axis.values) else value
    return axis.label(value)


def cell_rows(experiment: Experiment, history) -> list[dict[str, Any]]:
    """The experiment's table (see the module docstring), in cell order."""
    spec = experiment.parsed_spec(check_models=False)
    records: dict[int, GenerationRecord] = {}
    for saved in experiment_records(history, experiment.id):
        tag = CellTag.of(saved)
        if tag is not None:
            records.setdefault(tag.cell, saved)
    rows = []
    for cell in plan_cells(spec).cells:
        record = records.get(cell.index)
        status = DONE if record else FAILED if cell.index in experiment.failures else PENDING
        row: dict[str, Any] = {"cell": cell.index, "repeat": cell.repeat, "status": status}
        row.update({a.name: _axis_value(a, cell.coords[a.name]) for a in spec.axes})
        row.setdefault("prompt", cell.prompt)
        timings = record.timings if record else {}
        row.update({
            "output_text": record.output_text if record else "", "image_path": record.image_path if record else "",
            "seed": record.seed if record else None, "rating": record.rating if record else 0,
            "tokens_per_s": timings.get("tokens_per_s"), "ttft_s": timings.get("ttft_s"),
            "total_s": timings.get("total_s"), "model_name": record.model.name if record else "",
            "record_id": record.id if record else "", "error": experiment.failures.get(cell.index, ""),
        })
        rows.append(row)
    return rows


def export_experiment(experiment: Experiment, history, path: Path, *, embed_images: bool = False) -> int:
    """Write the experiment's table to ``path`` (``.csv``, ``.parquet`` or an ``.html`` report,
    its images beside it or with ``embed_images`` inside it); returns the row count."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ExperimentError(f"Cannot export to {path.name}: the format is chosen by the file name.",
                              "Name a .csv or .parquet file (or .html for a report).")
    if suffix == ".html":
        from desktop.core.experiments.report import write_report

        return write_report(experiment, history, path, embed_images=embed_images)
    rows = cell_rows(experiment, history)
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        with open(path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else ["cell"])
            writer.writeheader()
            writer.writerows(rows)
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(rows), path)
    return len(rows)
