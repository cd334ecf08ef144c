"""What the History results area says when there is nothing to list.

:func:`empty_state_text` words the three cases: a search with no matches
("No results for “x”", how it searched, the filters), filters that match
nothing, and an empty history (what will appear here).  :class:`EmptyState`
shows the words and, when filters are set, a "Clear filters" button.

Signals (EmptyState):
    clear_filters_requested(): the person asked to clear the filters.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from desktop.ui.history.style import secondary_text_color
from desktop.ui.incognito import INCOGNITO_LINE

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


class EmptyState(QWidget):
    clear_filters_requested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("historyEmptyState")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 32, 24, 24)
        self.title = QLabel()
        self.title.setObjectName("emptyTitle")
        self.title.setWordWrap(True)
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.title.setFont(font)
        self.detail = QLabel()
        self.detail.setObjectName("emptyDetail")
        self.detail.setWordWrap(True)
        self.detail.setTextFormat(Qt.TextFormat.PlainText)
        self.detail.setStyleSheet(f"color:{secondary_text_color(self.palette(), QPalette.ColorRole.Window)}")
        self.clear_button = QPushButton("Clear filters")
        self.clear_button.clicked.connect(self.clear_filters_requested)
        button_row = QHBoxLayout()
        button_row.addWidget(self.clear_button)
        button_row.addStretch(1)
        layout.addWidget(self.title)
        layout.addWidget(self.detail)
        layout.addSpacing(8)
        layout.addLayout(button_row)
        layout.addStretch(1)

    def show_state(self, title: str, detail: str, can_clear: bool) -> None:
        self.title.setText(title)
        self.detail.setText(detail)
        self.clear_button.setVisible(can_clear)
