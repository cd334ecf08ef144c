"""Topic leaderboards (the votes whose prompts match a history search) and star ratings per model.

:func:`votes_on_topic` runs the query through the history's own search
(:class:`~desktop.core.history.search.SearchQuery`: keyword, semantic or
hybrid) over the arena's answers, and keeps the votes one of whose answers
it found.  :func:`star_ratings` summarises the 1–5 star ratings of the
history (chats, experiments, arena answers alike) per model; it is kept
apart from the pairwise scores, which measure something else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from desktop.core.arena.votes import Vote
from desktop.core.history.search import SearchQuery
from desktop.core.history.sql import sql_str

TOPIC_LIMIT = 10_000  # answers a topic search may return: more than any local arena holds


def votes_on_topic(votes: Sequence[Vote], history, query: str, *, mode: str = "hybrid") -> list[Vote]:
    """The votes whose prompt matches ``query`` in the history; an empty query keeps them all."""
    if not query.strip() or not votes:
        return list(votes)
    sessions = sorted({v.session_id for v in votes if v.session_id})
    filters = {"sessions": sessions} if sessions and all(v.session_id for v in votes) else {}
    found = history.search(SearchQuery(text=query, mode=mode, filters=filters, limit=TOPIC_LIMIT,
                                       min_relevance=None))
    ids = {hit.record.id for hit in found.hits}
    return [v for v in votes if v.a_record_id in ids or v.b_record_id in ids]


@dataclass(frozen=True)
class StarRating:
    """The mean of one model's star-rated records (records rated 0 are unrated and left out)."""

    model: str
    mean: float
    count: int


def star_ratings(history, kind: str) -> list[StarRating]:
    """Per model (the record's model name, else its file), best mean first; one pyarrow group-by."""
    import pyarrow as pa
    import pyarrow.compute as pc

    history.flush(timeout=60)
    table = history.scan(["model_name", "model_file", "rating"], f"kind = {sql_str(kind)} AND rating > 0")
    if not table.num_rows:
        return []
    name = pc.if_else(pc.equal(table["model_name"], ""), table["model_file"], table["model_name"])
    grouped = pa.table({"model": name, "rating": table["rating"]}).group_by("model").aggregate(
        [("rating", "mean"), ("rating", "count")])
    rows = [StarRating(m, float(mean), int(count)) for m, mean, count in
            zip(grouped["model"].to_pylist(), grouped["rating_mean"].to_pylist(), grouped["rating_count"].to_pylist())]
    return sorted(rows, key=lambda r: (-r.mean, -r.count, r.model))
