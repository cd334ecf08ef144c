"""One collection's chunks in one LanceDB table, and what they say about their files.

A row is a chunk: its text, where it is (file, page, heading, character
range), its embedding, and the state of its file when it was read (size,
modification time, sha256, how many chunks the file has).  The table is its
own manifest: a file is indexed exactly when its rows are there, so a batch
of whole files appended in one commit is all-or-nothing (a killed indexer
leaves no half file), and a changed file's old rows are deleted *before* its
new ones are added (a kill in between leaves it unindexed, to be read again).

Deleting rows is followed by :meth:`ChunkTable.purge`: files holding deleted
rows are rewritten, the full-text index rebuilt and every old version
removed, so a deleted document leaves nothing on disk (as in the history).
"""

from __future__ import annotations

import hashlib
import logging
import warnings
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from desktop.core.history.sql import sql_str
from desktop.core.history.tables import open_or_create

log = logging.getLogger(__name__)

TEXT_INDEX = "search_text_idx"
ROUTINE_CLEANUP_AGE = timedelta(minutes=2)  # versions a concurrent search may still read
DELETE_BATCH = 200
DATA_STORAGE_VERSION = "2.1"  # as the history: faster row fetches for a little more disk


def arrow_schema(dim: int):
    import pyarrow as pa

    return pa.schema([
        pa.field("chunk_id", pa.string(), nullable=False),
        pa.field("path", pa.string(), nullable=False),
        pa.field("ordinal", pa.int32()),
        pa.field("char_start", pa.int64()),
        pa.field("char_end", pa.int64()),
        pa.field("page", pa.int32()),
        pa.field("heading", pa.string()),  # " › "-joined heading path
        pa.field("location", pa.string()),
        pa.field("text", pa.string()),
        pa.field("search_text", pa.string()),  # heading path + text: what keywords and meaning match
        pa.field("vector", pa.list_(pa.float32(), dim)),
        pa.field("embedded", pa.bool_()),
        pa.field("embed_model", pa.string()),
        pa.field("file_size", pa.int64()),
        pa.field("file_mtime_ns", pa.int64()),
        pa.field("file_sha256", pa.string()),
        pa.field("file_chunks", pa.int32()),
    ])


def chunk_id(path: str, file_sha256: str, ordinal: int) -> str:
    """Stable while the file is unchanged, so a chat re-run finds the same chunks."""
    return hashlib.sha256(f"{path}\0{file_sha256}\0{ordinal}".encode()).hexdigest()[:24]


@dataclass(frozen=True)
class FileEntry:
    """A file as the table knows it."""

    size: int
    mtime_ns: int
    sha256: str
    embed_model: str
    chunks: int
    complete: bool  # every one of its chunks is there


def paths_predicate(paths: list[str]) -> str:
    return "path IN (" + ", ".join(sql_str(p) for p in paths) + ")"


class ChunkTable:
    """The chunks of one collection (see the module docstring); one writer at a time."""

    def __init__(self, db, name: str, dim: int) -> None:
        self.name = name
        self.dim = dim
        self._db = db
        self.table = open_or_create(db, name, arrow_schema(dim))
        if not any(i.name == TEXT_INDEX for i in self.table.list_indices()):
            self._create_text_index()

    @property
    def folder(self) -> Path:
        return Path(self.table.uri)

    def _create_text_index(self) -> None:
        from lancedb.index import FTS

        self.table.create_index("search_text", config=FTS(with_position=False), replace=True, name=TEXT_INDEX)

    def count(self) -> int:
        return self.table.count_rows()

    def manifest(self) -> dict[str, FileEntry]:
        columns = ["path", "file_size", "file_mtime_ns", "file_sha256", "embed_model", "file_chunks"]
        rows = self.table.to_lance().to_table(columns=columns).to_pylist()
        counts: dict[str, int] = {}
        first: dict[str, dict] = {}
        for row in rows:
            counts[row["path"]] = counts.get(row["path"], 0) + 1
            first.setdefault(row["path"], row)
        return {path: FileEntry(row["file_size"], row["file_mtime_ns"], row["file_sha256"], row["embed_model"],
                                row["file_chunks"], counts[path] == row["file_chunks"])
                for path, row in first.items()}

    def write(self, drop: list[str], rows: list[dict]) -> None:
        """Remove every chunk of the files ``drop``, then append ``rows`` (whole files) in one commit."""
        import pyarrow as pa

        for start in range(0, len(drop), DELETE_BATCH):
            self.table.delete(paths_predicate(drop[start:start + DELETE_BATCH]))
        if rows:
            self.table.add(pa.Table.from_pylist(rows, schema=arrow_schema(self.dim)))

    def touch(self, path: str, size: int, mtime_ns: int) -> None:
        """The file was saved again unchanged: remember its new size and time, so it is not hashed again."""
        self.table.update(where=f"path = {sql_str(path)}", values={"file_size": size, "file_mtime_ns": mtime_ns})

    def tidy(self) -> None:
        """After appends: fold new rows into the indexes, merge small files, drop versions no search reads."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.table.optimize(cleanup_older_than=ROUTINE_CLEANUP_AGE)

    def purge(self) -> None:
        """After deletes: rewrite the files holding deleted rows and drop every old version and index."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # compact_files is deprecated, but optimize() keeps fragments with
            # few deleted rows, and a deleted document must leave nothing behind.
            self.table.compact_files(materialize_deletions=True, materialize_deletions_threshold=0.0)
            self._create_text_index()  # the old index still lists the deleted rows' words
            self.table.optimize(cleanup_older_than=timedelta(0), delete_unverified=True)
