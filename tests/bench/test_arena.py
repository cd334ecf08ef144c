"""bench arena's bare MM fit reaches the core leaderboard's numbers (the ratio compares like with like)."""

from __future__ import annotations

from bench.arena import bare, make_votes
from desktop.core.arena.leaderboard import PRIOR, leaderboard


def test_the_bare_fit_agrees_with_the_core_leaderboard():
    votes = make_votes(300, 4, seed=3)
    board = leaderboard(votes, "text", bootstrap=30, seed=0)
    reference = bare(votes, 30, 0, PRIOR)
    assert [st.label for st in board.standings] == sorted(reference, key=lambda k: -reference[k][0])
    for st in board.standings:
        for core, mm in zip((st.score, st.low, st.high), reference[st.label], strict=True):
            assert abs(core - mm) < 0.01
    assert board.standings[0].label == "model-03"  # the strongest by construction
