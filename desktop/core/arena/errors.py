"""The arena's user-facing errors."""

from __future__ import annotations

from desktop.core.errors import GenLabError


class ArenaError(GenLabError):
    """Bad arena input: too few contenders, two identical ones, a vote that cannot be taken."""


class VoteRefused(ArenaError):
    """A vote that cannot be recorded (an answer missing or deleted from the history, a bad verdict)."""


class VoteNotFound(ArenaError):
    """No vote has the id given."""
