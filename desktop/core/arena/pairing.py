"""Matches: two contenders' answers to one prompt, in a seeded random left/right order, names hidden.

:func:`plan_matches` makes one match per prompt and pair of contenders.  A
seeded :class:`random.Random` decides for each match which contender is shown
on the left, and draws the prompt's seed when none is given; both sides of a
match get the same seed.  A match tells who is who (:meth:`Match.names`) only
once it has a verdict.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from typing import Sequence

from desktop.core.arena.contenders import Contender, check_contenders
from desktop.core.arena.errors import ArenaError
from desktop.core.records import GenerationRecord

MAX_SEED = 2**31 - 1


@dataclass
class Answer:
    """One side's answer: its history record once generated, or why there is none."""

    record: GenerationRecord | None = None
    error: str = ""

    @property
    def text(self) -> str:
        return self.record.output_text if self.record is not None else ""

    @property
    def image_path(self) -> str:
        return self.record.image_path if self.record is not None else ""


@dataclass
class Match:
    """Two answers to ``prompt`` (same ``seed``), shown as A (left) and B (right)."""

    index: int
    prompt: str
    seed: int
    _sides: tuple[Contender, Contender] = field(repr=False)  # (left, right): read through names() once voted
    left: Answer = field(default_factory=Answer)
    right: Answer = field(default_factory=Answer)
    verdict: str | None = None

    @property
    def kind(self) -> str:
        return self._sides[0].kind

    @property
    def votable(self) -> bool:
        """Both answers are there."""
        return self.left.record is not None and self.right.record is not None

    @property
    def errors(self) -> list[str]:
        return [e for e in (self.left.error, self.right.error) if e]

    def names(self) -> tuple[str, str]:
        """The labels of A and B; refused until the match has a verdict (the arena is blind)."""
        if self.verdict is None:
            raise ArenaError("The contenders' names are shown after the vote.", "Vote first (keys 1-4).")
        return self._sides[0].label, self._sides[1].label

    def contenders(self) -> tuple[Contender, Contender]:
        """(left, right) for the runner and the vote: never for display before the vote."""
        return self._sides

    def answer_of(self, contender: Contender) -> Answer:
        return self.left if contender is self._sides[0] else self.right


def plan_matches(contenders: Sequence[Contender], prompts: Sequence[str], *, order_seed: int | None = None,
                 seed: int | None = None) -> list[Match]:
    """One :class:`Match` per prompt and pair of contenders, sides in a random order.

    ``order_seed``: seeds the left/right draws (None: fresh entropy); ``seed``: the
    generation seed of the first prompt, the next ones counting up (None: drawn).
    """
    check_contenders(contenders)
    prompts = [p for p in (p.strip() for p in prompts) if p]
    if not prompts:
        raise ArenaError("There are no prompts for the arena.", "Give at least one prompt that is not empty.")
    rng = random.Random(order_seed)
    matches: list[Match] = []
    for number, prompt in enumerate(prompts):
        prompt_seed = seed + number if seed is not None else rng.randint(0, MAX_SEED)
        for first, second in itertools.combinations(contenders, 2):
            sides = (second, first) if rng.random() < 0.5 else (first, second)
            matches.append(Match(len(matches), prompt, prompt_seed, sides))
    return matches


def vote_on(match: Match, verdict: str, votes, history, *, session_id: str = ""):
    """Record ``verdict`` (a :data:`~desktop.core.arena.votes.VERDICTS` value) on ``match``; returns the Vote.

    Refused (:class:`~desktop.core.arena.errors.VoteRefused`) when an answer is missing
    or no longer in the history, or the match already has a verdict.
    """
    from desktop.core.arena.errors import VoteRefused
    from desktop.core.arena.votes import VERDICTS, Vote, record_vote

    if match.verdict is not None:
        raise VoteRefused("This pair has a vote already.", "Go on to the next pair.")
    if not match.votable:
        raise VoteRefused("This pair cannot be voted on: " + (" ".join(match.errors) or "an answer is missing."),
                          "Fix the contender that failed and run the arena again.")
    if verdict not in VERDICTS:
        raise VoteRefused(f"{verdict!r} is not a verdict.", f"Use one of {', '.join(VERDICTS)}.")
    left, right = match.contenders()
    assert match.left.record is not None and match.right.record is not None  # votable
    vote = Vote(match.kind, match.prompt, left.label, match.left.record.id, right.label, match.right.record.id,
                verdict, a_model=str(left.path), b_model=str(right.path), a_values=dict(left.values),
                b_values=dict(right.values), session_id=session_id)
    record_vote(votes, history, vote)
    match.verdict = verdict
    return vote
