"""Export the history to JSONL (optionally zipped with its images) or Parquet, and import it back.

JSONL: one ``GenerationRecord.to_dict()`` per line.  With images the output is
a zip holding ``history.jsonl`` and ``images/``; image paths in the JSONL are
relative to the zip's root.  Parquet holds the table's own columns (nested
values as JSON text), without vectors.

Import accepts all three.  The minimal record is ``{"kind": "text",
"prompt": "..."}`` (in Parquet: ``kind`` and ``prompt`` columns); every other
field is optional but checked when present (:func:`record_from_dict`), for
JSONL lines and Parquet rows alike.  A line or row that is not such a record
is skipped and counted, with its number and the reason among the first few
``problems``; the rest is imported.

Duplicates: a record without an id gets one derived from its content, so
importing the same file twice adds nothing.  A record whose id is already in
the history (or earlier in the file) is an exact duplicate, and skipped, when
everything the line states agrees with the record there (``origin`` and the
image file locations aside: an import marks the one and moves the others).
When the content differs it is kept as a new record under a new id derived
from the old id and the content (so importing that file again skips it), and
counted in ``conflicts``: an import never overwrites a record.

Progress reports say how many records were read of how many (lines counted
first, or the Parquet row count).  Imported records are marked ``origin =
"imported"``; they are embedded as they are saved, or afterwards by
:func:`desktop.core.history.import_job.import_and_embed` when the embedder is
not ready yet.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import zipfile
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from desktop.core.history.errors import HistoryError, HistoryWriteError, ImportFormatError
from desktop.core.history.schema import row_to_record
from desktop.core.history.writer import write_error
from desktop.core.jobs import CancelToken, Progress, ProgressCallback, no_progress
from desktop.core.records import GenerationRecord, ModelIdentity

FORMATS = ("jsonl", "parquet")
JSONL_NAME = "history.jsonl"
CHUNK = 100
MAX_PROBLEMS = 5  # examples of broken lines kept for the report
_RECORD_FIELDS = {f.name for f in fields(GenerationRecord)}
_MODEL_FIELDS = {f.name for f in fields(ModelIdentity)}


@dataclass
class ExportResult:
    path: Path
    records: int
    images: int = 0


@dataclass
class ImportResult:
    imported: int = 0  # new rows, the conflicts included
    duplicates: int = 0
    broken: int = 0
    conflicts: int = 0  # same id as a record already there, other content: imported under a new id
    problems: list[str] = field(default_factory=list)  # "line N: why" for the first few broken lines
    total: int | None = None  # records (lines, rows) in the file
    embedded: int = 0  # records embedded after the import (import_and_embed)
    embed_note: str = ""  # why records were left unembedded, if they were

    @property
    def read(self) -> int:
        return self.imported + self.duplicates + self.broken

    def summary(self) -> str:
        kept = f" (kept as new records: {self.conflicts}, ids conflicted)" if self.conflicts else ""
        return (f"imported {self.imported}{kept}, skipped {self.duplicates} duplicates, "
                f"{self.broken} broken lines")

    def problem_lines(self) -> list[str]:
        """The examples of broken lines, then how many more there were."""
        more = self.broken - len(self.problems)
        return self.problems + ([f"... and {more} more"] if more > 0 else [])


# --- export -------------------------------------------------------------------------
def export_history(store, path: Path, *, fmt: str = "jsonl", images: bool = False, ids: list[str] | None = None,
                   filters: dict[str, Any] | None = None, cancel: CancelToken | None = None,
                   progress: ProgressCallback = no_progress) -> ExportResult:
    """Write the chosen records to ``path``: those in ``ids`` (every record when None; none when
    empty) that match the search ``filters`` (see ``desktop.core.history.search.build_where``)."""
    cancel = cancel or CancelToken()
    if fmt not in FORMATS:
        raise ImportFormatError(f"Unknown export format {fmt!r}.", f"Use one of: {', '.join(FORMATS)}.")
    from desktop.core.history.search import build_where
    from desktop.core.history.store import ids_predicate

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
# Every field is checked (and unambiguous values coerced) here, so a bad line is
# skipped and counted instead of failing inside the writer.
_STRING_FIELDS = ("session_id", "parent_id", "negative_prompt", "system_prompt", "output_text", "image_path",
                  "image_sha256", "thumbnail_path", "device", "note")
_MODEL_STRINGS = ("name", "file", "sha256", "quantization")
_INT64 = (-(2 ** 63), 2 ** 63 - 1)


def _text(value: Any, name: str) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise ValueError(f"{name!r} must be a string, not {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{name!r} holds characters that are not valid Unicode (lone surrogates)") from None
    return value


def _integer(value: Any, name: str, low: int = _INT64[0], high: int = _INT64[1]) -> int:
    number: Any = value
    if isinstance(value, str):
        try:
            number = float(value.strip()) if any(c in value for c in ".eE") else int(value.strip())
        except ValueError:
            number = None
    if isinstance(number, float) and number.is_integer():
        number = int(number)
    if isinstance(number, bool) or not isinstance(number, int):
        raise ValueError(f"{name!r} must be a whole number, not {value!r}"[:200])
    if not low <= number <= high:
        raise ValueError(f"{name!r} must be between {low} and {high}, not {number}")
    return number


def _created_at(value: Any) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"'created_at' must be an ISO 8601 date-time such as 2026-05-01T12:00:00+00:00, "
                             f"not {value!r}"[:200]) from None
    if not isinstance(value, datetime):
        raise ValueError(f"'created_at' must be an ISO 8601 date-time string, not {type(value).__name__}")
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    try:
        return value.astimezone(timezone.utc)
    except OverflowError:
        raise ValueError(f"'created_at' {value.isoformat()} is out of range") from None


def _string_list(value: Any, name: str) -> list[str]:
    if not isinstance(value, list):
        raise ValueError(f"{name!r} must be a list of strings, not {type(value).__name__}")
    return [_text(v, f"{name}[{i}]") for i, v in enumerate(value)]


def _mapping(value: Any, name: str) -> dict:
    if not isinstance(value, dict):
        raise ValueError(f"{name!r} must be a JSON object, not {type(value).__name__}")
    return value


def _model(value: Any) -> ModelIdentity:
    if isinstance(value, str):  # just a name
        return ModelIdentity(name=_text(value, "model"))
    data = {k: v for k, v in _mapping(value, "model").items() if k in _MODEL_FIELDS and v is not None}
    for key in _MODEL_STRINGS:
        if key in data:
            data[key] = _text(data[key], f"model.{key}")
    if "size" in data:
        data["size"] = _integer(data["size"], "model.size", 0)
    if "files" in data:
        data["files"] = _string_list(data["files"], "model.files")
    return ModelIdentity(**data)


def given_fields(data: dict) -> frozenset[str]:
    """The record fields an imported object states (``model.<key>`` for the model's), for duplicate checks."""
    names = {k for k, v in data.items() if k in _RECORD_FIELDS and v is not None}
    model = data.get("model")
    names.discard("model")
    if isinstance(model, str):
        names.add("model.name")
    elif isinstance(model, dict):
        names.update(f"model.{k}" for k, v in model.items() if k in _MODEL_FIELDS and v is not None)
    return frozenset(names)


ALL_FIELDS = given_fields({**{name: "" for name in _RECORD_FIELDS}, "model": {k: "" for k in _MODEL_FIELDS}})


def record_from_dict(data: Any, *, canonical: Any = None) -> GenerationRecord:
    """Build a record from an imported object; raises ValueError saying what is wrong.

    Only ``kind`` and ``prompt`` are required; unknown keys are ignored.  A
    record without an id gets one hashed from ``canonical`` (default: ``data``).
    """
    if not isinstance(data, dict):
        raise ValueError(f"not a JSON object (a {type(data).__name__})")
    if data.get("kind") not in ("text", "image"):
        raise ValueError(f"'kind' must be 'text' or 'image', not {data.get('kind')!r}"[:200])
    if not isinstance(data.get("prompt"), str):
        raise ValueError("'prompt' must be a string" + ("" if "prompt" in data else " and is missing"))
    values = {k: v for k, v in data.items() if k in _RECORD_FIELDS and v is not None}
    kwargs: dict[str, Any] = {"kind": values["kind"], "prompt": _text(values["prompt"], "prompt")}
    if "id" in values:
        if not isinstance(values["id"], str) or not values["id"].strip():
            raise ValueError("'id' must be a non-empty string")
        kwargs["id"] = _text(values["id"], "id")
    else:
        text = json.dumps(data if canonical is None else canonical, sort_keys=True, ensure_ascii=True, default=str)
        kwargs["id"] = hashlib.sha256(text.encode()).hexdigest()[:32]
    for key in _STRING_FIELDS:
        if key in values:
            kwargs[key] = _text(values[key], key)
    if "created_at" in values:
        kwargs["created_at"] = _created_at(values["created_at"])
    if "model" in values:
        kwargs["model"] = _model(values["model"])
    for key in ("parameters", "timings", "versions"):
        if key in values:
            kwargs[key] = _mapping(values[key], key)
    if "seed" in values:
        kwargs["seed"] = _integer(values["seed"], "seed")
    if "rating" in values:
        kwargs["rating"] = _integer(values["rating"], "rating", 0, 5)
    if "tags" in values:
        kwargs["tags"] = _string_list(values["tags"], "tags")
    kwargs["origin"] = "imported"
    return GenerationRecord(**kwargs)


def _note_broken(result: ImportResult, where: str, reason: Any) -> None:
    result.broken += 1
    if len(result.problems) < MAX_PROBLEMS:
        result.problems.append(f"{where}: {reason}")


# What the readers yield: where the record came from ("line 7"), the record, the fields its line gave.
Labelled = tuple[str, GenerationRecord, frozenset]


def _jsonl_records(lines: Iterable[str], result: ImportResult) -> Iterator[Labelled]:
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except (ValueError, RecursionError) as exc:
            _note_broken(result, f"line {number}", f"not valid JSON ({str(exc)[:120]})")
            continue
        try:
            record = record_from_dict(data)
        except ValueError as exc:
            _note_broken(result, f"line {number}", exc)
        else:
            yield f"line {number}", record, given_fields(data)


def _sniff(path: Path) -> str:
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head.startswith(b"PK"):
        return "zip"
    if head == b"PAR1":
        return "parquet"
    return "jsonl"


def _count_lines(lines: Iterable[str]) -> int:
    """How many records a JSONL holds, read the way the import reads it (blank lines are not records)."""
    return sum(1 for line in lines if line.strip())


def _parquet_rows(path: Path) -> int | None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path).metadata.num_rows
    except (OSError, pa.ArrowException):
        return None  # reading it says why


