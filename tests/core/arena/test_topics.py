"""Topic leaderboards through the history's keyword search, and star ratings per model."""

from __future__ import annotations

import pytest

from desktop.core.arena.leaderboard import leaderboard
from desktop.core.arena.topics import star_ratings, votes_on_topic
from desktop.core.arena.votes import A_BETTER, B_BETTER, Vote, record_vote
from desktop.core.records import GenerationRecord, ModelIdentity


def _pair(history, prompt, session="arena-s"):
    left = GenerationRecord("text", prompt, output_text="one", session_id=session, model=ModelIdentity(name="alpha"))
    right = GenerationRecord("text", prompt, output_text="two", session_id=session, model=ModelIdentity(name="beta"))
    history.save_many([left, right], timeout=60)
    return left, right


@pytest.fixture
def topical(history, votes):
    """Coding prompts won by alpha, poetry prompts won by beta."""
    for n, prompt in enumerate(["Write python code to sort a list", "Fix this python function",
                                "A poem about the autumn sea", "A sonnet about the moon", "A poem on rain"]):
        left, right = _pair(history, prompt)
        coding = "python" in prompt
        # alternate sides so the winner is not always on one side
        a, b = ("alpha", "beta") if n % 2 else ("beta", "alpha")
        la, lb = (left, right) if n % 2 else (right, left)
        winner_left = (a == "alpha") == coding
        record_vote(votes, history, Vote("text", prompt, a, la.id, b, lb.id, A_BETTER if winner_left else B_BETTER,
                                         session_id="arena-s"))
    return votes.list()


def test_a_topic_keeps_the_votes_whose_prompts_match(history, topical):
    coding = votes_on_topic(topical, history, "python", mode="keyword")
    assert sorted(v.prompt for v in coding) == ["Fix this python function", "Write python code to sort a list"]
    assert [s.label for s in leaderboard(coding, "text", bootstrap=0, topic="python").standings] == ["alpha", "beta"]
    poems = votes_on_topic(topical, history, "poem", mode="keyword")
    assert len(poems) == 2
    assert leaderboard(poems, "text", bootstrap=0).standings[0].label == "beta"
    assert len(votes_on_topic(topical, history, "  ")) == len(topical)


def test_a_topic_matching_nothing_says_no_votes_match(history, topical):
    matched = votes_on_topic(topical, history, "quantum chromodynamics", mode="keyword")
    board = leaderboard(matched, "text", topic="quantum chromodynamics")
    assert matched == [] and board.standings == []
    assert board.notice == "No text votes match the topic 'quantum chromodynamics'."


def test_a_topic_ignores_records_outside_the_arena(history, topical):
    # Another chat about python is a history match, but no vote is about it.
    history.save_and_wait(GenerationRecord("text", "python decorators explained", output_text="x", session_id="chat"))
    assert len(votes_on_topic(topical, history, "python", mode="keyword")) == 2


def test_star_ratings_per_model_mean_and_count(history):
    assert star_ratings(history, "text") == []
    records = [GenerationRecord("text", f"p{n}", model=ModelIdentity(name=name, file=f"{name}.gguf"), rating=r)
               for n, (name, r) in enumerate([("alpha", 5), ("alpha", 4), ("alpha", 0), ("beta", 2),
                                              ("", 3)])]
    records.append(GenerationRecord("image", "img", model=ModelIdentity(name="sd"), rating=5))
    history.save_many(records, timeout=60)
    rows = star_ratings(history, "text")
    assert [(r.model, r.mean, r.count) for r in rows] == [("alpha", 4.5, 2), (".gguf", 3.0, 1), ("beta", 2.0, 1)]
    assert [(r.model, r.count) for r in star_ratings(history, "image")] == [("sd", 1)]
