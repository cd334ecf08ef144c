"""Errors a person can meet while using document collections."""

from __future__ import annotations

from desktop.core.errors import GenLabError


class KnowledgeError(GenLabError):
    """A collection could not be created, indexed, searched or deleted."""


class CollectionNotFound(KnowledgeError):
    """No collection has the given name."""


class Unreadable(Exception):
    """A file was passed over; ``reason`` says why in words a person understands.

    Not a GenLabError: the indexer lists it with the file and goes on.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
