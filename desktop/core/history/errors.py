"""Errors a person can meet while using the history."""

from __future__ import annotations

from desktop.core.errors import GenLabError


class HistoryError(GenLabError):
    """The history store could not do what was asked."""


class HistoryVersionError(HistoryError):
    """The history database was written by a newer GenLab."""


class HistoryWriteError(HistoryError):
    """A record could not be written (disk full, permissions...)."""


class InvalidFilter(HistoryError):
    """A search filter names a field that does not exist or has a bad value."""


class ImportFormatError(HistoryError):
    """An import file is not JSONL, a zip of JSONL, or Parquet."""


class RecordNotFound(HistoryError):
    """No record has the given id."""
