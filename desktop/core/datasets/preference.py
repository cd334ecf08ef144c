"""The preference export: decisive arena votes as ``prompt`` / ``chosen`` / ``rejected`` rows (JSONL).

One row per text vote that said "A better" or "B better", in the standard
(string) format TRL's DPO trainer reads::

    {"prompt": ..., "chosen": ..., "rejected": ..., "origin": "generated",
     "chosen_model": ..., "rejected_model": ..., "vote_id": ...}

Ties and "both bad" say nothing about which answer is better and are left
out (counted).  The answers are read from the history by the vote's record
ids (:func:`~desktop.core.arena.votes.iter_preferences`); a vote whose answer
was deleted is left out (counted).  History search ``filters`` must match
both answers' records.  ``origin`` is the answers' origin, or both joined by
``+`` when they differ.  Exact duplicates (the same prompt, chosen and
rejected text after normalisation) are dropped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from desktop.core.datasets.dedupe import Deduper
from desktop.core.datasets.errors import NothingToExport
from desktop.core.datasets.jsonl import JsonlFile
from desktop.core.datasets.result import BATCH, DatasetResult, chunks, describe
from desktop.core.history.sql import build_where, ids_predicate
from desktop.core.jobs import CancelToken, Progress, ProgressCallback, no_progress

ANSWER_COLUMNS = ["id", "output_text", "origin"]


def export_preference(history, votes, path: Path, *, filters: dict[str, Any] | None = None,
                      cancel: CancelToken | None = None, progress: ProgressCallback = no_progress) -> DatasetResult:
    """Write the preference set of ``votes`` (an arena VoteStore beside ``history``) to ``path``;
    :class:`NothingToExport` (and no file) when no row is left."""
    from desktop.core.arena.votes import iter_preferences

    cancel = cancel or CancelToken()
    chosen_filters = {k: v for k, v in (filters or {}).items() if k != "kind"}
    where = build_where({**chosen_filters, "kind": "text"})
    every = list(iter_preferences(votes, kind="text"))
    prefs = [p for p in every if p.decisive]
    if not prefs:
        raise NothingToExport(f"There are no decisive text arena votes ({len(every)} ties or 'both bad'), "
                              "so no file was written.", "Vote with `genlab arena run`: 1 (A better) or 2 (B better).")
    deduper = Deduper()
    missing = 0
    with JsonlFile(path) as out:
        for done, chunk in enumerate(chunks(prefs), 1):
            cancel.raise_if_cancelled()
            ids = sorted({i for p in chunk for i in (p.chosen_id, p.rejected_id)})
            condition = f"({where}) AND {ids_predicate(ids)}"
            answers = {r["id"]: r for r in history.scan(ANSWER_COLUMNS, condition).to_pylist()}
            for pref in chunk:
                chosen, rejected = answers.get(pref.chosen_id), answers.get(pref.rejected_id)
                if chosen is None or rejected is None:
                    missing += not (history.has_ids([pref.chosen_id, pref.rejected_id])
                                    == {pref.chosen_id, pref.rejected_id})
                    continue
                if not deduper.is_new_text([pref.prompt, chosen["output_text"], rejected["output_text"]]):
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
            raise NothingToExport(f"None of the {len(prefs)} decisive votes has both answers in the history"
                                  + (f" matching {shown}" if shown else "") + ", so no file was written.")
    return DatasetResult(Path(path), out.rows, len(prefs), deduper.counts, missing=missing,
                         left_out=len(every) - len(prefs))
