"""Every generation in one searchable LanceDB history (see ``store.py``).

Importing this package is cheap: lancedb, pyarrow and the embedder load when a
store is opened or a search runs.
"""

from __future__ import annotations

from desktop.core.history.errors import (
    HistoryError,
    HistoryVersionError,
    HistoryWriteError,
    ImportFormatError,
    InvalidFilter,
    RecordNotFound,
)

__all__ = [
    "HistoryError", "HistoryVersionError", "HistoryWriteError", "ImportFormatError", "InvalidFilter",
    "RecordNotFound", "HistoryStore", "open_history", "SearchQuery",
]


def __getattr__(name: str):
    if name in ("HistoryStore", "open_history"):
        from desktop.core.history import store

        return getattr(store, name)
    if name in ("SearchQuery", "SearchResult", "Hit"):
        from desktop.core.history import search

        return getattr(search, name)
    raise AttributeError(name)
