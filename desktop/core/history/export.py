"""Export the history to JSONL, a zip of JSONL with its images, or Parquet.

JSONL: one ``GenerationRecord.to_dict()`` per line.  With images the output is
a zip holding ``history.jsonl`` and ``images/``; image paths in the JSONL are
relative to the zip's root.  Parquet holds the table's own columns (nested
values as JSON text), without vectors.  All three import back with
:func:`desktop.core.history.imports.import_history`.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

from desktop.core.history.errors import ImportFormatError
from desktop.core.history.sql import build_where, ids_predicate
from desktop.core.jobs import CancelToken, Progress, ProgressCallback, no_progress
from desktop.core.records import GenerationRecord

FORMATS = ("jsonl", "parquet")
JSONL_NAME = "history.jsonl"  # the records inside a zip export
PROGRESS_EVERY = 100  # records written between progress reports (and cancel checks)


@dataclass
class ExportResult:
    path: Path
    records: int
    images: int = 0


def export_history(store, path: Path, *, fmt: str = "jsonl", images: bool = False, ids: list[str] | None = None,
                   filters: dict[str, Any] | None = None, cancel: CancelToken | None = None,
                   progress: ProgressCallback = no_progress) -> ExportResult:
    """Write the chosen records to ``path``: those in ``ids`` (every record when None; none when
    empty) that match the search ``filters`` (see ``desktop.core.history.sql.build_where``)."""
    cancel = cancel or CancelToken()
    if fmt not in FORMATS:
        raise ImportFormatError(f"Unknown export format {fmt!r}.", f"Use one of: {', '.join(FORMATS)}.")
    parts = [build_where(filters or {})]
    if ids is not None:
        parts.append(ids_predicate(ids) if ids else "false")
    where = " AND ".join(f"({p})" for p in parts if p) or None
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    total = store.count(where) if where else store.count()
    records = _with_progress(store.iter_records(where), total, cancel, progress, "Exporting")
    if fmt == "parquet":
        return _export_parquet(records, path)
    if images:
        return _export_zip(records, path)
    count = 0
    with open(path, "w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record.to_dict(), ensure_ascii=False) + "\n")
            count += 1
    return ExportResult(path, count)


def _with_progress(records: Iterable[GenerationRecord], total: int, cancel: CancelToken,
                   progress: ProgressCallback, verb: str) -> Iterator[GenerationRecord]:
    for i, record in enumerate(records, 1):
        if i % PROGRESS_EVERY == 0:
            cancel.raise_if_cancelled()
            progress(Progress(i / total if total else None, f"{verb} history", i, total))
        yield record


def _export_zip(records: Iterable[GenerationRecord], path: Path) -> ExportResult:
    count = n_images = 0
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf, io.StringIO() as lines:
        for record in records:
            data = record.to_dict()
            for key in ("image_path", "thumbnail_path"):
                source = Path(data[key]) if data[key] else None
                if source is not None and source.is_file():
                    suffix = ".thumb" if key == "thumbnail_path" else ""
                    name = f"images/{record.id}{suffix}{source.suffix}"
                    zf.write(source, name)
                    data[key] = name
                    n_images += 1
            lines.write(json.dumps(data, ensure_ascii=False) + "\n")
            count += 1
        zf.writestr(JSONL_NAME, lines.getvalue())
    return ExportResult(path, count, n_images)


def _export_parquet(records: Iterable[GenerationRecord], path: Path) -> ExportResult:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from desktop.core.history.schema import arrow_schema, record_to_row

    drop = ("vector", "embedded", "embed_model", "search_text")
    schema = pa.schema([f for f in arrow_schema() if f.name not in drop])
    rows = []
    for record in records:
        row = record_to_row(record)
        rows.append({k: v for k, v in row.items() if k not in drop})
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    return ExportResult(path, len(rows))
