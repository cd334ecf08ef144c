"""Arena votes in LanceDB, beside the history, and the public reading of them.

One row per vote in the table ``arena_votes_v1`` of the history's database
folder: id, time, kind, the prompt, each side's contender (label, model and
preset values as JSON) and history record id, the verdict, and the arena
session the answers were made in.  Side ``a`` is the answer that was shown on
the left, ``b`` the one on the right, so the verdict is stored as it was
given.  The table name carries its own schema version, like the experiments'
(:mod:`desktop.core.experiments.store`).

Votes are exported (:func:`export_votes`, JSONL or CSV) and deleted like
history records: a deleted vote leaves no old version behind.  A vote whose
answer is no longer in the history is refused (:func:`record_vote`).

Other domains read votes through :func:`iter_preferences`: prompt, chosen
and rejected record ids and verdict, one :class:`Preference` per vote.
"""

from __future__ import annotations

import csv
import json
import os
import threading
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator, Sequence

from desktop.core.arena.errors import ArenaError, VoteNotFound, VoteRefused
from desktop.core.history.sql import ids_predicate, sql_str
from desktop.core.history.tables import open_or_create
from desktop.core.records import new_id, utc_now

TABLE_NAME = "arena_votes_v1"
A_BETTER, B_BETTER, TIE, BOTH_BAD = "a", "b", "tie", "both_bad"
VERDICTS = (A_BETTER, B_BETTER, TIE, BOTH_BAD)
DECISIVE = (A_BETTER, B_BETTER)
VERDICT_KEYS = {"1": A_BETTER, "2": B_BETTER, "3": TIE, "4": BOTH_BAD}  # the keys 1-4 of the CLI and the window
VERDICT_WORDS = {A_BETTER: "A better", B_BETTER: "B better", TIE: "tie", BOTH_BAD: "both bad"}
EXPORT_FORMATS = (".jsonl", ".csv")


def arrow_schema():
    import pyarrow as pa

    text = pa.string()
    return pa.schema([
        pa.field("id", text), pa.field("created_at", pa.timestamp("us", tz="UTC")), pa.field("kind", text),
        pa.field("prompt", text), pa.field("session_id", text),
        pa.field("a_label", text), pa.field("a_model", text), pa.field("a_values_json", text),
        pa.field("a_record_id", text),
        pa.field("b_label", text), pa.field("b_model", text), pa.field("b_values_json", text),
        pa.field("b_record_id", text),
        pa.field("verdict", text),
    ])


@dataclass
class Vote:
    """One verdict on two answers to one prompt; ``a`` was shown on the left."""

    kind: str
    prompt: str
    a_label: str
    a_record_id: str
    b_label: str
    b_record_id: str
    verdict: str
    a_model: str = ""
    b_model: str = ""
    a_values: dict[str, Any] = field(default_factory=dict)
    b_values: dict[str, Any] = field(default_factory=dict)
    session_id: str = ""
    id: str = field(default_factory=new_id)
    created_at: datetime = field(default_factory=utc_now)

    @property
    def winner(self) -> str | None:
        """The label of the better answer's contender; None for a tie or both bad."""
        return {A_BETTER: self.a_label, B_BETTER: self.b_label}.get(self.verdict)

    def to_row(self) -> dict[str, Any]:
        return {"id": self.id, "created_at": self.created_at, "kind": self.kind, "prompt": self.prompt,
                "session_id": self.session_id, "a_label": self.a_label, "a_model": self.a_model,
                "a_values_json": json.dumps(self.a_values, sort_keys=True), "a_record_id": self.a_record_id,
                "b_label": self.b_label, "b_model": self.b_model,
                "b_values_json": json.dumps(self.b_values, sort_keys=True), "b_record_id": self.b_record_id,
                "verdict": self.verdict}

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "Vote":
        created = row["created_at"]
        if hasattr(created, "to_pydatetime"):
            created = created.to_pydatetime()
        if created.tzinfo is None:
            created = created.replace(tzinfo=timezone.utc)
        return cls(kind=row["kind"], prompt=row["prompt"], a_label=row["a_label"], a_record_id=row["a_record_id"],
                   b_label=row["b_label"], b_record_id=row["b_record_id"], verdict=row["verdict"],
                   a_model=row["a_model"] or "", b_model=row["b_model"] or "",
                   a_values=json.loads(row["a_values_json"] or "{}"),
                   b_values=json.loads(row["b_values_json"] or "{}"),
                   session_id=row["session_id"] or "", id=row["id"], created_at=created)

    def to_dict(self) -> dict[str, Any]:
        data = self.to_row()
        data["created_at"] = self.created_at.isoformat()
        data["a_values"] = self.a_values
        data["b_values"] = self.b_values
        del data["a_values_json"], data["b_values_json"]
        return data


def parse_verdict(text: str) -> str:
    """``"1"``-``"4"`` (or a verdict's name) → the verdict; :class:`VoteRefused` naming the choices otherwise."""
    key = text.strip().lower().replace(" ", "_")
    if key in VERDICT_KEYS:
        return VERDICT_KEYS[key]
    if key in VERDICTS:
        return key
    raise VoteRefused(f"{text.strip()!r} is not a vote.",
                      "Answer 1 (A better), 2 (B better), 3 (tie) or 4 (both bad).")


