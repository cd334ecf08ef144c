"""Generating both answers on the real text engine, and voting on them."""

from __future__ import annotations

import pytest

from desktop.core.arena.contenders import make_contender
from desktop.core.arena.errors import VoteRefused
from desktop.core.arena.pairing import plan_matches, vote_on
from desktop.core.arena.runner import PARAMETER_KEY, generate_answers
from desktop.core.arena.votes import A_BETTER

# the slow set: most tests here load a real model or pipeline, or spawn processes
pytestmark = pytest.mark.slow


@pytest.mark.slow
def test_both_answers_are_history_records_with_one_seed(history, votes, stories260k, tiny_gguf):
    a = make_contender("text", str(stories260k))
    b = make_contender("text", str(tiny_gguf), {"temperature": 0.5})
    matches = plan_matches([a, b], ["Once upon a time", "The cat"], order_seed=2, seed=11)
    run = generate_answers(matches, history=history, session_id="arena-1", common={"max_tokens": 8})
    assert run.generated == 4 and run.failed == 0
    for match in matches:
        assert match.votable
        left, right = match.left.record, match.right.record
        assert left.prompt == right.prompt == match.prompt and left.seed == right.seed == match.seed
        assert {left.model.file, right.model.file} == {stories260k.name, tiny_gguf.name}
        assert left.parameters[PARAMETER_KEY]["session"] == "arena-1"
        assert history.get(left.id).session_id == "arena-1"
    vote = vote_on(matches[0], A_BETTER, votes, history, session_id="arena-1")
    assert votes.get(vote.id).a_record_id == matches[0].left.record.id
    assert vote.a_label == matches[0].names()[0]
    with pytest.raises(VoteRefused, match="has a vote already"):
        vote_on(matches[0], A_BETTER, votes, history)


def test_a_contender_that_fails_to_load_keeps_the_other_answer(tmp_path, history, votes, stories260k):
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\0" * 64)
    a = make_contender("text", str(stories260k))
    b = make_contender("text", str(broken))
    matches = plan_matches([a, b], ["Once upon a time"], order_seed=1, seed=5)
    run = generate_answers(matches, history=history, common={"max_tokens": 4})
    match = matches[0]
    assert set(run.load_errors) == {"broken"}
    kept, failed = (match.left, match.right) if match.contenders()[0] is a else (match.right, match.left)
    assert kept.record is not None and history.get(kept.record.id).output_text == kept.text
    assert failed.record is None and failed.error.startswith("Could not load broken (broken.gguf):")
    with pytest.raises(VoteRefused, match="cannot be voted on: Could not load broken"):
        vote_on(match, A_BETTER, votes, history)
    assert votes.count() == 0


def test_a_vote_after_an_answer_was_deleted_is_refused(history, votes, stories260k, tiny_gguf):
    matches = plan_matches([make_contender("text", str(stories260k)), make_contender("text", str(tiny_gguf))],
                           ["Once"], order_seed=1, seed=1)
    generate_answers(matches, history=history, common={"max_tokens": 4})
    history.delete([matches[0].right.record.id])
    with pytest.raises(VoteRefused, match="Answer B .* is not in the history any more"):
        vote_on(matches[0], A_BETTER, votes, history)
    assert matches[0].verdict is None
