"""The history store: every generation in one LanceDB table.

:class:`HistoryStore` is the app's :class:`~desktop.core.records.HistorySink`.
Writes go through one :class:`~desktop.core.history.writer.HistoryWriter`
thread; reads (search, get, export) run on any thread.  Images stay on disk;
the table holds their paths and hashes.

Lifecycle: ``HistoryStore(root)`` opens (creating or upgrading) the database;
``start_background_embedding()`` loads the embedder on a thread and then
embeds every record saved before it was ready (resumable: the ``embedded``
column says what is left); ``close()`` commits what is queued and stops.

Collaborators, wired in ``__init__``: ``embedding``
(:class:`~desktop.core.history.embedding_upkeep.EmbeddingUpkeep`: the embedder,
the backfill thread and the count of records without a vector) and
``searcher`` (:class:`~desktop.core.history.search.HistorySearch`: the
snapshot, the in-RAM vectors and the search threads).
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import Future
from datetime import timedelta
from pathlib import Path
from typing import Any, Iterator

from desktop.core import paths
from desktop.core.errors import DataRootError
from desktop.core.history import migrations
from desktop.core.history.durable import synced_to_disk
from desktop.core.history.embedder import Embedder
from desktop.core.history.embedding_upkeep import EmbeddingUpkeep
from desktop.core.history.errors import HistoryError, RecordNotFound
from desktop.core.history.schema import SCHEMA_VERSION, TABLE_NAME, arrow_schema, record_to_row, row_to_record
from desktop.core.history.search import HistorySearch, SearchQuery, SearchResult
from desktop.core.history.sql import ids_predicate, sql_str
from desktop.core.history.tables import open_or_create, table_names
from desktop.core.history.vector_index import IVF_MIN_ROWS
from desktop.core.history.writer import HistoryWriter
from desktop.core.jobs import CancelToken, ProgressCallback, no_progress
from desktop.core.records import GenerationRecord

log = logging.getLogger(__name__)

# From this many rows on, scalar indexes (built when idle) keep filters, id
# look-ups and deletes from scanning the table.  Vector search has its own
# in-RAM index (vector_index.py).
INDEX_MIN_ROWS = 5000
ROUTINE_CLEANUP_AGE = timedelta(minutes=2)
SCALAR_INDEXES = (("id", "btree"), ("created_at", "btree"), ("session_id", "btree"), ("model_name", "btree"),
                  ("kind", "bitmap"), ("origin", "bitmap"), ("rating", "bitmap"), ("embedded", "bitmap"),
                  ("tags", "labels"))


TEXT_INDEX = "search_text_idx"
# Lance file format for new tables: 2.1 fetches a search's result rows about
# twice as fast as 2.2 (3 vs 6 ms for 10 rows of 100k) for 5 % more disk.
DATA_STORAGE_VERSION = "2.1"


def create_text_index(table) -> None:
    from lancedb.index import FTS

    table.create_index("search_text", config=FTS(with_position=False), replace=True, name=TEXT_INDEX)


__all__ = ["HistoryStore", "open_history", "ids_predicate", "sql_str"]


class HistoryStore:
    """Saves, finds, updates, deletes and exports generation records."""

    def __init__(self, root: Path | None = None, *, embedder: Embedder | None = None,
                 idle_seconds: float = 5.0, index_min_rows: int = INDEX_MIN_ROWS,
                 ivf_min_rows: int = IVF_MIN_ROWS) -> None:
        os.environ.setdefault("LANCE_LOG", "error")  # lance's deprecation chatter is not for users
        import lancedb

        self.root = Path(root) if root is not None else paths.history_dir()
        self._prepare_root()
        meta = migrations.read_meta(self.root)
        if meta is not None:  # a newer GenLab's history is refused before anything is created in it
            migrations.check_version(meta, self.root)
        self.index_min_rows = index_min_rows
        self._db = lancedb.connect(str(self.root / "lancedb"), read_consistency_interval=timedelta(0),
                                   storage_options={"new_table_data_storage_version": DATA_STORAGE_VERSION})
        self.meta = self._open_meta(meta, embedder)
        self.table = self._open_table()
        self._error_listeners: list = []
        self._saved_listeners: list = []
        self._just_saved: list[GenerationRecord] = []  # committed, not yet reported to the saved listeners
        self.searcher = HistorySearch(self.table_dir, embedder=lambda: self.embedder,
                                      embed_model=lambda: self.meta.get("embed_model", ""),
                                      ivf_min_rows=ivf_min_rows)
        self._writer = HistoryWriter(self._append, self._maintain, idle_seconds=idle_seconds,
                                     on_change=self._after_change, on_error=self._report_write_error,
                                     guard=lambda: synced_to_disk(self.table_dir))
        self.embedding = EmbeddingUpkeep(self.table, self._writer.run, embedder,
                                         unembedded=self.table.count_rows("embedded = false"),
                                         on_model_switched=self._record_embed_model)
        if embedder is not None and self.meta.get("embed_model") != embedder.name:
            self._writer.run(lambda: self.embedding.mark_stale(embedder.name))
        self.searcher.refresh_soon()  # the first search should not wait for the vectors

    # --- opening ----------------------------------------------------------------
    def _prepare_root(self) -> None:
        paths.ensure_writable_dir(self.root, "history folder")
        if os.name == "posix":
            for folder in (self.root, self.root.parent):
                try:
                    os.chmod(folder, 0o700)  # the history is private to the user
                except OSError:
                    pass

    def _open_meta(self, meta: dict[str, Any] | None, embedder: Embedder | None) -> dict[str, Any]:
        """``meta`` as read before connecting (None: no meta.json yet), upgraded to the current schema."""
        if meta is None:
            if migrations.V1_TABLE in self._table_names():
                meta = {"schema_version": 1}  # schema 1 before meta.json existed
            else:
                meta = {"schema_version": SCHEMA_VERSION, "table": TABLE_NAME,
                        "embed_model": embedder.name if embedder else migrations.DEFAULT_EMBED_MODEL}
                migrations.write_meta(self.root, meta)
        return migrations.upgrade(self._db, self.root, meta)

    def _table_names(self) -> list[str]:
        return table_names(self._db)

    def _open_table(self):
        table = open_or_create(self._db, TABLE_NAME, arrow_schema())
        # The text index exists from the start: rows not yet indexed are then
        # searched with the same tokenizer (lower-casing, stemming) as indexed ones.
        if not any(i.name == TEXT_INDEX for i in table.list_indices()):
            create_text_index(table)
        return table

    # --- writing (HistorySink) ------------------------------------------------------
    def save(self, record: GenerationRecord) -> Future:
        """Queue ``record``; the returned future resolves once it is on disk."""
        return self._writer.save(record)

    def save_and_wait(self, record: GenerationRecord, timeout: float | None = 60.0) -> None:
        self.save(record).result(timeout)

    def save_many(self, records: list[GenerationRecord], timeout: float | None = None) -> None:
        futures = [self.save(r) for r in records]
        for f in futures:
            f.result(timeout)

    def save_embedded(self, records: list[GenerationRecord], vectors) -> None:
        """Append records whose vectors are already computed, in one commit (bulk loads, benchmarks)."""
        import pyarrow as pa

        model = self.embedder.name if self.embedder else migrations.DEFAULT_EMBED_MODEL
        rows = [record_to_row(r, vectors[i], model) for i, r in enumerate(records)]
        self._writer.run(lambda: self.table.add(pa.Table.from_pylist(rows, schema=arrow_schema())))

    def flush(self, timeout: float | None = None) -> None:
        self._writer.flush(timeout)

    def _append(self, records: list[GenerationRecord]) -> None:
        """Writer thread: one LanceDB append for a batch."""
        import pyarrow as pa

        vectors = self.embedding.vectors_for(records)
        model = self.embedder.name if self.embedder else ""
        rows = [record_to_row(r, None if vectors is None else vectors[i], model) for i, r in enumerate(records)]
        self.table.add(pa.Table.from_pylist(rows, schema=arrow_schema()))
        self._just_saved.extend(records)
        if vectors is None:
            self.embedding.saved_unembedded(len(rows))

    def update(self, record_id: str, *, rating: int | None = None, tags: list[str] | None = None,
               note: str | None = None) -> GenerationRecord:
        """Change the rating, tags or note of a record; returns the updated record."""
        record = self.get(record_id)
        if rating is not None:
            if not 0 <= int(rating) <= 5:
                raise HistoryError(f"A rating must be between 0 and 5, not {rating}.")
            record.rating = int(rating)
        if tags is not None:
            record.tags = sorted({t.strip() for t in tags if t.strip()})
        if note is not None:
            record.note = note
        import pyarrow as pa

        from desktop.core.history.schema import search_text_of

        schema = arrow_schema()
        values = {"id": record_id, "rating": record.rating, "tags": record.tags, "note": record.note,
                  "search_text": search_text_of(record)}
        # merge_insert rather than update(): SQL has no literal for an empty list of tags
        change = pa.table({k: pa.array([v], schema.field(k).type) for k, v in values.items()})
        self._writer.run(lambda: self.table.merge_insert("id").when_matched_update_all().execute(change))
        return record

    # --- reading ----------------------------------------------------------------
    def count(self, where: str | None = None) -> int:
        return self.table.count_rows(where) if where else self.table.count_rows()

    def get(self, record_id: str) -> GenerationRecord:
        rows = self.table.search().where(f"id = {sql_str(record_id)}").limit(1).to_list()
        if not rows:
            raise RecordNotFound(f"No history record has the id {record_id!r}.",
                                 "Search the history to find the record's id.")
        return row_to_record(rows[0])

    @property
    def table_dir(self) -> Path:
        return self.root / "lancedb" / f"{TABLE_NAME}.lance"

    def add_error_listener(self, listener) -> None:
        """Call ``listener(HistoryError)`` (on the writer thread) whenever a save fails, e.g. a full disk."""
        self._error_listeners.append(listener)

    def _report_write_error(self, error: HistoryError) -> None:
        for listener in list(self._error_listeners):
            try:
                listener(error)
            except Exception:  # a closed window must not stop the writer
                log.exception("history: error listener failed")

    def add_saved_listener(self, listener) -> None:
        """Call ``listener(list[GenerationRecord])`` (on the writer thread) after new records are committed
        and searchable: generations, re-runs, imports.  The History list refreshes by it."""
        self._saved_listeners.append(listener)

    def remove_saved_listener(self, listener) -> None:
        """Stop calling ``listener`` (added by :meth:`add_saved_listener`); a listener not added is ignored.
        A view that listens removes itself when it is destroyed, so a closed view is not kept alive."""
        try:
            self._saved_listeners.remove(listener)
        except ValueError:
            pass

    def _after_change(self) -> None:
        """Writer thread, after every change: searches see it; then the saved records are reported."""
        self.searcher.changed()
        saved, self._just_saved = self._just_saved, []
        for listener in list(self._saved_listeners) if saved else ():
            try:
                listener(saved)
            except Exception:  # a closed window must not stop the writer
                log.exception("history: saved listener failed")

    def scan(self, columns: list[str] | None = None, where: str | None = None):
        """A full (optionally filtered) read as a pyarrow Table, no row limit."""
        return self.table.to_lance().to_table(columns=columns, filter=where)

    def vector_of(self, record_id: str):
        rows = self.table.search().where(f"id = {sql_str(record_id)}").select(["vector", "embedded"]).to_list()
        return rows[0]["vector"] if rows and rows[0]["embedded"] else None

    def iter_records(self, where: str | None = None, batch: int = 1000) -> Iterator[GenerationRecord]:
        """Every record (optionally filtered), oldest first."""
        import pyarrow.compute as pc

        ids = self.scan(["id", "created_at"], where)
        order = pc.sort_indices(ids, sort_keys=[("created_at", "ascending")])
        all_ids = pc.take(ids["id"], order).to_pylist()
        for start in range(0, len(all_ids), batch):
            chunk = all_ids[start:start + batch]
            rows = {r["id"]: r for r in self.scan(None, ids_predicate(chunk)).to_pylist()}
            for i in chunk:
                if i in rows:
                    yield row_to_record(rows[i])

    def has_ids(self, ids: list[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            rows = self.scan(["id"], ids_predicate(chunk))
            found.update(rows["id"].to_pylist())
        return found

    def search(self, query: SearchQuery) -> SearchResult:
        """Run a :class:`~desktop.core.history.search.SearchQuery`."""
        return self.searcher.run(query)

    # --- embeddings (the embedding collaborator does the work) -------------------------
    @property
    def embedder(self) -> Embedder | None:
        return self.embedding.embedder

    @property
    def unembedded(self) -> int:
        return self.embedding.unembedded

    def start_background_embedding(self) -> None:
        """Load the embedder off-thread, then backfill records saved without vectors."""
        self.embedding.start()

    def switch_embedder(self, name: str) -> None:
        """Use another embedder (chosen in settings): every record is re-embedded in the background."""
        self.embedding.switch(name)

    def backfill(self, *, cancel: CancelToken, progress: ProgressCallback = no_progress,
                 max_records: int | None = None, max_seconds: float | None = None) -> int:
        """Embed records that have no vector yet; see :meth:`EmbeddingUpkeep.backfill`."""
        return self.embedding.backfill(cancel=cancel, progress=progress, max_records=max_records,
                                       max_seconds=max_seconds)

    def _record_embed_model(self, name: str) -> None:
        """Writer thread: the vectors are now made with ``name`` (meta.json says so)."""
        self.meta = dict(self.meta, embed_model=name)
        migrations.write_meta(self.root, self.meta)

    def stats(self) -> dict[str, Any]:
        t = self.table
        data_dir = self.root / "lancedb"
        size = sum(f.stat().st_size for f in data_dir.rglob("*") if f.is_file())
        return {
            "records": t.count_rows(),
            "text": t.count_rows("kind = 'text'"),
            "image": t.count_rows("kind = 'image'"),
            "imported": t.count_rows("origin = 'imported'"),
            "unembedded": t.count_rows("embedded = false"),
            "sessions": len(set(self.scan(["session_id"])["session_id"].to_pylist())),
            "version": t.version,
            "indices": sorted(i.name for i in t.list_indices()),
            "schema_version": self.meta["schema_version"],
            "embedder": self.embedder.name if self.embedder else "",
            "embedder_ready": bool(self.embedder and self.embedder.ready),
            "disk_bytes": size,
            "path": str(self.root),
        }

    # --- deleting ------------------------------------------------------------------
    def delete(self, ids: list[str] | None = None, *, session: str | None = None, everything: bool = False) -> int:
        """Delete records and every trace of them: rows, old versions, index entries, images."""
        if everything:
            where = "true"
        elif session is not None:
            where = f"session_id = {sql_str(session)}"
        elif ids:
            where = ids_predicate(list(ids))
        else:
            return 0
        return self._writer.run(lambda: self._delete_now(where))

    def _delete_now(self, where: str) -> int:
        victims = self.scan(["id", "image_path", "thumbnail_path", "embedded"], where).to_pylist()
        if not victims:
            return 0
        # Delete by id only: the predicate is stored in the transaction log.
        ids = [v["id"] for v in victims]
        for start in range(0, len(ids), 500):
            self.table.delete(ids_predicate(ids[start:start + 500]))
        self.embedding.deleted_unembedded(sum(1 for v in victims if not v["embedded"]))
        self._purge_old_data(rebuild_text_index=True)
        for v in victims:
            for key in ("image_path", "thumbnail_path"):
                self._remove_owned_file(v.get(key) or "")
        return len(victims)

    def _remove_owned_file(self, path_text: str) -> None:
        if not path_text:
            return
        path = Path(path_text)
        try:  # the data root's files, and an import's copies in a store kept elsewhere (tests, benchmarks)
            resolved = path.resolve()
            owned = any(resolved.is_relative_to(folder.resolve()) for folder in (paths.data_root(), self.root))
        except OSError:
            owned = False
        if owned:
            try:
                path.unlink(missing_ok=True)
            except OSError as exc:
                log.warning("history: could not delete %s: %s", path, exc)

    def _purge_old_data(self, rebuild_text_index: bool) -> None:
        """Rewrite files holding deleted rows and drop every old version."""
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # compact_files is deprecated, but optimize() keeps
            # fragments with few deleted rows; privacy needs every one rewritten.
            self.table.compact_files(materialize_deletions=True, materialize_deletions_threshold=0.0)
            if rebuild_text_index:  # old indexes still list the deleted rows' words and tags
                create_text_index(self.table)
                if any(i.name == "tags_idx" for i in self.table.list_indices()):
                    self._create_scalar_indexes()
            self.table.optimize(cleanup_older_than=timedelta(0), delete_unverified=True)

    # --- upkeep (writer thread) ---------------------------------------------------
    def _maintain(self) -> None:
        import warnings

        names = {i.name: i for i in self.table.list_indices()}
        rows = self.table.count_rows()
        if TEXT_INDEX not in names:
            create_text_index(self.table)
        if rows >= self.index_min_rows and not all(f"{c}_idx" in names for c, _ in SCALAR_INDEXES):
            self._create_scalar_indexes()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.table.optimize(cleanup_older_than=ROUTINE_CLEANUP_AGE)

    def _create_scalar_indexes(self) -> None:
        """Indexes that make filters, id look-ups and deletes cheap on a large table."""
        from lancedb.index import Bitmap, BTree, LabelList

        configs = {"btree": BTree(), "bitmap": Bitmap(), "labels": LabelList()}
        for column, kind in SCALAR_INDEXES:
            self.table.create_index(column, config=configs[kind], replace=True, name=f"{column}_idx")

    def maintain_now(self) -> None:
        """Run upkeep immediately (tests, benchmarks, before export)."""
        self._writer.run(self._maintain)

    # --- closing -------------------------------------------------------------------
    def close(self) -> None:
        self.searcher.close()
        self.embedding.close()
        self._writer.close()


def open_history(root: Path | None = None, *, embedder_name: str | None = None,
                 start_embedder: bool = True) -> HistoryStore:
    """Open the app's history (call off the GUI thread); embedding starts in the background."""
    if embedder_name is None:
        from desktop.core.settings import load_settings

        embedder_name = load_settings()[0].history.embedder
    try:
        store = HistoryStore(root, embedder=Embedder(embedder_name))
    except DataRootError:
        raise
    if start_embedder:
        store.start_background_embedding()
    return store
