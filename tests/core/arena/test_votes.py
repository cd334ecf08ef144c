"""Votes in LanceDB beside the history: record, read back, export, delete, refuse."""

from __future__ import annotations

import csv
import json

import pytest

from desktop.core.arena.errors import ArenaError, VoteRefused
from desktop.core.arena.votes import (
    A_BETTER,
    B_BETTER,
    TIE,
    Vote,
    VoteStore,
    export_votes,
    iter_preferences,
    parse_verdict,
    record_vote,
)


def _vote(left, right, verdict):
    return Vote("text", left.prompt, "alpha", left.id, "beta", right.id, verdict,
                a_model="/m/alpha.gguf", b_model="/m/beta.gguf", a_values={"temperature": 0.2})


def test_a_vote_reads_back_with_every_field(history, votes, two_answers):
    left, right = two_answers
    stored = record_vote(votes, history, _vote(left, right, B_BETTER))
    again = VoteStore.beside(history).get(stored.id)  # a second store on the same folder sees it
    assert again == stored
    assert again.winner == "beta" and again.a_values == {"temperature": 0.2}


def test_a_vote_on_a_deleted_record_is_refused(history, votes, two_answers):
    left, right = two_answers
    history.delete([right.id])
    with pytest.raises(VoteRefused, match="Answer B .* is not in the history any more"):
        record_vote(votes, history, _vote(left, right, A_BETTER))
    assert votes.count() == 0


def test_preferences_put_the_better_answer_first(history, votes, two_answers):
    left, right = two_answers
    for verdict in (A_BETTER, B_BETTER, TIE):
        record_vote(votes, history, _vote(left, right, verdict))
    prefs = list(iter_preferences(votes))
    assert [(p.chosen_id, p.rejected_id, p.verdict) for p in prefs] == [
        (left.id, right.id, A_BETTER), (right.id, left.id, B_BETTER), (left.id, right.id, TIE)]
    assert [p.chosen_label for p in prefs[:2]] == ["alpha", "beta"]
    decisive = list(iter_preferences(votes, decisive_only=True))
    assert [p.verdict for p in decisive] == [A_BETTER, B_BETTER] and all(p.prompt == left.prompt for p in decisive)


def test_votes_export_to_jsonl_and_csv(tmp_path, history, votes, two_answers):
    left, right = two_answers
    record_vote(votes, history, _vote(left, right, A_BETTER))
    record_vote(votes, history, _vote(left, right, TIE))
    assert export_votes(votes, tmp_path / "v.jsonl") == 2
    lines = [json.loads(x) for x in (tmp_path / "v.jsonl").read_text().splitlines()]
    assert [x["verdict"] for x in lines] == [A_BETTER, TIE] and lines[0]["a_record_id"] == left.id
    export_votes(votes, tmp_path / "v.csv")
    rows = list(csv.DictReader(open(tmp_path / "v.csv", encoding="utf-8")))
    assert [r["verdict"] for r in rows] == [A_BETTER, TIE] and json.loads(rows[0]["a_values"]) == {"temperature": 0.2}
    with pytest.raises(ArenaError, match="Name a .jsonl or .csv file"):
        export_votes(votes, tmp_path / "v.xlsx")


def test_deleting_a_vote_leaves_no_old_version(history, votes, two_answers):
    left, right = two_answers
    keep = record_vote(votes, history, _vote(left, right, A_BETTER))
    gone = record_vote(votes, history, _vote(left, right, B_BETTER))
    assert votes.delete([gone.id]) == 1
    assert [v.id for v in votes.list()] == [keep.id]
    assert votes.delete([gone.id]) == 0
    versions = votes.table.list_versions()
    for version in versions:  # no version the table keeps still holds the deleted vote
        votes.table.checkout(version["version"] if isinstance(version, dict) else version.version)
        assert votes.table.count_rows(f"id = '{gone.id}'") == 0
    votes.table.checkout_latest()


@pytest.mark.parametrize("text,verdict", [("1", A_BETTER), ("2", B_BETTER), (" 3 ", TIE), ("4", "both_bad"),
                                          ("both bad", "both_bad")])
def test_vote_keys(text, verdict):
    assert parse_verdict(text) == verdict


@pytest.mark.parametrize("text", ["", "5", "x", "12"])
def test_an_invalid_vote_names_the_choices(text):
    with pytest.raises(VoteRefused, match=r"1 \(A better\), 2 \(B better\), 3 \(tie\) or 4 \(both bad\)"):
        parse_verdict(text)
