"""The supervised fine-tuning export: rated text generations as chat ``messages`` rows (JSONL).

One row per chosen record::

    {"messages": [{"role": "system", "content": ...},        # when the record had a system prompt
                  {"role": "user", "content": ...}, {"role": "assistant", "content": ...},  # earlier turns
                  {"role": "user", "content": PROMPT}, {"role": "assistant", "content": OUTPUT}],
     "origin": "generated", "record_id": ..., "model": ..., "rating": 4, "tags": [...],
     "created_at": "2026-05-01T12:00:00+00:00"}

The earlier turns are the thread's records found by following ``parent_id``,
as "Re-run exactly" rebuilds them (:func:`~desktop.core.history.rerun.record_chain`).

Chosen records: text records with an output that match the history search
filters (:data:`~desktop.core.history.sql.FILTERS`; ``rating`` is a minimum
and defaults to 1, i.e. rated at all) and, when ``search`` is given, are among
its best ``limit`` matches.  Rows are written oldest first.  Exact duplicates
(the same conversation and reply after normalisation) are always dropped,
near duplicates when ``near_duplicates`` is set (:mod:`.dedupe`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desktop.core.datasets.dedupe import Deduper, Embed
from desktop.core.datasets.errors import DatasetError, NothingToExport
from desktop.core.datasets.jsonl import JsonlFile
from desktop.core.datasets.result import BATCH, DatasetResult, chunks, describe
from desktop.core.history.rerun import MAX_CHAIN
from desktop.core.history.schema import embed_text_of, row_to_record
from desktop.core.history.search import SearchQuery
from desktop.core.history.sql import build_where, ids_predicate
from desktop.core.jobs import CancelToken, Progress, ProgressCallback, no_progress

DEFAULT_MIN_RATING = 1  # "what you rated": 0 is unrated
ROW_COLUMNS = ["id", "created_at", "parent_id", "prompt", "system_prompt", "output_text", "model_name", "model_file",
               "rating", "tags", "origin"]
VECTOR_COLUMNS = ["embedded", "vector"]
TURN_COLUMNS = ["id", "parent_id", "prompt", "output_text"]


@dataclass
class SftSelection:
    """Which records an SFT export holds (see the module docstring)."""

    filters: dict[str, Any] = field(default_factory=dict)
    search: str = ""  # a history search; empty: every record the filters match
    mode: str = "hybrid"
    limit: int = 1000  # how many of the search's best matches
    near_duplicates: float | None = None  # cosine threshold; None: exact duplicates only


def text_filters(filters: dict[str, Any]) -> dict[str, Any]:
    """``filters`` for text records, with the default minimum rating; checked (InvalidFilter) here."""
    chosen = dict(filters)
    if chosen.get("kind") not in (None, "", "text"):
        raise DatasetError(f"A fine-tuning set holds text records, not {chosen['kind']!r} ones.",
                           "Leave out the kind filter, or use kind=text.")
    chosen["kind"] = "text"
    if chosen.get("rating") in (None, ""):
        chosen["rating"] = DEFAULT_MIN_RATING
    build_where(chosen)
    return chosen


def export_sft(store, path: Path, selection: SftSelection, *, embed: Embed | None = None,
               cancel: CancelToken | None = None, progress: ProgressCallback = no_progress) -> DatasetResult:
    """Write the SFT set of ``selection`` to ``path``; ``embed`` embeds records that have no vector
    when near duplicates are checked.  Raises :class:`NothingToExport` (and writes nothing) when no row
    is left, DatasetError for a path that cannot be written, InvalidFilter for a bad filter."""
    cancel = cancel or CancelToken()
    filters = text_filters(selection.filters)
    deduper = Deduper(selection.near_duplicates, embed)
    ids = _chosen_ids(store, filters, selection)
    columns = ROW_COLUMNS + (VECTOR_COLUMNS if selection.near_duplicates is not None else [])
    turns: dict[str, dict | None] = {}
    incomplete = 0
    with JsonlFile(path) as out:
        for done, chunk in enumerate(chunks(ids), 1):
            cancel.raise_if_cancelled()
            by_id = {r["id"]: r for r in store.scan(columns, ids_predicate(list(chunk))).to_pylist()}
            rows = [by_id[i] for i in chunk if i in by_id]
            if len(turns) > 20 * BATCH:  # ancestors are mostly shared within a stretch of time
                turns.clear()
            _read_turns(store, rows, turns)
            texts_new = []
            for row in rows:
                messages, complete = _messages(row, turns)
                if deduper.is_new_text([part for m in messages for part in (m["role"], m["content"])]):
                    texts_new.append((row, messages, complete))
            # The exact check never depends on the near one, so the batch's near check can follow it.
            vectors = [r["vector"] if r.get("embedded") else None for r, _, _ in texts_new]
            meanings = deduper.new_meanings(vectors, [embed_text_of(row_to_record(r)) if v is None else ""
                                                      for (r, _, _), v in zip(texts_new, vectors, strict=True)])
            for (row, messages, complete), new in zip(texts_new, meanings, strict=True):
                if new:
                    out.write(_row(row, messages))
                    incomplete += not complete
            written = min(done * BATCH, len(ids))
            progress(Progress(written / len(ids), "Exporting the fine-tuning set", written, len(ids)))
        if not out.rows:
            raise NothingToExport(f"Every one of the {len(ids)} matching records repeats an earlier one, "
                                  "so no file was written.", "Lower the near-duplicate threshold or leave it out.")
    return DatasetResult(Path(path), out.rows, len(ids), deduper.counts, incomplete=incomplete,
                         near_threshold=deduper.threshold)


def _chosen_ids(store, filters: dict[str, Any], selection: SftSelection) -> list[str]:
    """The ids to export, oldest first; NothingToExport naming the filters when there are none."""
    import pyarrow.compute as pc

    where = f"({build_where(filters)}) AND output_text != ''"
    shown = describe(filters)
    wanted: set[str] | None = None
    if selection.search.strip():
        result = store.search(SearchQuery(selection.search, mode=selection.mode, filters=filters,
                                          limit=selection.limit))
        wanted = {hit.record.id for hit in result.hits}
        if not wanted:
            raise NothingToExport(f"No text record matching {shown} matches the search {selection.search!r}, "
                                  "so no file was written.", "Try other words or fewer filters.")
    table = store.scan(["id", "created_at"], where)
    order = pc.sort_indices(table, sort_keys=[("created_at", "ascending")])
    ids = [i for i in pc.take(table["id"], order).to_pylist() if wanted is None or i in wanted]
    if not ids:
        raise NothingToExport(f"No text record with an answer matches {shown}, so no file was written.",
                              "A rating filter is a minimum (rating=1: rated at all); "
                              "`genlab history search` with the same filters shows what matches.")
    return ids


def _read_turns(store, rows: list[dict], turns: dict[str, dict | None]) -> None:
    """Fill ``turns`` (id -> prompt, output and parent; None: not in the history) with every ancestor of
    ``rows``, one column-selected read per generation of ancestors."""
    wanted = {r["parent_id"] for r in rows if r["parent_id"]} - turns.keys()
    for _ in range(MAX_CHAIN):
        if not wanted:
            return
        found: dict[str, dict] = {}
        for chunk in chunks(sorted(wanted)):
            found.update((t["id"], t) for t in store.scan(TURN_COLUMNS, ids_predicate(list(chunk))).to_pylist())
        turns.update({i: found.get(i) for i in wanted})
        wanted = {t["parent_id"] for t in found.values() if t["parent_id"]} - turns.keys()


def _messages(row: dict, turns: dict[str, dict | None]) -> tuple[list[dict[str, str]], bool]:
    """The conversation that led to ``row`` and its reply, and whether every earlier turn was found."""
    earlier: list[dict] = []
    seen = {row["id"]}
    parent = row["parent_id"]
    while parent and len(earlier) < MAX_CHAIN:
        turn = turns.get(parent)
        if turn is None or parent in seen:
            break
        earlier.append(turn)
        seen.add(parent)
        parent = turn["parent_id"]
    messages = [{"role": "system", "content": row["system_prompt"]}] if (row["system_prompt"] or "").strip() else []
    for turn in reversed(earlier):
        messages += [{"role": "user", "content": turn["prompt"] or ""},
                     {"role": "assistant", "content": turn["output_text"] or ""}]
    messages += [{"role": "user", "content": row["prompt"] or ""},
                 {"role": "assistant", "content": row["output_text"] or ""}]
    return messages, not parent


def _row(row: dict, messages: list[dict[str, str]]) -> dict[str, Any]:
    return {"messages": messages, "origin": row["origin"] or "generated", "record_id": row["id"],
            "model": row["model_name"] or row["model_file"] or "", "rating": int(row["rating"] or 0),
            "tags": list(row["tags"] or []), "created_at": row["created_at"].isoformat()}
