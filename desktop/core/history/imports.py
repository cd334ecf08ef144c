"""Import a history export (JSONL, zip with images, or Parquet) and save its records.

:func:`import_history` reads the file with the readers of
:mod:`desktop.core.history.readers` and saves what they yield in chunks;
:func:`save_records` saves records built in code the same way.  A broken line
or row is skipped and counted; the rest is imported.

Duplicates: a record without an id gets one derived from its content, so
importing the same file twice adds nothing.  A record whose id is already in
the history (or earlier in the file) is an exact duplicate, and skipped, when
everything the line states agrees with the record there (``origin`` and the
image file locations aside: an import marks the one and moves the others; see
:mod:`desktop.core.history.digest`).  When the content differs it is kept as
a new record under a new id derived from the old id and the content (so
importing that file again skips it), and counted in ``conflicts``: an import
never overwrites a record.

Progress reports say how many records were read of how many (lines counted
first, or the Parquet row count).  Imported records are marked ``origin =
"imported"``; they are embedded as they are saved, or afterwards by
:func:`desktop.core.history.import_job.import_and_embed` when the embedder is
not ready yet.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import zipfile
from pathlib import Path
from typing import Callable, Iterable

from desktop.core.history.digest import conflict_id, content_digest, same_content
from desktop.core.history.errors import HistoryError, HistoryWriteError, ImportFormatError
from desktop.core.history.export import JSONL_NAME
from desktop.core.history.fields import ALL_FIELDS
from desktop.core.history.readers import (
    CHUNK,
    ImportResult,
    Labelled,
    count_lines,
    jsonl_records,
    note_broken,
    parquet_records,
    parquet_rows,
    sniff,
)
from desktop.core.history.schema import row_to_record
from desktop.core.history.sql import ids_predicate
from desktop.core.history.writer import write_error
from desktop.core.jobs import CancelToken, Progress, ProgressCallback, no_progress
from desktop.core.records import GenerationRecord


def import_history(store, path: Path, *, cancel: CancelToken | None = None,
                   progress: ProgressCallback = no_progress) -> ImportResult:
    """Import a JSONL, zip or Parquet export into ``store``; progress counts records read of the file's total."""
    cancel = cancel or CancelToken()
    path = Path(path)
    if not path.is_file():
        raise ImportFormatError(f"The import file {path} does not exist.", "Check the path.")
    result = ImportResult()
    kind = sniff(path)
    if kind == "parquet":
        result.total = parquet_rows(path)
        _save_labelled(store, parquet_records(path, result), result, cancel, progress)
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
            result.total = count_lines(lines)
            _save_labelled(store, jsonl_records(lines, result), result, cancel, progress,
                           attach=lambda record: _attach_images(record, zf, names, Path(store.root) / "images"))
    else:
        with open(path, encoding="utf-8", errors="replace") as fh:
            result.total = count_lines(fh)
        with open(path, encoding="utf-8", errors="replace") as fh:
            _save_labelled(store, jsonl_records(fh, result), result, cancel, progress)
    return result


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


def _stopped(failure: HistoryError, result: ImportResult) -> HistoryWriteError:
    """The error an import stops with when saving failed: how far it got, and that trying again is safe."""
    stopped = f"{failure.message.rstrip('.')}. The import stopped after {result.imported} records."
    again = f"{failure.hint} Importing the same file again skips what is already there.".strip()
    return HistoryWriteError(stopped, again)


def _stored(store, ids: list[str]) -> dict[str, GenerationRecord]:
    """The records among ``ids`` already in the history (usually none: one id look-up)."""
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
            new_id = conflict_id(r, given)
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
            note_broken(result, where, problem)
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
