"""Errors a person can meet while exporting a dataset."""

from __future__ import annotations

from desktop.core.errors import GenLabError


class DatasetError(GenLabError):
    """A dataset could not be exported as asked."""


class NothingToExport(DatasetError):
    """The filters (or the duplicate checks) left no row; no file is written."""
