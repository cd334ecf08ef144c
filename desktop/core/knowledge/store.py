"""Document collections: the one object the app, the CLI and chat use.

``Knowledge(root)`` opens ``<data root>/knowledge`` (the registry and one
LanceDB database, beside the history).  The public calls:

* :meth:`Knowledge.add` / :meth:`collections` / :meth:`delete`: the registry;
  deleting drops the collection's table folder, leaving nothing on disk.
* :meth:`Knowledge.index`: the job that brings a collection up to date (see
  :mod:`~desktop.core.knowledge.indexer`); one indexer per collection at a
  time, across processes.
* :meth:`Knowledge.search` ``(collection, query, limit) -> list[Hit]`` and
  :meth:`Knowledge.chunks` ``(collection, ids)``: what chat retrieves before a
  reply, and the same chunks again for a re-run.  The ``history`` collection
  searches the history store it was given.

Searches run on any thread; indexing runs on the caller's (a worker).
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from desktop.core import file_lock, paths
from desktop.core.jobs import CancelToken, JobCancelled, ProgressCallback, no_progress
from desktop.core.knowledge.documents import DEFAULT_MAX_FILE_BYTES
from desktop.core.knowledge.errors import KnowledgeError
from desktop.core.knowledge.indexer import BATCH_CHUNKS, IndexReport, index_collection
from desktop.core.knowledge.registry import HISTORY, Collection, Registry
from desktop.core.knowledge.search import MODES, ChunkSearch, Hit
from desktop.core.knowledge.table import DATA_STORAGE_VERSION, ChunkTable

if TYPE_CHECKING:
    from desktop.core.history.embedder import Embedder
    from desktop.core.history.store import HistoryStore
    from desktop.core.records import GenerationRecord

VECTOR_DIM = 384
MAX_QUERY_CHARS = 2000


class Knowledge:
    """See the module docstring.  ``embedder``: loaded or loading; None: keyword search only."""

    def __init__(self, root: Path | None = None, *, embedder: Embedder | None = None,
                 history: HistoryStore | None = None) -> None:
        os.environ.setdefault("LANCE_LOG", "error")
        import lancedb

        self.root = Path(root) if root is not None else paths.knowledge_dir()
        paths.ensure_writable_dir(self.root, "knowledge folder")
        self.embedder = embedder
        self.history = history
        self.registry = Registry(self.root)
        from datetime import timedelta

        # Every table handle sees the latest version: the CLI may index while the app searches.
        self._db = lancedb.connect(str(self.root / "lancedb"), read_consistency_interval=timedelta(0),
                                   storage_options={"new_table_data_storage_version": DATA_STORAGE_VERSION})
        self._searchers: dict[str, ChunkSearch] = {}
        self._lock = threading.Lock()

    # --- the registry ---------------------------------------------------------------
    def collections(self) -> list[Collection]:
        """Every collection, the history first; a collection whose folder vanished says so in its state."""
        found = self.registry.all()
        for c in found:
            c.state.missing_folders = [f for f in c.folders if not Path(f).is_dir()]
        return found

    def get(self, name: str) -> Collection:
        return self.registry.get(name)

    def add(self, name: str, folders: list[Path]) -> Collection:
        """Register a collection of ``folders`` (not indexed yet: call :meth:`index`)."""
        if not folders:
            raise KnowledgeError("A collection needs at least one folder.")
        absolute = []
        for folder in folders:
            folder = Path(folder).expanduser()
            if not folder.exists():
                raise KnowledgeError(f"The folder {folder} does not exist.", "Check the path and try again.")
            if not folder.is_dir():
                raise KnowledgeError(f"{folder} is a file, not a folder.", "Give the folder that holds it.")
            absolute.append(folder.resolve())
        return self.registry.add(name, list(dict.fromkeys(absolute)))

    def delete(self, name: str) -> None:
        """Forget a collection and remove its chunks, embeddings and indexes from disk (its documents stay)."""
        collection = self.registry.get(name)
        if collection.is_history:
            raise KnowledgeError("The history collection cannot be deleted here.",
                                 "Delete records with: genlab history delete")
        with self._index_lock(collection):
            self.registry.remove(collection.name)
            with self._lock:
                self._searchers.pop(collection.name, None)
            try:
                self._db.drop_table(collection.table)
            except (ValueError, FileNotFoundError):
                pass  # never indexed
            shutil.rmtree(self.root / "lancedb" / f"{collection.table}.lance", ignore_errors=True)

    # --- indexing -------------------------------------------------------------------
    def index(self, name: str, *, cancel: CancelToken | None = None, progress: ProgressCallback = no_progress,
              max_file_bytes: int = DEFAULT_MAX_FILE_BYTES, batch_chunks: int = BATCH_CHUNKS) -> IndexReport:
        """Index what changed in ``name`` since the last run; raises JobCancelled when stopped.

        ``batch_chunks``: chunks per commit (smaller: less to redo after a kill, more versions).
        """
        collection = self.registry.get(name)
        if collection.is_history:
            raise KnowledgeError("The history collection is indexed as records are saved.",
                                 "Embed the backlog with: genlab history embed")
        cancel = cancel or CancelToken()
        embedder = self._ready_embedder()
        with self._index_lock(collection):
            table = self._table(collection)
            try:
                report = index_collection(table, collection.folders, embedder=embedder, cancel=cancel,
                                          progress=progress, max_file_bytes=max_file_bytes,
                                          batch_chunks=batch_chunks)
            except JobCancelled:
                self.registry.save_state(collection.name, IndexReport(chunks_total=table.count()).state(False))
                raise
            finally:
                self._searcher(collection).changed()
            self.registry.save_state(collection.name, report.state(True))
        return report

    def _ready_embedder(self) -> Embedder | None:
        if self.embedder is None:
            return None
        if not self.embedder.wait_ready():
            raise KnowledgeError(f"The embedding model cannot be loaded: {self.embedder.error}",
                                 "Reinstall it from the Models workspace.")
        return self.embedder

    def _index_lock(self, collection: Collection):
        import contextlib

        attempt = file_lock.try_lock(self.root / "locks" / f"{collection.table}.lock", exclusive=True, wait=0)
        if attempt.outcome is file_lock.Outcome.BUSY:
            raise KnowledgeError(f"The collection {collection.name!r} is being indexed by another GenLab.",
                                 "Wait for it to finish, or stop it there.")
        lock = attempt.lock

        @contextlib.contextmanager
        def held():
            try:
                yield
            finally:
                if lock is not None:
                    lock.release(remove=True)

        return held()

    def _table(self, collection: Collection) -> ChunkTable:
        try:
            return ChunkTable(self._db, collection.table, VECTOR_DIM)
        except OSError as exc:
            raise KnowledgeError(f"The chunks of {collection.name!r} cannot be stored in {self.root}: {exc}.",
                                 f"Choose a data folder you can write to ({paths.ENV_HOME}).") from exc

    def _searcher(self, collection: Collection) -> ChunkSearch:
        with self._lock:
            found = self._searchers.get(collection.name)
            if found is None:
                found = self._searchers[collection.name] = ChunkSearch(
                    collection.name, self.root / "lancedb" / f"{collection.table}.lance")
            return found

    # --- searching ------------------------------------------------------------------
    def search(self, collection: str, query: str, limit: int = 5, *, mode: str = "hybrid") -> list[Hit]:
        """The ``limit`` chunks of ``collection`` that best match ``query``, best first."""
        if mode not in MODES:
            raise KnowledgeError(f"Unknown search mode {mode!r}.", f"Use one of: {', '.join(MODES)}.")
        if limit < 1:
            raise KnowledgeError(f"The number of chunks must be at least 1, not {limit}.")
        found = self.registry.get(collection)
        text = query.strip()[:MAX_QUERY_CHARS]
        if not text:
            raise KnowledgeError("The query is empty.", "Say what to look for.")
        if found.is_history:
            return self._search_history(text, limit, mode)
        if not (self.root / "lancedb" / f"{found.table}.lance").is_dir():
            raise KnowledgeError(f"The collection {found.name!r} has not been indexed yet.",
                                 f"Index it with: genlab knowledge reindex {found.name}")
        vector = None
        model = ""
        if mode != "keyword" and self.embedder is not None:
            if mode == "semantic":
                self._ready_embedder()
            if self.embedder.ready:
                vector, model = self.embedder.encode([text])[0], self.embedder.name
        if mode == "semantic" and vector is None:
            raise KnowledgeError("Semantic search needs the embedding model.", "Use keyword or hybrid search.")
        return self._searcher(found).search(text, limit, vector=vector, mode=mode, model=model)

    def chunks(self, collection: str, ids: list[str]) -> list[Hit]:
        """The chunks with these ids, in that order (ids no longer there are left out; score 0)."""
        found = self.registry.get(collection)
        if found.is_history:
            return [self._history_hit(record, 0.0) for record in self._history_records(ids)]
        if not (self.root / "lancedb" / f"{found.table}.lance").is_dir():
            return []
        return self._searcher(found).by_ids(ids)

    def _search_history(self, text: str, limit: int, mode: str) -> list[Hit]:
        from desktop.core.history.search import SearchQuery

        if self.history is None:
            raise KnowledgeError("The history is not open.", "Open it before searching it as a collection.")
        result = self.history.search(SearchQuery(text, mode=mode, limit=limit))
        return [self._history_hit(h.record, h.score) for h in result.hits]

    def _history_records(self, ids: list[str]):
        from desktop.core.history.errors import RecordNotFound

        if self.history is None:
            raise KnowledgeError("The history is not open.", "Open it before reading it as a collection.")
        for record_id in ids:
            try:
                yield self.history.get(record_id)
            except RecordNotFound:
                continue

    @staticmethod
    def _history_hit(record: GenerationRecord, score: float) -> Hit:
        text = record.prompt if not record.output_text else f"{record.prompt}\n\n{record.output_text}"
        when = record.created_at.strftime("%Y-%m-%d %H:%M") if record.created_at else ""
        location = " · ".join(p for p in (when, record.model.name) if p)
        return Hit(record.id, HISTORY, "", location, 0, len(text), float(score), text)

    def close(self) -> None:
        with self._lock:
            for searcher in self._searchers.values():
                searcher.close()
            self._searchers.clear()
