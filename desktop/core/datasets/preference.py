"""The preference export: decisive arena votes as ``prompt`` / ``chosen`` / ``rejected`` rows (JSONL).

One row per text vote that said "A better" or "B better", in the standard
(string) format TRL's DPO trainer reads::

    {"prompt": ..., "chosen": ..., "rejected": ..., "origin": "generated",
     "chosen_model": ..., "rejected_model": ..., "vote_id": ...}

Ties and "both bad" say nothing about which answer is better and are left
out (counted).  The answers are read from the history by the vote's record
ids (:func:`~desktop.core.arena.votes.iter_preferences`); a vote whose answer
was deleted is left out (counted).  History search ``filters`` must match
both answers' records; a ``search`` keeps the votes one of whose answers is
among its best ``limit`` matches (as a topic leaderboard does), and
``prompts`` (an experiment's) the votes on one of those prompts.  ``origin``
is the answers' origin, or both joined by ``+`` when they differ.  Exact
duplicates (the same prompt, chosen and rejected text after normalisation)
are dropped; with ``near_duplicates``, so is a row whose chosen answer's
stored vector (the record's prompt and answer) is within that cosine of a
kept row's (:mod:`.dedupe`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desktop.core.datasets.dedupe import Deduper, Embed
from desktop.core.datasets.errors import DatasetError, NothingToExport
from desktop.core.datasets.jsonl import JsonlFile
from desktop.core.datasets.result import BATCH, DatasetResult, chunks, describe
from desktop.core.history.schema import embed_text_of
from desktop.core.history.search import SearchQuery
from desktop.core.history.sql import build_where, ids_predicate
from desktop.core.jobs import CancelToken, Progress, ProgressCallback, no_progress

ANSWER_COLUMNS = ["id", "output_text", "origin"]
VECTOR_COLUMNS = ["embedded", "vector"]


@dataclass
class PreferenceSelection:
    """Which votes a preference export holds (see the module docstring)."""

    filters: dict[str, Any] = field(default_factory=dict)  # both answers' records must match
    search: str = ""  # a history search over the answers; empty: every vote
    mode: str = "hybrid"
    limit: int = 1000  # how many of the search's best matches
    prompts: frozenset[str] | None = None  # an experiment's prompts; None: any prompt
    experiment: str = ""  # the experiment's name, for messages
    near_duplicates: float | None = None  # cosine threshold; None: exact duplicates only


def export_preference(history, votes, path: Path, selection: PreferenceSelection | None = None, *,
                      embed: Embed | None = None, cancel: CancelToken | None = None,
                      progress: ProgressCallback = no_progress) -> DatasetResult:
    """Write the preference set of ``votes`` (an arena VoteStore beside ``history``) to ``path``;
    :class:`NothingToExport` (and no file) when no row is left.  ``embed`` embeds the chosen answers that
    have no vector when near duplicates are checked."""
    from desktop.core.arena.votes import iter_preferences

    cancel = cancel or CancelToken()
    selection = selection or PreferenceSelection()
    if selection.filters.get("kind") not in (None, "", "text"):
        raise DatasetError("A preference set holds text votes only.", "Leave out the kind filter.")
    chosen_filters = {k: v for k, v in selection.filters.items() if k != "kind"}
    where = build_where({**chosen_filters, "kind": "text"})
    deduper = Deduper(selection.near_duplicates, embed)
    every = list(iter_preferences(votes, kind="text"))
    prefs = [p for p in every if p.decisive]
    if not prefs:
        raise NothingToExport(f"There are no decisive text arena votes ({len(every)} ties or 'both bad'), "
                              "so no file was written.", "Vote with `genlab arena run`: 1 (A better) or 2 (B better).")
    prefs = _chosen(history, prefs, selection, chosen_filters)
    missing = 0
    columns = ANSWER_COLUMNS + (VECTOR_COLUMNS if selection.near_duplicates is not None else [])
    with JsonlFile(path) as out:
        for done, chunk in enumerate(chunks(prefs), 1):
            cancel.raise_if_cancelled()
            ids = sorted({i for p in chunk for i in (p.chosen_id, p.rejected_id)})
            condition = f"({where}) AND {ids_predicate(ids)}"
            answers = {r["id"]: r for r in history.scan(columns, condition).to_pylist()}
            found = []
            for pref in chunk:
                chosen, rejected = answers.get(pref.chosen_id), answers.get(pref.rejected_id)
                if chosen is None or rejected is None:
                    missing += not (history.has_ids([pref.chosen_id, pref.rejected_id])
                                    == {pref.chosen_id, pref.rejected_id})
                    continue
                if deduper.is_new_text([pref.prompt, chosen["output_text"], rejected["output_text"]]):
                    found.append((pref, chosen, rejected))
            vectors = [c["vector"] if c.get("embedded") else None for _, c, _ in found]
            meanings = deduper.new_meanings(vectors, [_embed_text(p.prompt, c["output_text"]) if v is None else ""
                                                      for (p, c, _), v in zip(found, vectors, strict=True)])
            for (pref, chosen, rejected), new in zip(found, meanings, strict=True):
                if not new:
                    continue
                origins = sorted({chosen["origin"] or "generated", rejected["origin"] or "generated"})
                out.write({"prompt": pref.prompt, "chosen": chosen["output_text"] or "",
                           "rejected": rejected["output_text"] or "", "origin": "+".join(origins),
                           "chosen_model": pref.chosen_label, "rejected_model": pref.rejected_label,
                           "vote_id": pref.vote_id})
            written = min(done * BATCH, len(prefs))
            progress(Progress(written / len(prefs), "Exporting the preference set", written, len(prefs)))
        if not out.rows:
            shown = describe(chosen_filters)
            if deduper.counts.near:  # an exact duplicate always follows a kept row
                raise NothingToExport(f"Every one of the {len(prefs)} matching votes repeats an earlier one, "
                                      "so no file was written.", "Lower the near-duplicate threshold or leave it out.")
            raise NothingToExport(f"None of the {len(prefs)} decisive votes has both answers in the history"
                                  + (f" matching {shown}" if shown else "") + ", so no file was written.")
    decisive = sum(p.decisive for p in every)
    return DatasetResult(Path(path), out.rows, len(prefs), deduper.counts, missing=missing,
                         left_out=len(every) - decisive, near_threshold=deduper.threshold)


def _embed_text(prompt: str, output: str) -> str:
    """What the history's embedder reads for a text record, so a fresh vector matches a stored one."""
    from desktop.core.records import GenerationRecord

    return embed_text_of(GenerationRecord(kind="text", prompt=prompt, output_text=output or ""))


def _chosen(history, prefs: list, selection: PreferenceSelection, filters: dict[str, Any]) -> list:
    """The decisive votes the experiment's prompts and the search keep; NothingToExport when none."""
    if selection.prompts is not None:
        prefs = [p for p in prefs if p.prompt.strip() in selection.prompts]
        if not prefs:
            name = f" {selection.experiment!r}" if selection.experiment else ""
            raise NothingToExport(f"No decisive arena vote is on a prompt of the experiment{name}, "
                                  "so no file was written.",
                                  "Run the arena on the experiment's prompts first (Arena: prompts from an "
                                  "experiment), or leave out the experiment filter.")
    if selection.search.strip():
        found = history.search(SearchQuery(selection.search, mode=selection.mode, filters={**filters, "kind": "text"},
                                           limit=selection.limit))
        ids = {hit.record.id for hit in found.hits}
        prefs = [p for p in prefs if p.chosen_id in ids or p.rejected_id in ids]
        if not prefs:
            raise NothingToExport(f"No decisive arena vote has an answer matching the search {selection.search!r}, "
                                  "so no file was written.", "Try other words or fewer filters.")
    return prefs
