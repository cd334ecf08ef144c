"""Keyword, semantic and hybrid search over the history table.

* keyword: LanceDB's native full-text index on ``search_text`` (BM25).  The
  query is reduced to its words first, so quotes, ``*``, ``:``, brackets or
  SQL never reach a parser.
* semantic: cosine similarity of the query embedding, over the store's
  in-RAM copy of the vectors (:mod:`~desktop.core.history.vector_index`:
  exact on small tables, IVF partitions on large ones).
* hybrid (default): the keyword leg on a second thread while the vector leg
  runs, merged by :func:`~desktop.core.history.fusion.query_fusion`.

An empty query lists recent records.  Filters become a SQL prefilter
(:func:`~desktop.core.history.sql.build_where`); an unknown filter raises
:class:`~desktop.core.history.errors.InvalidFilter` naming the known ones.

:class:`HistorySearch` is the store's searcher: it owns the dataset snapshot
the legs share, the in-RAM vectors synchronised to it and the two search
threads.  It knows the table only by its folder, never the store.

Sorting by date shows the newest records that *match*, not the best ``limit``
hits re-ordered:

* keyword: every full-text match, newest first, then ``limit``.
* semantic / hybrid: a match is a record among the best
  ``max(limit * DATE_POOL_PER_RESULT, DATE_POOL_MIN)`` by relevance whose score
  is at least ``DATE_RELEVANCE_SHARE`` of the best score (cosine similarity,
  or the fused score for hybrid).  On the paraphrase evaluation's prompts a
  share of 0.6 keeps the wanted record for every query and about 7 of 848
  records per query.  Those matches are ordered newest first, then ``limit``.

Relevance floor: semantic and hybrid results scoring below
``SearchQuery.min_relevance`` (None: :func:`default_min_relevance` for the
table's embedding model; 0: no floor) are not listed, since every record has
*some* similarity to any query.  The result says which floor it applied and
how many of the ``limit`` best were hidden below it (``SearchResult.hidden``),
so a caller can offer them.  Keyword results are never cut: a full-text match
is a match (in hybrid too while the record has no vector yet).  For all-MiniLM-L6-v2 the floor is 0.28: on the paraphrase
evaluation (848 real prompts, 130 queries) the wanted prompt scored at least
0.297 (cosine) wherever semantic search put it in the top 5, and 0.288 over
all 245 queries of the four sets (fused, read on the similarity scale: :func:`~desktop.core.history.fusion.query_fusion`)
for hybrid, so no figure of ``bench/fusion_eval.py`` moves; queries
about nothing in the history ("quantum chromodynamics lattice") scored at most
0.195 (cosine).  The same floor tells the hybrid fusion which candidates
neither leg finds relevant (cosine and scaled BM25 both below it): they rank
last and score at most their better evidence, so the floor hides them.  Other models score on other scales: without a
measurement their default is no floor.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from desktop.core.history.errors import HistoryError
from desktop.core.history.fusion import query_fusion
from desktop.core.history.schema import row_to_record
from desktop.core.history.sql import FILTERS, build_where, parse_when, rowids_predicate
from desktop.core.history.vector_index import VectorIndex
from desktop.core.records import GenerationRecord

if TYPE_CHECKING:
    from desktop.core.history.embedder import Embedder

__all__ = ["FILTERS", "HistorySearch", "Hit", "SearchQuery", "SearchResult", "build_where", "image_missing",
           "make_snippet", "parse_when", "query_words"]

log = logging.getLogger(__name__)

MODES = ("hybrid", "keyword", "semantic")
SORTS = ("relevance", "date")
MAX_QUERY_CHARS = 2000
MAX_QUERY_WORDS = 64
CANDIDATES = 30
DATASET_MAX_AGE_S = 2.0
DATE_POOL_MIN = 500
DATE_POOL_PER_RESULT = 10
DATE_RELEVANCE_SHARE = 0.6
MIN_RELEVANCE = {"all-MiniLM-L6-v2": 0.28}  # measured per embedding model: see the module docstring
SNIPPET_CHARS = 180
RESULT_COLUMNS = [
    "id", "created_at", "session_id", "parent_id", "kind", "prompt", "negative_prompt", "system_prompt",
    "output_text", "image_path", "image_sha256", "thumbnail_path", "model_name", "model_file", "model_sha256",
    "model_quantization", "model_size", "model_files", "parameters_json", "seed", "timings_json", "device",
    "versions_json", "rating", "tags", "note", "origin", "embedded",
]


@dataclass
class SearchQuery:
    text: str = ""
    mode: str = "hybrid"
    filters: dict[str, Any] = field(default_factory=dict)
    sort: str = "relevance"  # relevance | date
    limit: int = 50
    vector: Any = None  # a precomputed query embedding (benchmarks); None: embed ``text``
    min_relevance: float | None = None  # semantic/hybrid floor; None: the model's default; 0: none


@dataclass
class Hit:
    record: GenerationRecord
    score: float
    snippet: str = ""
    highlights: list[tuple[int, int]] = field(default_factory=list)  # spans in snippet
    image_missing: bool = False


@dataclass
class SearchResult:
    hits: list[Hit]
    mode: str  # the mode actually used (hybrid falls back to keyword while the embedder loads)
    notice: str = ""
    embed_ms: float = 0.0
    search_ms: float = 0.0
    min_relevance: float = 0.0  # the floor applied (0: none, as for keyword results)
    hidden: int = 0  # results of the ``limit`` best that scored below the floor and are not listed


def default_min_relevance(embed_model: str) -> float:
    """The relevance floor measured for ``embed_model`` (0.0, no floor, for a model not measured)."""
    return MIN_RELEVANCE.get(embed_model, 0.0)


def _above(ranked: list[tuple[int, float]], floor: float,
           unjudged: set[int] | frozenset[int] = frozenset()) -> tuple[list[tuple[int, float]], int]:
    """The candidates scoring at least ``floor`` or ``unjudged`` (keyword matches not embedded yet: their
    meaning is unknown, so the floor cannot judge them), and how many were not (0: no floor)."""
    if floor <= 0:
        return ranked, 0
    kept = [item for item in ranked if item[1] >= floor or item[0] in unjudged]
    return kept, len(ranked) - len(kept)


def query_words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())[:MAX_QUERY_WORDS]


def make_snippet(record: GenerationRecord, words: list[str]) -> tuple[str, list[tuple[int, int]]]:
    """A short excerpt around the first match and the spans of every matched word in it."""
    sources = [record.prompt, record.output_text, record.negative_prompt, record.note]
    pattern = re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)), re.I) \
        if words else None
    text = record.prompt or record.output_text
    start = 0
    if pattern is not None:
        for source in sources:
            m = pattern.search(source or "")
            if m:
                text, start = source, max(0, m.start() - SNIPPET_CHARS // 3)
                break
    snippet = text[start:start + SNIPPET_CHARS].replace("\n", " ")
    prefix = "…" if start > 0 else ""
    suffix = "…" if start + SNIPPET_CHARS < len(text) else ""
    spans: list[tuple[int, int]] = []
    if pattern is not None:
        spans = [(m.start() + len(prefix), m.end() + len(prefix)) for m in pattern.finditer(snippet)]
    return prefix + snippet + suffix, spans


def image_missing(record: GenerationRecord) -> bool:
    """Whether an image record's file is gone from disk (shown as missing, never an error)."""
    return record.kind == "image" and bool(record.image_path) and not Path(record.image_path).exists()


