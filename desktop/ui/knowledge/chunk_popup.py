"""A retrieved chunk in a small window: where it comes from, its text, and a button to open its document.

The Knowledge panel's search results and Chat's citations both open one.
The document opens in the desktop's own viewer (``QDesktopServices``), which
cannot be told a heading (a PDF's page goes in the URL, which browsers'
PDF viewers honour), so the window names them above the text.
A history record (``path`` empty) has no document; its text is the prompt
and the reply.

Hooks (replaceable in tests): ``open_url(QUrl) -> bool``.

Signals:
    document_opened(str): the document's path was handed to the desktop.
"""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget

from desktop.core.knowledge.search import Hit
from desktop.ui import theme

SNIPPET_CHARS = 180


def one_line(text: str) -> str:
    """``text`` on one line, without Markdown's heading marks (the location names the heading)."""
    return re.sub(r"\s+", " ", re.sub(r"(?m)^\s{0,3}#{1,6}\s+", "", text)).strip()


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    """``text`` on one line, cut at a word near ``limit`` characters."""
    flat = one_line(text)
    if len(flat) <= limit:
        return flat
    cut = flat[:limit].rsplit(" ", 1)[0]
    return (cut or flat[:limit]) + "…"


def hit_title(hit: Hit) -> str:
    """A chunk's source in a few words: the file's name (a record: "History record")."""
    return Path(hit.path).name if hit.path else "History record"


def hit_place(hit: Hit) -> str:
    """Where in its source the chunk is: the location the indexer wrote (page, heading), else the characters."""
    return hit.location or (f"characters {hit.char_start:,}–{hit.char_end:,}" if hit.path else "")


def document_url(hit: Hit) -> QUrl:
    """The chunk's file as a URL; a PDF's carries ``#page=N``, which PDF viewers in browsers honour."""
    url = QUrl.fromLocalFile(hit.path)
    if hit.page and hit.path.lower().endswith(".pdf"):
        url.setFragment(f"page={hit.page}")
    return url


class ChunkPopup(QDialog):
    document_opened = Signal(str)

    def __init__(self, hit: Hit, parent: QWidget | None = None, *, title: str = "") -> None:
        super().__init__(parent)
        self.hit = hit
        self.open_url = QDesktopServices.openUrl
        self.setWindowTitle(title or hit_title(hit))
        self.resize(620, 420)
        source = QLabel(hit.path or f"History record {hit.chunk_id}")
        source.setWordWrap(True)
        source.setObjectName("chunkSource")
        theme.set_role(source, "subtitle")
        place = QLabel(" · ".join(p for p in (hit.collection, hit_place(hit)) if p))
        theme.set_role(place, "muted")
        self.text = QPlainTextEdit(hit.text)
        self.text.setReadOnly(True)
        self.text.setObjectName("chunkText")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.open_button = QPushButton("Open document")
        self.open_button.setToolTip("Open the file in its usual application")
        self.open_button.setVisible(bool(hit.path))
        buttons.addButton(self.open_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        self.open_button.clicked.connect(self.open_document)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        theme.set_role(self.message, "error")
        self.message.hide()
        layout = QVBoxLayout(self)
        for widget in (source, place):
            layout.addWidget(widget)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.message)
        layout.addWidget(buttons)

    def open_document(self) -> bool:
        """Hand the chunk's file to the desktop; says so when it is gone or nothing opens it."""
        path = Path(self.hit.path)
        if not path.is_file():
            self._say(f"{path} is no longer there. Reindex the collection to forget it.")
            return False
        if not self.open_url(document_url(self.hit)):
            self._say(f"No application on this computer opens {path.name}.")
            return False
        self.document_opened.emit(str(path))
        return True

    def _say(self, text: str) -> None:
        self.message.setText(text)
        self.message.show()
