"""Keyword, semantic and hybrid search over the history table.

* keyword: LanceDB's native full-text index on ``search_text`` (BM25).  The
  query is reduced to its words first, so quotes, ``*``, ``:``, brackets or
  SQL never reach a parser.
* semantic: cosine similarity of the query embedding, over the store's
  in-RAM copy of the vectors (:mod:`~desktop.core.history.vector_index`:
  exact on small tables, IVF partitions on large ones).
* hybrid (default): the keyword leg on a second thread while the vector leg
  runs, merged by :func:`~desktop.core.history.fusion.anchored_fusion`.

An empty query lists recent records.  Filters become a SQL prefilter; an
unknown filter raises :class:`InvalidFilter` naming the known ones.  Dates
without a time zone are local time.

Sorting by date shows the newest records that *match*, not the best ``limit``
hits re-ordered:

* keyword: every full-text match, newest first, then ``limit``.
* semantic / hybrid: a match is a record among the best
  ``max(limit * DATE_POOL_PER_RESULT, DATE_POOL_MIN)`` by relevance whose score
  is at least ``DATE_RELEVANCE_SHARE`` of the best score (cosine similarity,
  or the fused score for hybrid).  On the paraphrase evaluation's prompts a
  share of 0.6 keeps the wanted record for every query and about 7 of 848
  records per query.  Those matches are ordered newest first, then ``limit``.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from datetime import time as dtime
from pathlib import Path
from typing import Any

from desktop.core.history.errors import HistoryError, InvalidFilter
from desktop.core.history.fusion import anchored_fusion
from desktop.core.history.schema import row_to_record
from desktop.core.history.store import sql_str
from desktop.core.records import GenerationRecord

MODES = ("hybrid", "keyword", "semantic")
SORTS = ("relevance", "date")
FILTERS = ("kind", "model", "date_from", "date_to", "rating", "tag", "session", "origin")
MAX_QUERY_CHARS = 2000
MAX_QUERY_WORDS = 64
CANDIDATES = 30
DATE_POOL_MIN = 500
DATE_POOL_PER_RESULT = 10
DATE_RELEVANCE_SHARE = 0.6
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


def query_words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())[:MAX_QUERY_WORDS]


def parse_when(value: Any, *, end_of_day: bool = False, name: str = "date") -> datetime:
    """A filter date as an aware UTC datetime.

    ``value`` is a date, a datetime, or text: YYYY-MM-DD or an ISO date-time.
    Without a time zone it is local time.  A bare date means the start of that
    day, or its end with ``end_of_day`` (an inclusive "until").  ``name`` is
    how the error message calls the value (a filter or a CLI option).
    """
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime.combine(value, dtime.max if end_of_day else dtime.min)
    else:
        text = str(value).strip()
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            raise InvalidFilter(f"The {name} {value!r} is not a date.",
                                "Use YYYY-MM-DD or an ISO date-time such as 2026-05-02T14:30.") from None
        if end_of_day and len(text) <= 10:
            dt = datetime.combine(dt.date(), dtime.max)
    return dt.astimezone(timezone.utc)  # a naive value is taken as local time


def _model_condition(value: str) -> str:
    """A model filter matches the name, the file, or the sha256 (whole or a prefix of 4+ hex digits)."""
    v = sql_str(value)
    condition = f"model_name = {v} OR model_file = {v} OR model_sha256 = {v}"
    prefix = value.strip().lower()
    if re.fullmatch(r"[0-9a-f]{4,63}", prefix):  # hex only: nothing for LIKE to interpret
        condition += f" OR model_sha256 LIKE '{prefix}%'"
    return f"({condition})"


def build_where(filters: dict[str, Any]) -> str | None:
    """SQL for the filters; raises InvalidFilter for unknown fields or bad values."""
    parts: list[str] = []
    bounds: dict[str, datetime] = {}
    for key, value in filters.items():
        if key not in FILTERS:
            raise InvalidFilter(f"There is no history filter named {key!r}.",
                                f"Known filters: {', '.join(FILTERS)}.")
        if value is None or value == "":
            continue
        if key == "kind":
            if value not in ("text", "image"):
                raise InvalidFilter(f"kind must be 'text' or 'image', not {value!r}.")
            parts.append(f"kind = {sql_str(value)}")
        elif key == "origin":
            if value not in ("generated", "imported"):
                raise InvalidFilter(f"origin must be 'generated' or 'imported', not {value!r}.")
            parts.append(f"origin = {sql_str(value)}")
        elif key == "model":
            parts.append(_model_condition(str(value)))
        elif key == "session":
            parts.append(f"session_id = {sql_str(value)}")
        elif key == "tag":
            parts.append(f"array_has(tags, {sql_str(value)})")
        elif key == "rating":
            try:
                rating = int(value)
            except (TypeError, ValueError):
                rating = -1
            if not 0 <= rating <= 5:
                raise InvalidFilter(f"The rating filter must be a number from 0 to 5, not {value!r}.")
            parts.append(f"rating >= {rating}")
        else:
            dt = bounds[key] = parse_when(value, end_of_day=(key == "date_to"), name=f"{key} filter")
            op = ">=" if key == "date_from" else "<="
            parts.append(f"created_at {op} arrow_cast('{dt.strftime('%Y-%m-%dT%H:%M:%S.%f')}', "
                         f"'Timestamp(Microsecond, Some(\"UTC\"))')")
    if len(bounds) == 2 and bounds["date_from"] > bounds["date_to"]:
        start, end = (f"{bounds[k].astimezone():%Y-%m-%d %H:%M}" for k in ("date_from", "date_to"))
        raise InvalidFilter(f"The date range starts after it ends ({start} to {end}, local time).")
    return " AND ".join(parts) or None


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


def _semantic_leg(store, ds, vector, where: str | None, k: int) -> list[tuple[int, float]]:
    """(row id, cosine similarity) of the nearest embeddings, best first (``ds`` from search_snapshot)."""
    allowed = None
    if where:
        allowed = ds.to_table(columns=[], filter=where, with_row_id=True)["_rowid"].to_numpy()
    return store.vectors.search(vector, k, allowed)


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
    other = pool.submit(ds._take_rows, rowids, columns=parts[1] + ["_rowid"]) if len(parts) > 1 else None
    rows = ds._take_rows(rowids, columns=parts[0] + ["_rowid"]).to_pylist()
    by_rowid = {row.pop("_rowid"): row for row in rows}
    if other is not None:
        for row in other.result().to_pylist():
            by_rowid[row.pop("_rowid")].update(row)
    return [by_rowid[r] for r in rowids if r in by_rowid]


def _keyword_rows(store, words: list[str], where: str | None, k: int) -> list[dict]:
    """Keyword hits as dicts with ``id``, ``_score`` and ``vector`` (None if not embedded), best first
    (evaluations)."""
    ds = store.search_snapshot()
    ranked = _keyword_leg(ds, words, where, k)
    rows = _rows_by_rowid(ds, [r for r, _ in ranked], ["id", "vector", "embedded"])
    return [{"id": row["id"], "_score": score, "vector": row["vector"] if row["embedded"] else None}
            for row, (_, score) in zip(rows, ranked)]


def _semantic_rows(store, vector, where: str | None, k: int) -> list[dict]:
    """Semantic hits as dicts with ``id`` and ``_distance`` (cosine), nearest first (evaluations)."""
    ds = store.search_snapshot()
    ranked = _semantic_leg(store, ds, vector, where, k)
    if not ranked:
        return []
    ids = ds._take_rows([r for r, _ in ranked], columns=["id"])["id"].to_pylist()
    return [{"id": i, "_distance": 1.0 - sim} for i, (_, sim) in zip(ids, ranked)]


def _recent(store, where: str | None, limit: int) -> list[Hit]:
    import pyarrow.compute as pc

    ds = store.dataset()
    table = ds.to_table(columns=["created_at"], filter=where, with_row_id=True)
    if table.num_rows == 0:
        return []
    order = pc.sort_indices(table, sort_keys=[("created_at", "descending")])[:limit]
    rowids = pc.take(table["_rowid"], order).to_pylist()
    return [_hit(r, 0.0, []) for r in _rows_by_rowid(ds, rowids, pool=store.search_pool())]


def _validate(query: SearchQuery) -> None:
    if query.mode not in MODES:
        raise HistoryError(f"Unknown search mode {query.mode!r}.", f"Use one of: {', '.join(MODES)}.")
    if query.sort not in SORTS:
        raise HistoryError(f"Unknown sort {query.sort!r}.", f"Use one of: {', '.join(SORTS)}.")
    if query.limit < 1:
        raise HistoryError(f"The result limit must be at least 1, not {query.limit}.")


def run_search(store, query: SearchQuery) -> SearchResult:
    _validate(query)
    where = build_where(query.filters)
    notice = ""
    text = query.text.strip()
    if len(text) > MAX_QUERY_CHARS:
        text = text[:MAX_QUERY_CHARS]
        notice = f"The query was shortened to its first {MAX_QUERY_CHARS} characters."
    started = time.perf_counter()
    if not text:
        hits = _recent(store, where, query.limit)
        return SearchResult(hits, "recent", notice, 0.0, (time.perf_counter() - started) * 1000)
    words = query_words(text)
    mode = query.mode
    vector = None
    embed_ms = 0.0
    if mode in ("semantic", "hybrid"):
        embedder = store.embedder
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
    ds = store.dataset() if mode == "keyword" else store.search_snapshot()
    if mode == "keyword" and not words:
        notice = (notice + " " if notice else "") + "The query has no words to search for."
    if query.sort == "date":
        ranked = _newest_matches(store, ds, mode, vector, words, where, query.limit)
    elif mode == "keyword":
        ranked = _keyword_leg(ds, words, where, query.limit)
    elif mode == "semantic":
        ranked = _semantic_leg(store, ds, vector, where, query.limit)
    else:
        ranked = _hybrid(store, ds, vector, words, where, max(CANDIDATES, query.limit))[:query.limit]
    rows = _rows_by_rowid(ds, [r for r, _ in ranked], pool=store.search_pool())
    hits = [_hit(row, score, words) for row, (_, score) in zip(rows, ranked)]
    if len(rows) != len(ranked):  # cannot happen with one snapshot; be loud if it does
        raise HistoryError("The history changed during the search.", "Search again.")
    search_ms = (time.perf_counter() - t0) * 1000
    return SearchResult(hits, mode, notice.strip(), embed_ms, search_ms)


def _newest_matches(store, ds, mode: str, vector, words: list[str], where: str | None,
                    limit: int) -> list[tuple[int, float]]:
    """(row id, relevance score) of the newest matching records, newest first (see the module docstring)."""
    import pyarrow.compute as pc

    if mode == "keyword":
        if not words:
            return []
        table = _full_text(ds, words, where, ["_score", "created_at"], None)
        order = pc.sort_indices(table, sort_keys=[("created_at", "descending"), ("_score", "descending")])
        order = order[:limit]
        return list(zip(pc.take(table["_rowid"], order).to_pylist(), pc.take(table["_score"], order).to_pylist()))
    pool = max(limit * DATE_POOL_PER_RESULT, DATE_POOL_MIN)
    if mode == "semantic":
        ranked = _semantic_leg(store, ds, vector, where, pool)
    else:
        ranked = _hybrid(store, ds, vector, words, where, pool)
    if not ranked:
        return []
    best = ranked[0][1]
    floor = best * DATE_RELEVANCE_SHARE if best > 0 else best
    matches = [(r, score) for r, score in ranked if score >= floor]
    dates = _rows_by_rowid(ds, [r for r, _ in matches], ["created_at"])
    dated = sorted(zip(matches, (row["created_at"] for row in dates), strict=True),
                   key=lambda item: (item[1], item[0][1]), reverse=True)
    return [match for match, _when in dated[:limit]]


def _hybrid(store, ds, vector, words: list[str], where: str | None, k: int) -> list[tuple[int, float]]:
    """(row id, fused score) best first: both legs at once, then anchored fusion."""
    kw_future = store.search_pool().submit(_keyword_leg, ds, words, where, k)
    semantic: dict[int, float | None] = dict(_semantic_leg(store, ds, vector, where, k))
    keyword = dict(kw_future.result())
    missing = [r for r in keyword if r not in semantic]
    if missing:  # exact similarity for keyword-only candidates; None: not embedded yet
        known = store.vectors.similarities(vector, missing)
        for r in missing:
            semantic[r] = known.get(r)
    return anchored_fusion(semantic, keyword)
