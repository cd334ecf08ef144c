"""Indexing a collection: read, chunk, embed and store its changed files.

:func:`index_collection` is a plain job function (a cancel token, a progress
callback; the ui runs it on a worker thread).  Each run compares the folders
with the table's manifest: a file whose size and modification time are as
recorded is skipped unread; otherwise it is hashed, and only a file whose
content changed (or that was embedded by another model) is read again.  Files
gone from a folder that still exists lose their chunks; a folder that
disappeared keeps its chunks and is reported missing (a disconnected drive
is not a deletion).

Chunks are embedded and written in batches of whole files (see
:mod:`~desktop.core.knowledge.table`), so a run stopped by Cancel, a quit or
``kill -9`` resumes where it was: what was committed stays, the rest is
read again.  Every file that cannot be used is listed with the reason
(:class:`~desktop.core.knowledge.registry.Problem`); none stops the run.
Without an embedder the chunks are stored for keyword search only and get
their vectors on the first run that has one.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from desktop.core.jobs import CancelToken, JobCancelled, Progress, ProgressCallback, no_progress
from desktop.core.knowledge.chunking import Chunk, chunk_document
from desktop.core.knowledge.documents import DEFAULT_MAX_FILE_BYTES, read_bytes, read_document
from desktop.core.knowledge.errors import Unreadable
from desktop.core.knowledge.registry import IndexState, Problem
from desktop.core.knowledge.scan import scan_folders
from desktop.core.knowledge.table import ChunkTable, FileEntry, chunk_id

if TYPE_CHECKING:
    from desktop.core.history.embedder import Embedder

log = logging.getLogger(__name__)

BATCH_CHUNKS = 256  # chunks per commit: few LanceDB versions, little lost to a kill
EMBED_BATCH = 32  # texts per encode call: a cancel waits for one such call at most


@dataclass(frozen=True)
class IndexProgress:
    """The payload of the progress reports."""

    files_done: int
    files_total: int  # files to read this run (unchanged ones are not counted)
    chunks_written: int
    eta_s: float | None  # None until there is something to extrapolate from
    current: str = ""  # the file being read


@dataclass
class IndexReport:
    files: int = 0  # supported files found
    read: int = 0  # files (re)indexed this run
    unchanged: int = 0
    removed: int = 0  # files whose chunks were deleted (gone from their folder)
    chunks_written: int = 0
    chunks_total: int = 0
    seconds: float = 0.0
    missing_folders: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    unsupported: dict[str, int] = field(default_factory=dict)  # suffix -> files of that type passed over

    def state(self, complete: bool) -> IndexState:
        return IndexState(datetime.now(timezone.utc).isoformat(timespec="seconds"), self.files, self.chunks_total,
                          complete, list(self.missing_folders), list(self.problems))


@dataclass
class _Pending:
    """Files read and chunked, waiting to be embedded and written together."""

    drop: list[str] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)
    files: int = 0


def index_collection(table: ChunkTable, folders: list[str], *, embedder: Embedder | None,
                     cancel: CancelToken, progress: ProgressCallback = no_progress,
                     max_file_bytes: int = DEFAULT_MAX_FILE_BYTES, batch_chunks: int = BATCH_CHUNKS) -> IndexReport:
    """Bring ``table`` up to date with ``folders``; raises JobCancelled (what was written stays)."""
    started = time.monotonic()
    report = IndexReport()
    model = embedder.name if embedder is not None else ""
    progress(Progress(None, "Looking for documents…"))
    scan = scan_folders(folders)
    report.missing_folders, report.problems = scan.missing_folders, list(scan.problems)
    report.unsupported = dict(scan.unsupported)
    report.files = len(scan.files)
    manifest = table.manifest()
    cancel.raise_if_cancelled()

    todo: list[tuple[Path, int, int]] = []
    for path in scan.files:
        try:
            st = path.stat()
        except OSError:
            report.problems.append(Problem(str(path), "It disappeared while being indexed."))
            continue
        known = manifest.get(str(path))
        if known is not None and known.complete and known.embed_model == model \
                and (known.size, known.mtime_ns) == (st.st_size, st.st_mtime_ns):
            report.unchanged += 1
        else:
            todo.append((path, st.st_size, st.st_mtime_ns))

    found = {str(p) for p in scan.files}
    present = [f for f in folders if f not in scan.missing_folders]
    gone = [p for p in manifest if p not in found and any(_inside(p, f) for f in present)]
    problem_paths = {p.path for p in report.problems}
    gone += [p for p in manifest if p in problem_paths and p not in gone]  # a vanished file's old chunks go too
    changed_anything = False
    if gone:
        table.write(gone, [])
        report.removed, changed_anything = len(gone), True

    total_bytes = sum(size for _, size, _ in todo) or 1
    done_bytes = 0
    work_started = time.monotonic()
    pending = _Pending()

    def report_progress(done: int, current: str) -> None:
        elapsed = time.monotonic() - work_started
        eta = elapsed / done_bytes * (total_bytes - done_bytes) if done_bytes and elapsed > 0 else None
        payload = IndexProgress(done, len(todo), report.chunks_written, eta, current)
        left = f", about {eta:.0f} s left" if eta is not None and done < len(todo) else ""
        progress(Progress(done / len(todo) if todo else 1.0,
                          f"Indexed {done} of {len(todo)} files, {report.chunks_written} chunks{left}", done,
                          len(todo), payload))

    try:
        for done, (path, size, mtime_ns) in enumerate(todo):
            cancel.raise_if_cancelled()
            report_progress(done, str(path))
            known = manifest.get(str(path))
            outcome = _read_one(path, size, mtime_ns, known, model, max_file_bytes)
            done_bytes += size
            if isinstance(outcome, Problem):
                report.problems.append(outcome)
                if known is not None:
                    pending.drop.append(str(path))
            elif outcome is None:  # same content, saved again: just remember the new time
                table.touch(str(path), size, mtime_ns)
                report.unchanged += 1
            else:
                if known is not None:
                    pending.drop.append(str(path))
                pending.rows += outcome
                pending.files += 1
            if len(pending.rows) >= batch_chunks:
                _flush(table, pending, embedder, cancel, report)
                changed_anything = True
                pending = _Pending()
        if pending.rows or pending.drop:
            _flush(table, pending, embedder, cancel, report)
            changed_anything = True
        report_progress(len(todo), "")
    except JobCancelled:
        if changed_anything:
            _upkeep(table, replaced=bool(gone) or any(manifest.get(str(p)) for p, _, _ in todo))
        raise
    if changed_anything:
        _upkeep(table, replaced=bool(gone) or any(manifest.get(str(p)) for p, _, _ in todo))
    report.chunks_total = table.count()
    report.seconds = time.monotonic() - started
    return report


def _upkeep(table: ChunkTable, *, replaced: bool) -> None:
    if replaced:
        table.purge()  # old chunks of changed or deleted files must not linger in old versions
    else:
        table.tidy()


def _inside(path: str, folder: str) -> bool:
    try:
        return Path(path).is_relative_to(folder)
    except ValueError:
        return False


def _read_one(path: Path, size: int, mtime_ns: int, known: FileEntry | None, model: str,
              max_file_bytes: int) -> list[dict] | Problem | None:
    """The rows of one file, a Problem, or None when its content is what the table holds."""
    try:
        data = read_bytes(path, max_file_bytes)
        sha = hashlib.sha256(data).hexdigest()
        if known is not None and known.complete and known.sha256 == sha and known.embed_model == model:
            return None
        chunks = chunk_document(read_document(path, data, max_bytes=max_file_bytes))
    except Unreadable as exc:
        return Problem(str(path), exc.reason)
    except Exception as exc:  # a reader's bug or a file no reader foresaw: list it, index the rest
        log.warning("knowledge: %s could not be read", path, exc_info=True)
        return Problem(str(path), f"It could not be read ({exc.__class__.__name__}: {str(exc)[:120]}).")
    if not chunks:
        return Problem(str(path), "It holds no text.")
    return [_row(str(path), i, c, len(chunks), len(data), mtime_ns, sha) for i, c in enumerate(chunks)]


def _row(path: str, ordinal: int, chunk: Chunk, count: int, size: int, mtime_ns: int, sha: str) -> dict:
    heading = " › ".join(h for h in chunk.heading if h)
    return {
        "chunk_id": chunk_id(path, sha, ordinal), "path": path, "ordinal": ordinal,
        "char_start": chunk.start, "char_end": chunk.end, "page": chunk.page, "heading": heading,
        "location": chunk.location, "text": chunk.text,
        "search_text": f"{heading}\n{chunk.text}" if heading else chunk.text,
        "vector": None, "embedded": False, "embed_model": "",
        "file_size": size, "file_mtime_ns": mtime_ns, "file_sha256": sha, "file_chunks": count,
    }


def _flush(table: ChunkTable, pending: _Pending, embedder: Embedder | None, cancel: CancelToken,
           report: IndexReport) -> None:
    """Embed the pending rows (checking ``cancel`` between calls), then write them in one commit."""
    if embedder is not None and pending.rows:
        texts = [row["search_text"] for row in pending.rows]
        for start in range(0, len(texts), EMBED_BATCH):
            cancel.raise_if_cancelled()
            vectors = embedder.encode(texts[start:start + EMBED_BATCH], batch_size=EMBED_BATCH)
            for row, vector in zip(pending.rows[start:start + EMBED_BATCH], vectors):
                row.update(vector=vector.tolist(), embedded=True, embed_model=embedder.name)
    for row in pending.rows:
        if row["vector"] is None:
            row["vector"] = [0.0] * table.dim
    cancel.raise_if_cancelled()
    table.write(pending.drop, pending.rows)
    report.read += pending.files
    report.chunks_written += len(pending.rows)


__all__ = ["IndexProgress", "IndexReport", "JobCancelled", "index_collection"]
