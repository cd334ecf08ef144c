"""Errors a person can meet while writing, planning and running an experiment."""

from __future__ import annotations

from desktop.core.errors import GenLabError


class ExperimentError(GenLabError):
    """Something about an experiment is wrong (base class)."""


class SpecError(ExperimentError):
    """A sweep spec is not valid: the message names the axis (or field) and the value."""


class ExperimentNotFound(ExperimentError):
    """No stored experiment has the given id."""


class ExperimentBusy(ExperimentError):
    """Another run has the experiment now (a second run, or a delete, would race it)."""