class VoteStore:
    """Adds, reads, exports and deletes votes; ``root`` is the history folder."""

    def __init__(self, root: Path) -> None:
        os.environ.setdefault("LANCE_LOG", "error")
        import lancedb

        self.root = Path(root)
        self._lock = threading.Lock()
        self._db = lancedb.connect(str(self.root / "lancedb"), read_consistency_interval=timedelta(0))
        self.table = open_or_create(self._db, TABLE_NAME, arrow_schema())

    @classmethod
    def beside(cls, history) -> "VoteStore":
        """The votes of a :class:`~desktop.core.history.store.HistoryStore`."""
        return cls(history.root)

    def add(self, vote: Vote) -> Vote:
        """Store ``vote`` as it is (no check of its records: :func:`record_vote` does that)."""
        import pyarrow as pa

        if vote.verdict not in VERDICTS:
            raise VoteRefused(f"{vote.verdict!r} is not a verdict.", f"Use one of {', '.join(VERDICTS)}.")
        with self._lock:
            self.table.add(pa.Table.from_pylist([vote.to_row()], schema=arrow_schema()))
        return vote

    def get(self, vote_id: str) -> Vote:
        rows = self.table.search().where(f"id = {sql_str(vote_id)}").limit(1).to_list()
        if not rows:
            raise VoteNotFound(f"No arena vote has the id {vote_id!r}.",
                               "List the votes with `genlab arena votes`.")
        return Vote.from_row(rows[0])

    def list(self, kind: str | None = None) -> list[Vote]:
        """Every vote (of ``kind`` when given), oldest first."""
        where = f"kind = {sql_str(kind)}" if kind else None
        table = self.table.to_lance().to_table(filter=where)
        return sorted((Vote.from_row(r) for r in table.to_pylist()), key=lambda v: v.created_at)

    def count(self, kind: str | None = None) -> int:
        return self.table.count_rows(f"kind = {sql_str(kind)}") if kind else self.table.count_rows()

    def delete(self, ids: Sequence[str]) -> int:
        """Remove the votes ``ids`` and every old version that held them; returns how many there were."""
        if not ids:
            return 0
        where = ids_predicate(list(ids))
        with self._lock:
            found = self.table.count_rows(where)
            if not found:
                return 0
            self.table.delete(where)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # compact_files is deprecated; privacy needs every file rewritten
                self.table.compact_files(materialize_deletions=True, materialize_deletions_threshold=0.0)
                self.table.optimize(cleanup_older_than=timedelta(0), delete_unverified=True)
        return found


def record_vote(votes: VoteStore, history, vote: Vote) -> Vote:
    """Store ``vote`` after checking both its answers are still history records.

    :class:`VoteRefused` names the missing answer when one was deleted (or never saved).
    """
    history.flush(timeout=60)
    present = history.has_ids([vote.a_record_id, vote.b_record_id])
    for side, record_id in (("A", vote.a_record_id), ("B", vote.b_record_id)):
        if not record_id or record_id not in present:
            raise VoteRefused(f"Answer {side} ({record_id or 'not saved'}) is not in the history any more, "
                              "so this vote cannot be recorded.",
                              "Generate the pair again to vote on it.")
    return votes.add(vote)


def export_votes(votes: VoteStore, path: Path, *, kind: str | None = None) -> int:
    """Write the votes to ``path`` (.jsonl: one vote a line; .csv: one row a vote); returns the count."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in EXPORT_FORMATS:
        raise ArenaError(f"Cannot export votes to {path.name!r}.", "Name a .jsonl or .csv file.")
    rows = [v.to_dict() for v in votes.list(kind)]
    with open(path, "w", encoding="utf-8", newline="") as f:
        if suffix == ".jsonl":
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        else:
            names = list(arrow_schema().names)
            names[names.index("a_values_json")], names[names.index("b_values_json")] = "a_values", "b_values"
            writer = csv.DictWriter(f, fieldnames=names)
            writer.writeheader()
            for row in rows:
                row["a_values"], row["b_values"] = json.dumps(row["a_values"]), json.dumps(row["b_values"])
                writer.writerow(row)
    return len(rows)


@dataclass(frozen=True)
class Preference:
    """One vote as a preference: the better answer's record id first.

    For a tie or "both bad" (``decisive`` False) ``chosen_id``/``rejected_id``
    are simply the left and right answers; a preference dataset leaves those out.
    """

    vote_id: str
    kind: str
    prompt: str
    chosen_id: str
    rejected_id: str
    verdict: str
    chosen_label: str
    rejected_label: str
    created_at: datetime

    @property
    def decisive(self) -> bool:
        return self.verdict in DECISIVE


def iter_preferences(votes: VoteStore, *, kind: str | None = None, decisive_only: bool = False) -> Iterator[Preference]:
    """Every vote (of ``kind``) as a :class:`Preference`, oldest first; the public reading of the votes.

    ``decisive_only`` leaves out ties and "both bad".  The record ids are history
    record ids (``HistoryStore.get``); a record deleted since the vote is not checked here.
    """
    for vote in votes.list(kind):
        if decisive_only and vote.verdict not in DECISIVE:
            continue
        flipped = vote.verdict == B_BETTER
        yield Preference(vote.id, vote.kind, vote.prompt,
                         vote.b_record_id if flipped else vote.a_record_id,
                         vote.a_record_id if flipped else vote.b_record_id, vote.verdict,
                         vote.b_label if flipped else vote.a_label,
                         vote.a_label if flipped else vote.b_label, vote.created_at)
