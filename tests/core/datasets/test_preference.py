"""The preference export from real arena votes beside a real history, read back with pyarrow."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.json as pj
import pytest

from desktop.core.arena.votes import Vote, VoteStore
from desktop.core.datasets.errors import DatasetError, NothingToExport
from desktop.core.datasets.preference import PreferenceSelection, export_preference
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


def _unit(seed: int, nudge: float = 0.0) -> list[float]:
    import numpy as np

    from desktop.core.history.schema import VECTOR_DIM

    v = np.random.default_rng(seed).normal(size=VECTOR_DIM)
    if nudge:
        v = v + nudge * np.random.default_rng(seed + 1000).normal(size=VECTOR_DIM)
    return list(v / np.linalg.norm(v))


def _embedded_pair(store, prompt, a_text, b_text, seed, nudge=0.0):
    a, b = make_record(prompt, output_text=a_text), make_record(prompt, output_text=b_text)
    store.save_embedded([a, b], [_unit(seed, nudge), _unit(seed + 50)])
    return a, b


def test_search_experiment_and_near_duplicates_narrow_the_votes(store, tmp_path):
    votes = VoteStore.beside(store)
    a1, b1 = _embedded_pair(store, "python sort a list", "sorted(xs)", "xs.sort() maybe", seed=1)
    a2, b2 = _embedded_pair(store, "python reverse a list", "xs[::-1]", "reverse it", seed=1, nudge=0.05)
    a3, b3 = _embedded_pair(store, "a poem about rain", "Rain falls", "wet", seed=3)
    for a, b in ((a1, b1), (a2, b2), (a3, b3)):
        _vote(votes, a, b, "a")
    store.flush()

    found = export_preference(store, votes, tmp_path / "py.jsonl", PreferenceSelection(search="python", mode="keyword"))
    assert [r["prompt"] for r in pj.read_json(found.path).to_pylist()] == ["python sort a list",
                                                                           "python reverse a list"]
    assert (found.rows, found.matched) == (2, 2)

    near = export_preference(store, votes, tmp_path / "near.jsonl", PreferenceSelection(near_duplicates=0.9))
    table = pj.read_json(near.path)
    assert table.column("prompt").to_pylist() == ["python sort a list", "a poem about rain"]
    assert all(table.schema.field(n).type == pa.string() for n in table.schema.names)
    assert (near.rows, near.dropped.near, near.dropped.exact, near.dropped.unembedded) == (2, 1, 0, 0)
    assert "1 near duplicates at cosine >= 0.9 dropped" in near.summary()

    only_rain = PreferenceSelection(prompts=frozenset({"a poem about rain"}), experiment="rain")
    assert export_preference(store, votes, tmp_path / "rain.jsonl", only_rain).rows == 1


def test_selections_that_match_nothing_say_which_and_write_no_file(store, tmp_path):
    votes = VoteStore.beside(store)
    a, b = _embedded_pair(store, "python sort", "sorted(xs)", "no", seed=1)
    _vote(votes, a, b, "b")
    store.flush()
    out = tmp_path / "none.jsonl"
    with pytest.raises(NothingToExport, match="No decisive arena vote has an answer matching the search 'zebra'"):
        export_preference(store, votes, out, PreferenceSelection(search="zebra", mode="keyword"))
    with pytest.raises(NothingToExport, match="on a prompt of the experiment 'sweep'"):
        export_preference(store, votes, out, PreferenceSelection(prompts=frozenset({"other"}), experiment="sweep"))
    with pytest.raises(NothingToExport, match="matching model=nobody"):
        export_preference(store, votes, out, PreferenceSelection(filters={"model": "nobody"}))
    with pytest.raises(DatasetError, match="text votes only"):
        export_preference(store, votes, out, PreferenceSelection(filters={"kind": "image"}))
    assert not out.exists()
