"""What the History results area says when there is nothing to list.

:func:`empty_state_text` words the three cases: a search with no matches
("No results for “x”", how it searched, the filters), filters that match
nothing, and an empty history (what will appear here).  :class:`HistoryEmptyState`
shows the words and, when filters are set, a "Clear filters" button.

Signals (HistoryEmptyState):
    clear_filters_requested(): the person asked to clear the filters.
"""

from __future__ import annotations

from typing import cast

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QPushButton, QWidget

from desktop.ui.incognito import INCOGNITO_LINE
from desktop.ui.widgets import EmptyState

MODE_WORDS = {"keyword": "by keyword", "semantic": "by meaning", "hybrid": "by meaning and keyword"}


def empty_state_text(query: str, mode: str, filters: list[str], incognito: bool = False) -> tuple[str, str]:
    """(title, detail) for an empty result.

    ``query`` is the search text, ``mode`` the search mode used ('recent' when
    the query was empty) and ``filters`` the active filters, each in words
    ("Images", "tag “sea”").
    """
    filtered = f"Filters: {' · '.join(filters)}." if filters else ""
    if query.strip():
        how = f"Searched {MODE_WORDS[mode]}." if mode in MODE_WORDS else ""
        hint = "" if filters else "Try other or fewer words."
        return f"No results for “{query.strip()}”", " ".join(x for x in (how, filtered, hint) if x)
    if filters:
        return "Nothing matches these filters", filtered
    detail = ("Everything you generate is recorded here: every prompt and reply in Chat and every image in "
              "Images, with its model and exact settings, so you can search it, look at it again and re-run it "
              "(unless Incognito is on). To bring in an earlier history, use More ▸ Import….")
    if incognito:
        detail += f"\n\n{INCOGNITO_LINE}."
    return "Nothing recorded yet", detail


class HistoryEmptyState(EmptyState):
    """The shared :class:`~desktop.ui.widgets.EmptyState` with a "Clear filters" button, shown when filters are set."""

    clear_filters_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("clock-counter-clockwise", "", "", "Clear filters", parent=parent)
        self.setObjectName("historyEmptyState")
        self.action_requested.connect(self.clear_filters_requested)

    @property
    def clear_button(self) -> QPushButton:
        return cast(QPushButton, self.button)  # made in __init__: the action is given

    def show_state(self, title: str, detail: str, can_clear: bool) -> None:
        self.set_text(title, detail)
        self.set_action_visible(can_clear)
