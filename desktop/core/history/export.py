"""Export the history to JSONL (optionally zipped with its images) or Parquet, and import it back.

JSONL: one ``GenerationRecord.to_dict()`` per line.  With images the output is
a zip holding ``history.jsonl`` and ``images/``; image paths in the JSONL are
relative to the zip's root.  Parquet holds the table's own columns (nested
values as JSON text), without vectors.

Import accepts all three.  The minimal record is ``{"kind": "text",
"prompt": "..."}``.  A line that is not such an object is skipped and
counted.  A record without an id gets one derived from its content, so
importing the same file twice adds nothing: records whose id is already in
the history (exact duplicates) are skipped.  Imported records are marked
``origin = "imported"``; they are embedded as they are saved (or by the
backfill when the embedder is not ready yet).
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import zipfile
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator

from desktop.core import paths
from desktop.core.history.errors import ImportFormatError
from desktop.core.jobs import CancelToken, Progress, ProgressCallback, no_progress
from desktop.core.records import GenerationRecord, ModelIdentity

FORMATS = ("jsonl", "parquet")
JSONL_NAME = "history.jsonl"
CHUNK = 100
_RECORD_FIELDS = {f.name for f in fields(GenerationRecord)}
_MODEL_FIELDS = {f.name for f in fields(ModelIdentity)}


@dataclass
class ExportResult:
    path: Path
    records: int
    images: int = 0


@dataclass
class ImportResult:
    imported: int = 0
    duplicates: int = 0
    broken: int = 0
    problems: list[str] = field(default_factory=list)  # the first few broken lines, for the user


# --- export -------------------------------------------------------------------------
def export_history(store, path: Path, *, fmt: str = "jsonl", images: bool = False, ids: list[str] | None = None,
                   cancel: CancelToken | None = None, progress: ProgressCallback = no_progress) -> ExportResult:
    """Write the chosen records (all when ``ids`` is None) to ``path``."""
    cancel = cancel or CancelToken()
    if fmt not in FORMATS:
        raise ImportFormatError(f"Unknown export format {fmt!r}.", f"Use one of: {', '.join(FORMATS)}.")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    from desktop.core.history.store import ids_predicate

    where = ids_predicate(ids) if ids else None
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
        if i % CHUNK == 0:
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


# --- import -------------------------------------------------------------------------
def record_from_dict(data: Any) -> GenerationRecord:
    """Build a record from an imported object; raises ValueError saying what is wrong."""
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    if data.get("kind") not in ("text", "image"):
        raise ValueError("'kind' must be 'text' or 'image'")
    if not isinstance(data.get("prompt"), str):
        raise ValueError("'prompt' must be a string")
    kwargs = {k: v for k, v in data.items() if k in _RECORD_FIELDS and v is not None}
    if "id" not in kwargs:
        canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
        kwargs["id"] = hashlib.sha256(canonical.encode()).hexdigest()[:32]
    if isinstance(kwargs.get("created_at"), str):
        created = datetime.fromisoformat(kwargs["created_at"])
        kwargs["created_at"] = created if created.tzinfo else created.replace(tzinfo=timezone.utc)
    if isinstance(kwargs.get("model"), dict):
        kwargs["model"] = ModelIdentity(**{k: v for k, v in kwargs["model"].items() if k in _MODEL_FIELDS})
    for key, kind in (("parameters", dict), ("timings", dict), ("versions", dict), ("tags", list)):
        if key in kwargs and not isinstance(kwargs[key], kind):
            raise ValueError(f"'{key}' must be a {'list' if kind is list else 'JSON object'}")
    kwargs["origin"] = "imported"
    record = GenerationRecord(**kwargs)
    if not isinstance(record.id, str) or not record.id:
        raise ValueError("'id' must be a non-empty string")
    return record


def _jsonl_records(lines: Iterable[str], result: ImportResult) -> Iterator[GenerationRecord]:
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            yield record_from_dict(json.loads(line))
        except (ValueError, TypeError) as exc:
            result.broken += 1
            if len(result.problems) < 10:
                result.problems.append(f"line {number}: {exc}")


def _sniff(path: Path) -> str:
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head.startswith(b"PK"):
        return "zip"
    if head == b"PAR1":
        return "parquet"
    return "jsonl"


def import_history(store, path: Path, *, cancel: CancelToken | None = None,
                   progress: ProgressCallback = no_progress) -> ImportResult:
    """Import a JSONL, zip or Parquet export into ``store``."""
    cancel = cancel or CancelToken()
    path = Path(path)
    if not path.is_file():
        raise ImportFormatError(f"The import file {path} does not exist.", "Check the path.")
    result = ImportResult()
    kind = _sniff(path)
    if kind == "parquet":
        _save_all(store, _parquet_records(path), result, cancel, progress)
    elif kind == "zip":
        try:
            zf = zipfile.ZipFile(path)
        except zipfile.BadZipFile as exc:
            raise ImportFormatError(f"{path} is not a valid zip file ({exc}).",
                                    "Export it again from GenLab.") from exc
        with zf:
            if JSONL_NAME not in zf.namelist():
                raise ImportFormatError(f"{path} has no {JSONL_NAME} inside.", "Export it again from GenLab.")
            text = zf.read(JSONL_NAME).decode("utf-8", errors="replace")
            records = (_attach_images(r, zf) for r in _jsonl_records(text.splitlines(), result))
            _save_all(store, records, result, cancel, progress)
    else:
        with open(path, encoding="utf-8", errors="replace") as fh:
            _save_all(store, _jsonl_records(fh, result), result, cancel, progress)
    return result


def _parquet_records(path: Path) -> Iterator[GenerationRecord]:
    import pyarrow.parquet as pq

    from desktop.core.history.schema import row_to_record

    try:
        table = pq.read_table(path)
    except Exception as exc:
        raise ImportFormatError(f"{path} is not a readable Parquet file ({exc}).") from exc
    for row in table.to_pylist():
        record = row_to_record(row)
        record.origin = "imported"
        yield record


def _attach_images(record: GenerationRecord, zf: zipfile.ZipFile) -> GenerationRecord:
    """Copy the record's images out of the zip into the history's own image folder."""
    names = set(zf.namelist())
    target_dir = paths.history_dir() / "images"
    for key in ("image_path", "thumbnail_path"):
        name = getattr(record, key)
        if name and name in names:  # only names listed in the zip: no path tricks
            target_dir.mkdir(parents=True, exist_ok=True)
            suffix = ".thumb" if key == "thumbnail_path" else ""
            target = target_dir / f"{record.id}{suffix}{Path(name).suffix}"
            with zf.open(name) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)
            setattr(record, key, str(target))
    return record


def _save_all(store, records: Iterable[GenerationRecord], result: ImportResult, cancel: CancelToken,
              progress: ProgressCallback) -> None:
    chunk: list[GenerationRecord] = []
    seen: set[str] = set()

    def flush() -> None:
        cancel.raise_if_cancelled()
        existing = store.has_ids([r.id for r in chunk])
        fresh = []
        for r in chunk:
            if r.id in existing or r.id in seen:
                result.duplicates += 1
            else:
                seen.add(r.id)
                fresh.append(r)
        store.save_many(fresh)
        result.imported += len(fresh)
        progress(Progress(None, f"Imported {result.imported} records", result.imported))
        chunk.clear()

    for record in records:
        chunk.append(record)
        if len(chunk) >= CHUNK:
            flush()
    if chunk:
        flush()
