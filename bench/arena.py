"""Time to compute the Arena leaderboard at 1k and 10k votes, against a bare numpy fit of the same model.

    python -m bench arena [--votes 1000 10000] [--contenders 10] [--bootstrap 1000] [--runs 5]

Votes among ``--contenders`` text contenders with known strengths (Elo-scale
scores 40 apart, pairs drawn uniformly; 10 % ties, 5 % "both bad"), from a
seeded generator.  For each vote count, alternating, ``--runs`` times each:

(a) core: :func:`~desktop.core.arena.leaderboard.leaderboard` on the Vote
    objects (Newton fit, ``--bootstrap`` resamples for the 95 % intervals);
(b) bare: the textbook numpy route to the same numbers: the votes already as
    index arrays, the same prior (one virtual tie against a reference of
    strength 1) fitted by Hunter's MM iteration (``p_i = W_i / sum_j n_ij /
    (p_i + p_j)``) to a relative change of 1e-8, on the same bootstrap
    resamples (the same seeded draws), every resample iterated at once as one
    (resamples x contenders x contenders) array: no Python loop per resample.

Prints the medians, ``arena_ratio`` = median (b) / median (a) (above 1: the
core is faster than the bare fit), and the largest score and interval
difference between the two (Elo points), which must be well under a point:
the two fits have the same optimum.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import numpy as np

ELO_SPACING = 40.0
MM_TOLERANCE = 1e-8  # relative; the scores then agree with Newton's to ~1e-5 Elo points
MM_MAX_ITERATIONS = 100_000


def make_votes(n: int, contenders: int, seed: int = 0):
    """``n`` text votes among ``contenders`` labels, outcomes drawn from Bradley–Terry with known strengths."""
    from desktop.core.arena.votes import Vote

    rng = np.random.default_rng(seed)
    theta = np.arange(contenders) * ELO_SPACING * math.log(10) / 400
    labels = [f"model-{k:02d}" for k in range(contenders)]
    votes = []
    for _ in range(n):
        a, b = rng.choice(contenders, 2, replace=False)
        draw = rng.random()
        if draw < 0.10:
            verdict = "tie"
        elif draw < 0.15:
            verdict = "both_bad"
        else:
            verdict = "a" if rng.random() < 1 / (1 + math.exp(theta[b] - theta[a])) else "b"
        votes.append(Vote(kind="text", prompt=f"prompt {len(votes)}", a_label=labels[a], a_record_id="ra",
                          b_label=labels[b], b_record_id="rb", verdict=verdict))
    return votes


def mm_fit(i, j, s, count: int, weights, prior: float) -> np.ndarray:
    """Log-strengths (mean 0 per row) by Hunter's MM iteration, with ``prior`` tied games against a fixed
    reference of strength 1, for every row of ``weights`` (one resample per row) at once."""
    weights = np.atleast_2d(weights)
    pair = i * count + j
    points = np.empty((len(weights), count))
    games = np.empty((len(weights), count, count))
    for row, w in enumerate(weights):
        points[row] = np.bincount(i, w * s, count) + np.bincount(j, w * (1 - s), count) + prior * 0.5
        games[row] = np.bincount(pair, w, count * count).reshape(count, count)
    games = games + games.transpose(0, 2, 1)
    p = np.ones((len(weights), count))
    for _ in range(MM_MAX_ITERATIONS):
        denominator = (games / (p[:, :, None] + p[:, None, :])).sum(axis=2) + prior / (p + 1.0)
        new = points / denominator
        change = np.max(np.abs(new - p) / p)
        p = new
        if change < MM_TOLERANCE:
            break
    theta = np.log(p)
    return theta - theta.mean(axis=1, keepdims=True)


def bare(votes, bootstrap: int, seed: int, prior: float):
    """The same standings as the core's (scores and 2.5/97.5 percentiles, Elo scale), by ``mm_fit``."""
    labels = sorted({v.a_label for v in votes} | {v.b_label for v in votes})
    index = {label: n for n, label in enumerate(labels)}
    i = np.array([index[v.a_label] for v in votes])
    j = np.array([index[v.b_label] for v in votes])
    s = np.array([1.0 if v.verdict == "a" else 0.0 if v.verdict == "b" else 0.5 for v in votes])
    theta = mm_fit(i, j, s, len(labels), np.ones(len(votes)), prior)[0]
    rng = np.random.default_rng(seed)  # the core's draws, in the core's order
    counts = np.stack([np.bincount(rng.integers(0, len(votes), len(votes)), minlength=len(votes))
                       for _ in range(bootstrap)]).astype(float)
    draws = mm_fit(i, j, s, len(labels), counts, prior)
    low, high = np.percentile(draws, [2.5, 97.5], axis=0)
    scale = 400 / math.log(10)
    return {label: (1000 + scale * theta[n], 1000 + scale * low[n], 1000 + scale * high[n])
            for n, label in enumerate(labels)}


def main(argv: list[str]) -> int:
    from desktop.core.arena.leaderboard import PRIOR, leaderboard

    parser = argparse.ArgumentParser(prog="python -m bench arena")
    parser.add_argument("--votes", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument("--contenders", type=int, default=10)
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    for n in args.votes:
        votes = make_votes(n, args.contenders)
        core_s, bare_s = [], []
        board = reference = None
        for _ in range(args.runs):
            t = time.perf_counter()
            board = leaderboard(votes, "text", bootstrap=args.bootstrap, seed=0)
            core_s.append(time.perf_counter() - t)
            t = time.perf_counter()
            reference = bare(votes, args.bootstrap, 0, PRIOR)
            bare_s.append(time.perf_counter() - t)
        assert board is not None and reference is not None
        diff = max(abs(a - b) for st in board.standings
                   for a, b in zip((st.score, st.low, st.high), reference[st.label], strict=True))
        core, naive = statistics.median(core_s), statistics.median(bare_s)
        print(f"votes={n} contenders={args.contenders} bootstrap={args.bootstrap} runs={args.runs} "
              f"core_s={core:.3f} bare_s={naive:.3f} arena_ratio={naive / core:.1f} "
              f"core_min_s={min(core_s):.3f} max_diff_elo={diff:.2e}")
        top = board.standings[0]
        print(f"  best {top.label} {top.score:.0f} ({top.low:.0f}-{top.high:.0f}) from {top.votes} votes; "
              f"true spacing {ELO_SPACING:.0f} Elo points")
    return 0
