"""User-facing error types.

Every error a person can cause (bad input, a missing file, a full disk) is a
:class:`GenLabError` whose message says what was wrong and whose ``hint`` says
what to do.  The UI shows ``str(err)``; the CLI prints it on one line.
"""

from __future__ import annotations


class GenLabError(Exception):
    """An error with a message meant for a person, plus an optional hint."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} {self.hint}"
        return self.message


class DataRootError(GenLabError):
    """The data root is missing, not a directory or not writable."""


class SettingsError(GenLabError):
    """Settings could not be read or written."""


class InvalidParameter(GenLabError):
    """A generation parameter is out of range (temperature, size, steps...)."""


class ModelFileError(GenLabError):
    """A model file is missing, truncated, corrupt or of the wrong kind."""


class AlreadyRunning(GenLabError):
    """Another GenLab process owns this data root."""