def _hit(row: dict[str, Any], score: float, words: list[str]) -> Hit:
    record = row_to_record(row)
    snippet, spans = make_snippet(record, words)
    return Hit(record, float(score), snippet, spans, image_missing(record))



def _take(ds, rowids: list[int], columns: list[str]):
    """The rows ``rowids`` of snapshot ``ds`` (``columns`` plus ``_rowid``), in no particular order."""
    return ds.to_table(columns=columns, filter=rowids_predicate(rowids), with_row_id=True)


def _full_text(ds, words: list[str], where: str | None, columns: list[str], limit: int | None):
    """The full-text matches of ``words`` (non-empty) as a table of ``columns`` plus ``_rowid``, best first."""
    return ds.to_table(full_text_query={"query": " ".join(words), "columns": ["search_text"]},
                       columns=columns, filter=where, prefilter=bool(where), limit=limit, with_row_id=True)


def _keyword_leg(ds, words: list[str], where: str | None, k: int) -> list[tuple[int, float]]:
    """(row id, BM25 score) of the best full-text matches, best first."""
    if not words:
        return []
    table = _full_text(ds, words, where, ["_score"], k)
    return list(zip(table["_rowid"].to_pylist(), table["_score"].to_pylist()))


def _semantic_leg(vectors: VectorIndex, ds, vector, where: str | None, k: int) -> list[tuple[int, float]]:
    """(row id, cosine similarity) of the nearest embeddings, best first (``ds`` synchronised with
    ``vectors``)."""
    allowed = None
    if where:
        allowed = ds.to_table(columns=[], filter=where, with_row_id=True)["_rowid"].to_numpy()
    return vectors.search(vector, k, allowed)


