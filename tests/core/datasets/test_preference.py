"""The preference export from real arena votes beside a real history, read back with pyarrow."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.json as pj
import pytest

from desktop.core.arena.votes import Vote, VoteStore
from desktop.core.datasets.errors import NothingToExport
from desktop.core.datasets.preference import export_preference
from tests.support.history import make_record


def _pair(store, prompt, a_text, b_text, origin="generated"):
    a = make_record(prompt, output_text=a_text, model=make_record().model, origin=origin)
    b = make_record(prompt, output_text=b_text)
    store.save_many([a, b])
    return a, b


def _vote(votes, a, b, verdict):
    return votes.add(Vote(kind="text", prompt=a.prompt, a_label="smol", a_record_id=a.id, b_label="stories",
                          b_record_id=b.id, verdict=verdict))


def test_decisive_votes_become_chosen_and_rejected(store, tmp_path):
    votes = VoteStore.beside(store)
    a1, b1 = _pair(store, "Say hi", "Hello!", "hi hi hi")
    a2, b2 = _pair(store, "Count to 3", "1 2 3", "one two three", origin="imported")
    a3, b3 = _pair(store, "Tie me", "x", "y")
    _vote(votes, a1, b1, "a")
    _vote(votes, a2, b2, "b")
    _vote(votes, a3, b3, "tie")
    _vote(votes, a3, b3, "both_bad")
    _vote(votes, a1, b1, "a")  # the same pair voted again: an exact duplicate
    result = export_preference(store, votes, tmp_path / "dpo.jsonl")
    table = pj.read_json(result.path)
    assert all(table.schema.field(n).type == pa.string() for n in ("prompt", "chosen", "rejected", "origin"))
    rows = table.to_pylist()
    assert [(r["prompt"], r["chosen"], r["rejected"]) for r in rows] == [
        ("Say hi", "Hello!", "hi hi hi"), ("Count to 3", "one two three", "1 2 3")]
    assert [r["origin"] for r in rows] == ["generated", "generated+imported"]
    assert (result.rows, result.left_out, result.dropped.exact, result.missing) == (2, 2, 1, 0)


def test_only_ties_or_deleted_answers_leave_no_file(store, tmp_path):
    votes = VoteStore.beside(store)
    a, b = _pair(store, "Tie me", "x", "y")
    _vote(votes, a, b, "tie")
    out = tmp_path / "dpo.jsonl"
    with pytest.raises(NothingToExport, match="no decisive text arena votes"):
        export_preference(store, votes, out)
    _vote(votes, a, b, "a")
    store.delete([b.id])
    with pytest.raises(NothingToExport, match="both answers in the history"):
        export_preference(store, votes, out)
    assert not out.exists()
