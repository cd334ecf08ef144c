"""Hybrid search over one collection's chunks, the same way the history searches its records.

The keyword leg is LanceDB's full-text index (BM25) on ``search_text``, the
semantic leg the history's in-RAM :class:`~desktop.core.history.vector_index.VectorIndex`
synchronised with the table snapshot, and the two are merged by the history's
:func:`~desktop.core.history.fusion.query_fusion`, which lets the more confident leg lead (on package
READMEs the keyword leg usually is; in hybrid mode it runs on a second thread while the vectors are
scored); both legs and the row
fetch use one snapshot, so row ids agree.  Without an embedder (or before any
chunk has a vector) search is keyword-only.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop.core.history.fusion import query_fusion
from desktop.core.history.search import default_min_relevance, query_words
from desktop.core.history.sql import rowids_predicate
from desktop.core.history.vector_index import VectorIndex

CANDIDATES = 30
MODES = ("hybrid", "keyword", "semantic")
HIT_COLUMNS = ["chunk_id", "path", "location", "page", "heading", "char_start", "char_end", "text"]
DATASET_MAX_AGE_S = 2.0  # see another process's writes (the CLI indexing while the app searches)


@dataclass(frozen=True)
class Hit:
    """One retrieved chunk.  For the ``history`` collection ``chunk_id`` is a record id and ``path`` is empty."""

    chunk_id: str
    collection: str
    path: str
    location: str
    char_start: int
    char_end: int
    score: float
    text: str
    page: int = 0
    heading: str = ""


class ChunkSearch:
    """Searches one chunk table by its folder; cheap to keep, thread-safe to call."""

    def __init__(self, collection: str, table_dir: Path) -> None:
        self.collection = collection
        self.table_dir = table_dir
        self.vectors = VectorIndex()
        self._ds: Any = None
        self._opened = 0.0
        self._executor: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    def dataset(self):
        import lance

        if self._ds is None or time.monotonic() - self._opened > DATASET_MAX_AGE_S:
            self._ds, self._opened = lance.dataset(str(self.table_dir)), time.monotonic()
        return self._ds

    def changed(self) -> None:
        self._ds = None

    def _pool(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(1, thread_name_prefix="genlab-knowledge-search")
            return self._executor

    def close(self) -> None:
        self.vectors.close()
        if self._executor is not None:
            self._executor.shutdown(wait=False)

    def search(self, text: str, limit: int, *, vector=None, mode: str = "hybrid", model: str = "") -> list[Hit]:
        """The ``limit`` best chunks for ``text`` (``vector``: its embedding, None for keyword only)."""
        ds = self.dataset()
        if not self.vectors.sync(ds, model):
            self._ds = None
            ds = self.dataset()
            self.vectors.sync(ds, model)
        words = query_words(text)
        k = max(CANDIDATES, limit)
        both = vector is not None and mode == "hybrid"
        keyword_leg = self._pool().submit(self._keyword, ds, words, k) if both else None  # beside the vectors
        keyword = dict(self._keyword(ds, words, k)) if mode != "semantic" and not both else {}
        semantic: dict[int, float | None] = {}
        if vector is not None and mode != "keyword":
            semantic = dict(self.vectors.search(vector, k))
            if keyword_leg is not None:
                keyword = dict(keyword_leg.result())
                missing = [r for r in keyword if r not in semantic]
                known = self.vectors.similarities(vector, missing) if missing else {}
                for r in missing:
                    semantic[r] = known.get(r)
        if mode == "keyword" or vector is None:
            ranked = sorted(keyword.items(), key=lambda kv: -kv[1])
        elif mode == "semantic":
            ranked = sorted(((r, s) for r, s in semantic.items() if s is not None), key=lambda kv: -kv[1])
        else:
            ranked = query_fusion(semantic, keyword, len(set(words)), ds.count_rows(),
                                  evidence_floor=default_min_relevance(model))
        return self.rows(ds, ranked[:limit])

    @staticmethod
    def _keyword(ds, words: list[str], k: int) -> list[tuple[int, float]]:
        if not words:
            return []
        table = ds.to_table(full_text_query={"query": " ".join(words), "columns": ["search_text"]},
                            columns=["_score"], limit=k, with_row_id=True)
        return list(zip(table["_rowid"].to_pylist(), table["_score"].to_pylist()))

    def rows(self, ds, ranked: list[tuple[int, float]]) -> list[Hit]:
        if not ranked:
            return []
        table = ds.to_table(columns=HIT_COLUMNS, filter=rowids_predicate([r for r, _ in ranked]), with_row_id=True)
        by_rowid = {row.pop("_rowid"): row for row in table.to_pylist()}
        return [self._hit(by_rowid[r], score) for r, score in ranked if r in by_rowid]

    def by_ids(self, ids: list[str]) -> list[Hit]:
        from desktop.core.history.sql import sql_str

        if not ids:
            return []
        where = "chunk_id IN (" + ", ".join(sql_str(i) for i in ids) + ")"
        found = {row["chunk_id"]: row for row in self.dataset().to_table(columns=HIT_COLUMNS, filter=where).to_pylist()}
        return [self._hit(found[i], 0.0) for i in ids if i in found]

    def _hit(self, row: dict, score: float) -> Hit:
        return Hit(row["chunk_id"], self.collection, row["path"], row["location"], row["char_start"],
                   row["char_end"], float(score), row["text"], row["page"] or 0, row["heading"] or "")