def _rows_by_rowid(ds, rowids: list[int], columns: list[str] = RESULT_COLUMNS, pool=None) -> list[dict]:
    """Rows (every result column by default) for the chosen row ids, in the given order (same snapshot
    as the legs).

    Lance's take costs about 0.2 ms per column whatever the row count, so with
    a ``pool`` half of the columns are taken on another thread meanwhile.
    """
    if not rowids:
        return []
    if pool is None or len(columns) < 8:
        parts = [columns]
    else:
        parts = [columns[0::2], columns[1::2]]
    other = pool.submit(_take, ds, rowids, parts[1]) if len(parts) > 1 else None
    rows = _take(ds, rowids, parts[0]).to_pylist()
    by_rowid = {row.pop("_rowid"): row for row in rows}
    if other is not None:
        for row in other.result().to_pylist():
            by_rowid[row.pop("_rowid")].update(row)
    return [by_rowid[r] for r in rowids if r in by_rowid]


def _validate(query: SearchQuery) -> None:
    if query.mode not in MODES:
        raise HistoryError(f"Unknown search mode {query.mode!r}.", f"Use one of: {', '.join(MODES)}.")
    if query.sort not in SORTS:
        raise HistoryError(f"Unknown sort {query.sort!r}.", f"Use one of: {', '.join(SORTS)}.")
    if query.limit < 1:
        raise HistoryError(f"The result limit must be at least 1, not {query.limit}.")
    floor = query.min_relevance
    if floor is not None and (isinstance(floor, bool) or not isinstance(floor, (int, float))
                              or not 0.0 <= floor <= 1.0):
        raise HistoryError(f"The minimum relevance must be a number from 0 to 1, not {floor!r}.",
                           "Use 0 to list every result, or leave it unset for the default.")


