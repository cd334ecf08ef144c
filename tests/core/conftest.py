"""Fixtures shared by the core domains' tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def history(tmp_path):
    """A real history store (no embedder) in a temporary folder; experiments and votes live beside it."""
    from desktop.core.history.store import HistoryStore

    store = HistoryStore(tmp_path / "history", embedder=None)
    yield store
    store.close()