def import_history(store, path: Path, *, cancel: CancelToken | None = None,
                   progress: ProgressCallback = no_progress) -> ImportResult:
    """Import a JSONL, zip or Parquet export into ``store``; progress counts records read of the file's total."""
    cancel = cancel or CancelToken()
    path = Path(path)
    if not path.is_file():
        raise ImportFormatError(f"The import file {path} does not exist.", "Check the path.")
    result = ImportResult()
    kind = _sniff(path)
    if kind == "parquet":
        result.total = _parquet_rows(path)
        _save_labelled(store, _parquet_records(path, result), result, cancel, progress)
    elif kind == "zip":
        try:
            zf = zipfile.ZipFile(path)
        except zipfile.BadZipFile as exc:
            raise ImportFormatError(f"{path} is not a valid zip file ({exc}).",
                                    "Export it again from GenLab.") from exc
        with zf:
            names = set(zf.namelist())
            if JSONL_NAME not in names:
                raise ImportFormatError(f"{path} has no {JSONL_NAME} inside.", "Export it again from GenLab.")
            lines = zf.read(JSONL_NAME).decode("utf-8", errors="replace").splitlines()
            result.total = _count_lines(lines)
            _save_labelled(store, _jsonl_records(lines, result), result, cancel, progress,
                           attach=lambda record: _attach_images(record, zf, names, Path(store.root) / "images"))
    else:
        with open(path, encoding="utf-8", errors="replace") as fh:
            result.total = _count_lines(fh)
        with open(path, encoding="utf-8", errors="replace") as fh:
            _save_labelled(store, _jsonl_records(fh, result), result, cancel, progress)
    return result


