"""Bradley–Terry maths against hand-computed values and a seeded simulation."""

from __future__ import annotations

import math
import random

import pytest

from desktop.core.arena.leaderboard import elo, fit_strengths, leaderboard
from desktop.core.arena.votes import A_BETTER, B_BETTER, BOTH_BAD, TIE, Vote


def _votes(spec, kind="text"):
    """``[("A", "B", verdict, times), ...]`` as Votes (A on the left)."""
    return [Vote(kind, "p", a, f"{a}-{n}", b, f"{b}-{n}", verdict)
            for a, b, verdict, times in spec for n in range(times)]


# A beats B 1-0 with 2 ties (2 of 3 games as points), B beats C 2-1, A beats C 4-1, every share exactly
# p_i / (p_i + p_j) for p = (4, 2, 1): the likelihood equations W_i = Σ_j n_ij p_i / (p_i + p_j) hold there,
# so the maximum-likelihood strengths are (4, 2, 1) up to scale: log-strengths ln2, 0, -ln2 around their mean.
HAND = [("A", "B", A_BETTER, 1), ("A", "B", TIE, 2), ("B", "C", A_BETTER, 2), ("C", "B", A_BETTER, 1),
        ("A", "C", A_BETTER, 4), ("C", "A", A_BETTER, 1)]


def test_three_models_match_the_hand_computed_strengths():
    board = leaderboard(_votes(HAND), "text", prior=0, bootstrap=0)
    assert [s.label for s in board.standings] == ["A", "B", "C"]
    expected = {"A": 1000 + 400 * math.log10(2), "B": 1000.0, "C": 1000 - 400 * math.log10(2)}
    for standing in board.standings:
        assert standing.score == pytest.approx(expected[standing.label], abs=1e-6)
    a, b, c = board.standings
    assert (a.wins, a.losses, a.ties, a.votes) == (5, 1, 2, 8)
    assert (b.wins, b.losses, b.ties) == (2, 2, 2) and (c.wins, c.losses, c.ties) == (2, 6, 0)
    assert board.votes == 11


def test_the_fit_does_not_depend_on_the_order_or_the_side_of_the_votes():
    votes = _votes(HAND)
    shuffled = list(votes)
    random.Random(3).shuffle(shuffled)
    mirrored = [Vote(v.kind, v.prompt, v.b_label, v.b_record_id, v.a_label, v.a_record_id,
                     {A_BETTER: B_BETTER, B_BETTER: A_BETTER}.get(v.verdict, v.verdict)) for v in votes]
    scores = [[s.score for s in leaderboard(x, "text", bootstrap=0).standings] for x in (votes, shuffled, mirrored)]
    assert scores[1] == pytest.approx(scores[0]) and scores[2] == pytest.approx(scores[0])


def test_both_bad_counts_as_a_tie():
    tie = leaderboard(_votes([("A", "B", A_BETTER, 2), ("A", "B", TIE, 2)]), "text", bootstrap=0)
    bad = leaderboard(_votes([("A", "B", A_BETTER, 2), ("A", "B", BOTH_BAD, 2)]), "text", bootstrap=0)
    assert [s.score for s in bad.standings] == pytest.approx([s.score for s in tie.standings])


def test_the_prior_keeps_an_unbeaten_model_finite_and_ranked_first():
    board = leaderboard(_votes([("A", "B", A_BETTER, 3), ("B", "C", A_BETTER, 3), ("A", "C", A_BETTER, 3)]), "text",
                        bootstrap=200)
    assert [s.label for s in board.standings] == ["A", "B", "C"]
    assert all(math.isfinite(s.score) and s.low <= s.score <= s.high for s in board.standings)


@pytest.mark.slow
def test_the_interval_contains_the_true_strength_in_a_seeded_simulation():
    truth = {"w": 0.9, "x": 0.3, "y": -0.4, "z": -0.8}  # log-strengths, mean 0
    rng = random.Random(12)
    names = sorted(truth)
    votes = []
    for n in range(2000):
        a, b = rng.sample(names, 2)
        p_a = 1 / (1 + math.exp(truth[b] - truth[a]))
        votes.append(Vote("text", "p", a, f"r{n}a", b, f"r{n}b", A_BETTER if rng.random() < p_a else B_BETTER))
    board = leaderboard(votes, "text", bootstrap=300, seed=5)
    assert [s.label for s in board.standings] == ["w", "x", "y", "z"]
    for standing in board.standings:
        assert standing.low < elo(truth[standing.label]) < standing.high, standing
        assert standing.high - standing.low < 60  # 2,000 votes pin each score within tens of points


def test_the_bootstrap_is_seeded():
    votes = _votes(HAND)
    first = leaderboard(votes, "text", bootstrap=100, seed=1).standings
    assert leaderboard(votes, "text", bootstrap=100, seed=1).standings == first
    assert leaderboard(votes, "text", bootstrap=100, seed=2).standings != first


def test_kinds_are_ranked_apart_and_no_votes_says_so():
    votes = _votes(HAND) + _votes([("P", "Q", A_BETTER, 2)], kind="image")
    assert {s.label for s in leaderboard(votes, "image", bootstrap=0).standings} == {"P", "Q"}
    empty = leaderboard(votes[:0], "text")
    assert empty.standings == [] and "No text votes yet" in empty.notice


def test_fit_strengths_weights_count_games():
    import numpy as np

    i, j, s = np.array([0, 1]), np.array([1, 0]), np.array([1.0, 1.0])  # one win each
    even = fit_strengths(i, j, s, 2, prior=0)
    tripled = fit_strengths(i, j, s, 2, prior=0, weights=[3, 1])  # 0 wins 3, 1 wins 1: ratio 3
    assert even == pytest.approx([0, 0]) and tripled[0] - tripled[1] == pytest.approx(math.log(3))
