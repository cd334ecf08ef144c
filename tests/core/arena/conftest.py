"""A real history store and vote store in a temporary folder."""

from __future__ import annotations

import pytest


@pytest.fixture
def votes(history):
    from desktop.core.arena.votes import VoteStore

    return VoteStore.beside(history)


@pytest.fixture
def two_answers(history):
    """Two saved text records answering one prompt: (left, right)."""
    from desktop.core.records import GenerationRecord, ModelIdentity

    left = GenerationRecord("text", "Write a haiku about rain", output_text="Rain taps the window",
                            model=ModelIdentity(name="alpha"))
    right = GenerationRecord("text", "Write a haiku about rain", output_text="Clouds weep softly",
                             model=ModelIdentity(name="beta"))
    history.save_many([left, right], timeout=60)
    return left, right
