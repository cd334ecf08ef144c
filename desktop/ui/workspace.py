"""What the main window may ask of a workspace page: typed seams instead of attribute lookups.

Every workspace has a ``status_message`` signal for the status bar.  A
workspace that runs jobs of its own is ``Generating`` (Ctrl+Enter and Esc);
one with a search box is ``Searching`` (Ctrl+F).  The record actions
(re-run, continue, reuse, use this model) are routed to the concrete Chat,
Images, History and Models classes, which the type checker reads.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from PySide6.QtCore import SignalInstance


@runtime_checkable
class Workspace(Protocol):
    """A page of the main window; ``status_message(str)`` is a line for the status bar."""

    status_message: SignalInstance


@runtime_checkable
class Generating(Protocol):
    """A workspace that starts work with Ctrl+Enter and stops its own work with Esc."""

    def generate(self) -> None: ...

    def stop(self) -> None: ...


@runtime_checkable
class Searching(Protocol):
    """A workspace with a search box that Ctrl+F focuses."""

    def focus_search(self) -> None: ...