class HistorySearch:
    """Searches one history table: owns its snapshot, the in-RAM vectors and the search threads.

    ``table_dir`` is the table's Lance folder; ``embedder()`` and
    ``embed_model()`` give the current query embedder and the model the
    table's vectors were made with (both change when the user switches
    embedders).  The store calls :meth:`changed` after every write and
    :meth:`close` when it closes.  Searches run on any thread.
    """

    def __init__(self, table_dir: Path, *, embedder: Callable[[], Embedder | None], embed_model: Callable[[], str],
                 ivf_min_rows: int) -> None:
        self.table_dir = table_dir
        self.vectors = VectorIndex(ivf_min_rows=ivf_min_rows)
        self._embedder = embedder
        self._embed_model = embed_model
        self._ds: Any = None  # cached LanceDataset snapshot; see dataset()
        self._ds_opened = 0.0
        self._lance_session = None
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self._refresh_queued = False
        self._closing = False

    # --- the snapshot ---------------------------------------------------------------
    def dataset(self):
        """A LanceDataset snapshot of the latest version.

        Cached: reopening costs a manifest read, and a search uses one snapshot
        for its keyword leg, vector leg and row fetch (row ids stay valid).  The
        store drops the cache after every change (:meth:`changed`); it is also
        refreshed every few seconds to see writes by another process (the CLI).
        """
        ds = self._ds
        if ds is None or time.monotonic() - self._ds_opened > DATASET_MAX_AGE_S:
            import lance

            # One session for every snapshot: the index and metadata caches
            # survive reopening, so a refresh does not make the next query cold.
            ds = lance.dataset(str(self.table_dir), session=self._lance_session)
            if self._lance_session is None:
                self._lance_session = ds.session()
            self._ds, self._ds_opened = ds, time.monotonic()
        return ds

    def snapshot(self):
        """A dataset snapshot with the in-RAM vectors synchronised to it (row ids agree)."""
        ds = self.dataset()
        model = self._embed_model()
        if not self.vectors.sync(ds, model):  # the vectors already follow a newer version
            self._ds = None
            ds = self.dataset()
            self.vectors.sync(ds, model)
        return ds

    def changed(self) -> None:
        """The table changed (writer thread): the next search sees it; the vectors follow off-thread."""
        self._ds = None
        self.refresh_soon()

    def refresh_soon(self) -> None:
        """Bring the in-RAM vectors up to date off the caller's thread (after a write, at open)."""
        if self._refresh_queued or self._closing:
            return
        self._refresh_queued = True

        def refresh() -> None:
            self._refresh_queued = False
            try:
                self.snapshot()
            except Exception:  # the next search syncs (and reports) by itself
                log.debug("history: vector refresh failed", exc_info=True)

        try:
            self.pool().submit(refresh)
        except RuntimeError:  # pool shut down while closing
            self._refresh_queued = False

    def pool(self) -> ThreadPoolExecutor:
        """Two threads so hybrid search runs its keyword and vector halves at once."""
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(2, thread_name_prefix="genlab-history-search")
            return self._pool

    def close(self) -> None:
        self._closing = True
        self.vectors.close()
        if self._pool is not None:
            self._pool.shutdown(wait=False)

    # --- searching --------------------------------------------------------------------
    def run(self, query: SearchQuery) -> SearchResult:
        """Run ``query``; raises HistoryError (InvalidFilter for filters) naming what was wrong."""
        _validate(query)
        where = build_where(query.filters)
        notice = ""
        text = query.text.strip()
        if len(text) > MAX_QUERY_CHARS:
            text = text[:MAX_QUERY_CHARS]
            notice = f"The query was shortened to its first {MAX_QUERY_CHARS} characters."
        started = time.perf_counter()
        if not text:
            hits = self._recent(where, query.limit)
            return SearchResult(hits, "recent", notice, 0.0, (time.perf_counter() - started) * 1000)
        words = query_words(text)
        mode = query.mode
        vector = None
        embed_ms = 0.0
        if mode in ("semantic", "hybrid"):
            embedder = self._embedder()
            if query.vector is not None:
                vector = query.vector
            elif embedder is not None and embedder.ready:
                t0 = time.perf_counter()
                vector = embedder.encode([text])[0]
                embed_ms = (time.perf_counter() - t0) * 1000
            elif mode == "semantic":
                reason = getattr(embedder, "error", None)
                raise HistoryError("Semantic search is not available yet: "
                                   + (str(reason) if reason else "the embedding model is still loading."),
                                   "Use keyword search meanwhile.")
            else:
                mode = "keyword"
                notice = (notice + " " if notice else "") + "Semantic search is still loading; showing keyword matches."
        t0 = time.perf_counter()
        ds = self.dataset() if mode == "keyword" else self.snapshot()
        if mode == "keyword" and not words:
            notice = (notice + " " if notice else "") + "The query has no words to search for."
        floor = 0.0
        if mode != "keyword":
            floor = default_min_relevance(self._embed_model()) if query.min_relevance is None \
                else float(query.min_relevance)
        hidden = 0
        if query.sort == "date":
            ranked, hidden = self._newest_matches(ds, mode, vector, words, where, query.limit, floor)
        elif mode == "keyword":
            ranked = _keyword_leg(ds, words, where, query.limit)
        elif mode == "semantic":
            ranked, hidden = _above(_semantic_leg(self.vectors, ds, vector, where, query.limit), floor)
        else:
            ranked, unjudged = self._hybrid(ds, vector, words, where, max(CANDIDATES, query.limit))
            ranked, hidden = _above(ranked[:query.limit], floor, unjudged)
        rows = _rows_by_rowid(ds, [r for r, _ in ranked], pool=self.pool())
        hits = [_hit(row, score, words) for row, (_, score) in zip(rows, ranked)]
        if len(rows) != len(ranked):  # cannot happen with one snapshot; be loud if it does
            raise HistoryError("The history changed during the search.", "Search again.")
        search_ms = (time.perf_counter() - t0) * 1000
        return SearchResult(hits, mode, notice.strip(), embed_ms, search_ms, floor, hidden)

    def _recent(self, where: str | None, limit: int) -> list[Hit]:
        import pyarrow.compute as pc

        ds = self.dataset()
        table = ds.to_table(columns=["created_at"], filter=where, with_row_id=True)
        if table.num_rows == 0:
            return []
        order = pc.sort_indices(table, sort_keys=[("created_at", "descending")])[:limit]
        rowids = pc.take(table["_rowid"], order).to_pylist()
        return [_hit(r, 0.0, []) for r in _rows_by_rowid(ds, rowids, pool=self.pool())]

    def _newest_matches(self, ds, mode: str, vector, words: list[str], where: str | None, limit: int,
                        floor: float) -> tuple[list[tuple[int, float]], int]:
        """(row id, relevance score) of the newest matching records, newest first, and how many of the
        ``limit`` newest were hidden below ``floor`` (see the module docstring)."""
        import pyarrow.compute as pc

        if mode == "keyword":
            if not words:
                return [], 0
            table = _full_text(ds, words, where, ["_score", "created_at"], None)
            order = pc.sort_indices(table, sort_keys=[("created_at", "descending"), ("_score", "descending")])
            order = order[:limit]
            return list(zip(pc.take(table["_rowid"], order).to_pylist(),
                            pc.take(table["_score"], order).to_pylist())), 0
        pool = max(limit * DATE_POOL_PER_RESULT, DATE_POOL_MIN)
        unjudged: set[int] = set()
        if mode == "semantic":
            ranked = _semantic_leg(self.vectors, ds, vector, where, pool)
        else:
            ranked, unjudged = self._hybrid(ds, vector, words, where, pool)
        if not ranked:
            return [], 0
        best = ranked[0][1]
        share = best * DATE_RELEVANCE_SHARE if best > 0 else best
        matches = [(r, score) for r, score in ranked if score >= share]
        dates = _rows_by_rowid(ds, [r for r, _ in matches], ["created_at"])
        dated = sorted(zip(matches, (row["created_at"] for row in dates), strict=True),
                       key=lambda item: (item[1], item[0][1]), reverse=True)
        newest = [match for match, _when in dated[:limit]]
        kept = _above([match for match, _when in dated], floor, unjudged)[0][:limit]
        return kept, len(newest) - len(kept)

    def _hybrid(self, ds, vector, words: list[str], where: str | None,
                k: int) -> tuple[list[tuple[int, float]], set[int]]:
        """(row id, fused score) best first: both legs at once, then anchored fusion; and the keyword
        matches that have no vector yet."""
        kw_future = self.pool().submit(_keyword_leg, ds, words, where, k)
        semantic: dict[int, float | None] = dict(_semantic_leg(self.vectors, ds, vector, where, k))
        keyword = dict(kw_future.result())
        missing = [r for r in keyword if r not in semantic]
        if missing:  # exact similarity for keyword-only candidates; None: not embedded yet
            known = self.vectors.similarities(vector, missing)
            for r in missing:
                semantic[r] = known.get(r)
        fused = query_fusion(semantic, keyword, len(set(words)), ds.count_rows(),
                             evidence_floor=default_min_relevance(self._embed_model()))
        return fused, {r for r in missing if semantic[r] is None}

    # --- the legs alone (evaluations, benchmarks) ---------------------------------------
    def keyword_rows(self, words: list[str], where: str | None, k: int) -> list[dict]:
        """Keyword hits as dicts with ``id``, ``_score`` and ``vector`` (None if not embedded), best first."""
        ds = self.snapshot()
        ranked = _keyword_leg(ds, words, where, k)
        rows = _rows_by_rowid(ds, [r for r, _ in ranked], ["id", "vector", "embedded"])
        return [{"id": row["id"], "_score": score, "vector": row["vector"] if row["embedded"] else None}
                for row, (_, score) in zip(rows, ranked)]

    def semantic_rows(self, vector, where: str | None, k: int) -> list[dict]:
        """Semantic hits as dicts with ``id`` and ``_distance`` (cosine), nearest first."""
        ds = self.snapshot()
        ranked = _semantic_leg(self.vectors, ds, vector, where, k)
        rows = _rows_by_rowid(ds, [r for r, _ in ranked], ["id"])
        return [{"id": row["id"], "_distance": 1.0 - sim} for row, (_, sim) in zip(rows, ranked)]