def _parquet_records(path: Path, result: ImportResult) -> Iterator[Labelled]:
    """Rows of a Parquet export (or any Parquet with at least kind and prompt), validated like JSONL lines."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        batches = pq.ParquetFile(path).iter_batches(batch_size=CHUNK)
        number = 0
        for batch in batches:
            for row in batch.to_pylist():
                number += 1
                try:
                    record, given = _record_from_row(row)
                except ValueError as exc:
                    _note_broken(result, f"row {number}", exc)
                else:
                    yield f"row {number}", record, given
    except (OSError, pa.ArrowException) as exc:
        raise ImportFormatError(f"{path} is not a readable Parquet file ({str(exc)[:300]}).",
                                "Export it again from GenLab.") from exc


def _record_from_row(row: dict[str, Any]) -> tuple[GenerationRecord, frozenset]:
    """A Parquet row (the table's flat columns: model_*, *_json) as an import dict, then a record."""
    data = {k: v for k, v in row.items() if v is not None}
    present = dict(data)  # what the row holds, for a content id: a minimal row hashes like its JSONL line
    model = {key[len("model_"):]: data.pop(key) for key in list(data) if key.startswith("model_")}
    if model and "model" not in data:
        data["model"] = model
    for key in ("parameters", "timings", "versions"):
        text = data.pop(f"{key}_json", None)
        if text is not None and key not in data:
            if not isinstance(text, str):
                raise ValueError(f"'{key}_json' must be JSON text, not {type(text).__name__}")
            try:
                data[key] = json.loads(text) if text.strip() else {}
            except (ValueError, RecursionError):
                raise ValueError(f"'{key}_json' is not valid JSON") from None
    return record_from_dict(data, canonical=present), given_fields(data)


def _attach_images(record: GenerationRecord, zf: zipfile.ZipFile, names: set[str],
                   target_dir: Path) -> list[Path]:
    """Copy the record's images out of the zip into ``target_dir`` (the store's); returns the files made.

    ``names`` is the zip's name list, read once per import.  Called only for
    records that will be saved (never for duplicates), so no file of a record
    already in the history is overwritten."""
    stem = record.id  # ids come from the file: only plain ones become file names
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", stem):
        stem = hashlib.sha256(stem.encode()).hexdigest()[:32]
    made: list[Path] = []
    try:
        for key in ("image_path", "thumbnail_path"):
            name = getattr(record, key)
            if name and name in names:  # only names listed in the zip: no path tricks
                target_dir.mkdir(parents=True, exist_ok=True)
                suffix = ".thumb" if key == "thumbnail_path" else ""
                target = target_dir / f"{stem}{suffix}{Path(name).suffix}"
                made.append(target)
                with zf.open(name) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                setattr(record, key, str(target))
    except BaseException:  # a full disk: no part of this record's files stays
        _remove(made)
        raise
    return made


def _remove(files: Iterable[Path]) -> None:
    for path in files:
        try:
            path.unlink(missing_ok=True)
        except OSError:
            pass  # the import's own error says more


def save_records(store, records: Iterable[GenerationRecord], result: ImportResult | None = None,
                 cancel: CancelToken | None = None, progress: ProgressCallback = no_progress) -> ImportResult:
    """Save already-built records as an import does: duplicates skipped, broken ones counted."""
    result = result or ImportResult()
    if result.total is None and hasattr(records, "__len__"):
        result.total = len(records)  # type: ignore[arg-type]
    numbered = ((f"record {i}", r, ALL_FIELDS) for i, r in enumerate(records, 1))
    _save_labelled(store, numbered, result, cancel or CancelToken(), progress)
    return result


_LOCATIONS = frozenset({"id", "origin", "image_path", "thumbnail_path"})  # not content: see the module docstring
_CONTENT = sorted(ALL_FIELDS - _LOCATIONS)  # the fields a content digest covers, in its order
_SLOT = {name: i for i, name in enumerate(_CONTENT)}
_FIELD_DIGEST = 8  # bytes per field


def _value(record: GenerationRecord, name: str) -> Any:
    """The field ``name`` of ``record``; ``model.X`` names a field of its model identity."""
    return getattr(record.model, name[len("model."):]) if name.startswith("model.") else getattr(record, name)


def _field(record: GenerationRecord, name: str) -> Any:
    """The field as content compares it: tags in any order are the same tags."""
    value = _value(record, name)
    return sorted(value) if name == "tags" else value


def content_digest(record: GenerationRecord) -> bytes:
    """A short digest of each content field of ``record`` (every field but its locations), one after another.

    What an import keeps of the records it already took from the file, in
    place of the records: :func:`same_content` compares any set of stated
    fields against it, a few hundred bytes a record however long its texts.
    """
    parts = []
    for name in _CONTENT:
        text = json.dumps(_field(record, name), sort_keys=True, ensure_ascii=True, default=str)
        parts.append(hashlib.blake2b(text.encode(), digest_size=_FIELD_DIGEST).digest())
    return b"".join(parts)


def same_content(incoming: GenerationRecord, known: GenerationRecord | bytes, given: frozenset = ALL_FIELDS) -> bool:
    """Whether everything ``incoming``'s line stated (``given``) agrees with ``known`` (a record or its digest)."""
    names = given - _LOCATIONS
    if isinstance(known, bytes):
        mine = content_digest(incoming)
        return all(mine[_SLOT[n] * _FIELD_DIGEST:(_SLOT[n] + 1) * _FIELD_DIGEST]
                   == known[_SLOT[n] * _FIELD_DIGEST:(_SLOT[n] + 1) * _FIELD_DIGEST] for n in names)
    return all(_field(incoming, name) == _field(known, name) for name in names)


def _new_id(record: GenerationRecord, given: frozenset) -> str:
    """The id a conflicting record is kept under: the same line gets the same one, so a re-import skips it."""
    content = {name: _value(record, name) for name in sorted(given - _LOCATIONS)}
    text = json.dumps([record.id, content], sort_keys=True, ensure_ascii=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _stopped(failure: HistoryError, result: ImportResult) -> HistoryWriteError:
    """The error an import stops with when saving failed: how far it got, and that trying again is safe."""
    stopped = f"{failure.message.rstrip('.')}. The import stopped after {result.imported} records."
    again = f"{failure.hint} Importing the same file again skips what is already there.".strip()
    return HistoryWriteError(stopped, again)


def _stored(store, ids: list[str]) -> dict[str, GenerationRecord]:
    """The records among ``ids`` already in the history (usually none: one id look-up)."""
    from desktop.core.history.store import ids_predicate

    existing = store.has_ids(ids) if ids else set()
    if not existing:
        return {}
    return {row["id"]: row_to_record(row) for row in store.scan(None, ids_predicate(sorted(existing))).to_pylist()}


def _save_labelled(store, records: Iterable[Labelled], result: ImportResult, cancel: CancelToken,
                   progress: ProgressCallback,
                   attach: Callable[[GenerationRecord], list[Path]] | None = None) -> None:
    """Save ``(where, record, given fields)`` triples in chunks, skipping duplicates; counts go to ``result``.

    Duplicates and id conflicts are settled first (see the module docstring):
    against the history one store look-up a chunk, against the file's earlier
    records their :func:`content_digest` (the records themselves are not
    kept).  ``attach`` then brings the new records' files in (the zip's
    images); if that fails (a full disk), the files brought in for the chunk
    are removed and the import stops with a :class:`HistoryWriteError`.
    Before a chunk reaches the writer it goes through the very conversion the
    writer commits (record to Arrow row); if that fails, the chunk is checked
    record by record and the ones that fail are counted as broken (``where``
    names their line), so one bad record never sinks the others.  A record
    that fails in the writer after passing that check failed for a storage
    reason (a full disk...): the import stops with that error once the
    chunk's other saves are settled, and the files attached for the records
    not saved are removed.
    """
    chunk: list[Labelled] = []
    seen: dict[str, bytes] = {}  # id -> content digest of the records of this file accepted so far
    renamed: dict[str, str] = {}  # id in the file -> the new id its record was kept under
    reported = [-1]

    def report() -> None:
        if result.read == reported[0]:
            return
        reported[0] = result.read
        total = result.total
        of = f" of {total}" if total is not None else ""
        progress(Progress(min(1.0, result.read / total) if total else None,
                          f"Read {result.read}{of} records, imported {result.imported}", result.read, total))

    def settle() -> list[tuple[str, GenerationRecord, bool]]:
        """The chunk's records to save, each with whether its id was replaced; duplicates counted.

        A record whose parent was kept under a new id points at that new id
        (parents come before their children in an export; a child read
        before its renamed parent keeps the old id).
        """
        known = _stored(store, [r.id for _, r, _ in chunk])
        fresh = []
        for where, r, given in chunk:
            if r.parent_id in renamed:
                r.parent_id = renamed[r.parent_id]
            other = known.get(r.id) or seen.get(r.id)
            if other is None:
                seen[r.id] = content_digest(r)
                fresh.append((where, r, False))
                continue
            if same_content(r, other, given):
                result.duplicates += 1
                continue
            new_id = _new_id(r, given)
            renamed.setdefault(r.id, new_id)
            if new_id in seen:
                result.duplicates += 1
                continue
            r.id = new_id
            seen[new_id] = content_digest(r)
            fresh.append((where, r, True))
        chunk.clear()
        # Kept as new records by an earlier import of the same lines: one look-up for the chunk's new ids.
        new_ids = [r.id for _, r, new in fresh if new]
        earlier = store.has_ids(new_ids) if new_ids else set()
        if earlier:
            result.duplicates += sum(1 for _, r, new in fresh if new and r.id in earlier)
            fresh = [(where, r, new) for where, r, new in fresh if not (new and r.id in earlier)]
        return fresh

    def flush() -> None:
        cancel.raise_if_cancelled()
        fresh = settle()
        new_ids = {r.id for _, r, new in fresh if new}
        good = _writable([(where, r) for where, r, _ in fresh], result)
        kept = {id(r) for r in good}
        for _, r, _ in fresh:  # a broken record is not kept: a later line may use its id
            if id(r) not in kept:
                seen.pop(r.id, None)
        made: dict[str, list[Path]] = {}
        try:
            for r in good:
                made[r.id] = attach(r) if attach is not None else []
        except BaseException as exc:  # none of the chunk is saved yet: none of its files stays
            _remove(path for files in made.values() for path in files)
            if isinstance(exc, OSError):
                raise _stopped(write_error(exc), result) from exc
            raise
        futures = [(r, store.save(r)) for r in good]
        failure = None
        for record, future in futures:
            try:
                future.result()
            except HistoryError as exc:
                failure = failure or exc
                _remove(made[record.id])
            else:
                result.imported += 1
                result.conflicts += record.id in new_ids
        if failure is not None:
            raise _stopped(failure, result) from failure
        report()

    for item in records:
        chunk.append(item)
        if len(chunk) >= CHUNK:
            flush()
    if chunk:
        flush()
    report()


def _writable(records: list[tuple[str, GenerationRecord]], result: ImportResult) -> list[GenerationRecord]:
    """The records that convert to the table's Arrow schema; the others are counted as broken."""
    if not records or _arrow_problem([r for _, r in records]) is None:
        return [r for _, r in records]
    good = []
    for where, record in records:
        problem = _arrow_problem([record])
        if problem is None:
            good.append(record)
        else:
            _note_broken(result, where, problem)
    return good


def _arrow_problem(records: list[GenerationRecord]) -> str | None:
    import pyarrow as pa

    from desktop.core.history.schema import arrow_schema, record_to_row

    schema = pa.schema([f for f in arrow_schema() if f.name != "vector"])  # vectors come from the embedder
    try:
        rows = []
        for record in records:
            row = record_to_row(record)
            del row["vector"]
            rows.append(row)
        pa.Table.from_pylist(rows, schema=schema)
    except (pa.ArrowException, ValueError, TypeError, OverflowError, AttributeError) as exc:
        return f"cannot be stored ({type(exc).__name__}: {str(exc)[:160]})"
    return None
