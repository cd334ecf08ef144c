"""The leaderboard: Bradley–Terry strengths from the votes, with bootstrap 95 % intervals.

Model: contender *i* beats *j* with probability ``p_i / (p_i + p_j)``, or
``σ(θ_i - θ_j)`` with ``θ = ln p``.  The log-likelihood is concave in θ, so
Newton's method (steps capped at 1 in θ) finds the maximum in a few
iterations; the optimum satisfies ``W_i = Σ_j n_ij p_i / (p_i + p_j)``, where
``W_i`` counts *i*'s wins and ``n_ij`` the votes between *i* and *j*.
(Hunter's MM iteration has the same fixed point but needs thousands of
steps when the strengths are far apart, too slow for a bootstrap.)

* A tie counts as half a win for each side; "both bad" is a tie too (neither
  answer was better), as in Chatbot Arena.
* ``prior``: every contender also plays that many virtual tied games against a
  fixed reference of strength 1.  It keeps a contender that never lost (or
  never won) finite and pulls thin evidence towards the middle; with 0 the
  fit is the plain maximum-likelihood estimate (which exists when every
  contender has both won and lost, directly or through others).
* Scores are reported on the Elo scale: ``1000 + 400 · log10(p_i)``, with the
  strengths' geometric mean at 1 (score 1000), so 120 points apart is 2:1 odds.
* Intervals: percentile bootstrap over the votes (resampled with replacement,
  ``bootstrap`` times, from a seeded generator), 2.5th to 97.5th percentile.

The fit depends on the set of votes only, never on their order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

from desktop.core.arena.votes import A_BETTER, B_BETTER, Vote

PRIOR = 1.0
BOOTSTRAP = 1000
ELO_BASE, ELO_SCALE = 1000.0, 400.0 / math.log(10)
MAX_ITERATIONS = 200
MAX_STEP = 1.0  # in log-strength per Newton step
TOLERANCE = 1e-9


@dataclass(frozen=True)
class Standing:
    """One contender's row: Elo-scale score, its 95 % interval and its record."""

    label: str
    score: float
    low: float
    high: float
    wins: int
    losses: int
    ties: int  # ties and "both bad"

    @property
    def votes(self) -> int:
        return self.wins + self.losses + self.ties


@dataclass
class Leaderboard:
    """The standings of one kind, best first; ``notice`` says why there are none."""

    kind: str
    standings: list[Standing] = field(default_factory=list)
    votes: int = 0
    bootstrap: int = 0
    notice: str = ""
    topic: str = ""


def _games(votes: Sequence[Vote], index: dict[str, int]):
    """(i, j, score of i) arrays: score 1 a win of i, 0 a loss, 0.5 a tie."""
    import numpy as np

    i = np.array([index[v.a_label] for v in votes], dtype=np.int64)
    j = np.array([index[v.b_label] for v in votes], dtype=np.int64)
    s = np.array([1.0 if v.verdict == A_BETTER else 0.0 if v.verdict == B_BETTER else 0.5 for v in votes])
    return i, j, s


def fit_strengths(i, j, s, count: int, *, prior: float = PRIOR, weights=None):
    """Log-strengths (mean 0) of ``count`` contenders from games ``(i, j, score of i)``; see the module docstring.

    ``weights``: how many times each game counts (the bootstrap's resampling counts).
    """
    import numpy as np

    w = np.ones(len(i)) if weights is None else np.asarray(weights, dtype=float)
    points = np.bincount(i, w * s, count) + np.bincount(j, w * (1 - s), count)
    games = np.zeros((count, count))
    np.add.at(games, (i, j), w)
    games = games + games.T
    theta = np.zeros(count)
    for _ in range(MAX_ITERATIONS):
        expected = 1 / (1 + np.exp(theta[None, :] - theta[:, None]))  # P(i beats j)
        own = 1 / (1 + np.exp(-theta))  # P(i beats the reference)
        gradient = points - (games * expected).sum(axis=1) + prior * (0.5 - own)
        spread = games * expected * expected.T
        hessian = np.diag(spread.sum(axis=1) + prior * own * (1 - own)) - spread  # minus the log-likelihood's
        step = np.linalg.lstsq(hessian, gradient, rcond=None)[0]  # lstsq: without a prior it is singular
        largest = np.max(np.abs(step)) if count else 0.0
        if largest > MAX_STEP:  # far from the optimum (or none: a contender never lost) walk, do not jump
            step *= MAX_STEP / largest
        theta = theta + step
        if prior == 0:
            theta = theta - theta.mean()
        if largest < TOLERANCE:
            break
    return theta - theta.mean()


def leaderboard(votes: Sequence[Vote], kind: str, *, bootstrap: int = BOOTSTRAP, seed: int = 0,
                prior: float = PRIOR, topic: str = "") -> Leaderboard:
    """The Bradley–Terry standings of the ``kind`` votes among ``votes``, best first."""
    import numpy as np

    mine = [v for v in votes if v.kind == kind]
    board = Leaderboard(kind, votes=len(mine), bootstrap=bootstrap, topic=topic)
    if not mine:
        board.notice = (f"No {kind} votes match the topic {topic!r}." if topic
                        else f"No {kind} votes yet: vote in the arena first.")
        return board
    labels = sorted({v.a_label for v in mine} | {v.b_label for v in mine})
    index = {label: n for n, label in enumerate(labels)}
    i, j, s = _games(mine, index)
    theta = fit_strengths(i, j, s, len(labels), prior=prior)
    rng = np.random.default_rng(seed)
    draws = np.empty((bootstrap, len(labels)))
    for b in range(bootstrap):
        counts = np.bincount(rng.integers(0, len(mine), len(mine)), minlength=len(mine))
        draws[b] = fit_strengths(i, j, s, len(labels), prior=prior, weights=counts)
    low, high = (np.percentile(draws, [2.5, 97.5], axis=0) if bootstrap else (theta, theta))
    for n, label in enumerate(labels):
        as_a, as_b = i == n, j == n
        wins = int(((s == 1) & as_a).sum() + ((s == 0) & as_b).sum())
        losses = int(((s == 0) & as_a).sum() + ((s == 1) & as_b).sum())
        ties = int(((s == 0.5) & (as_a | as_b)).sum())
        board.standings.append(Standing(label, elo(theta[n]), elo(low[n]), elo(high[n]), wins, losses, ties))
    board.standings.sort(key=lambda st: (-st.score, st.label))
    return board


def elo(theta: float) -> float:
    """A log-strength on the Elo scale (see the module docstring)."""
    return ELO_BASE + ELO_SCALE * float(theta)
