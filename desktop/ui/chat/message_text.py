"""A read-only text view exactly as tall as its text, for the pieces of a message.

A column of them scrolls as one (the transcript's scroll area does the
scrolling).  Each has its own document: no list numbering or code-block
formatting can carry over into the next piece, let alone the next turn.
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices, QTextOption
from PySide6.QtWidgets import QAbstractScrollArea, QApplication, QFrame, QSizePolicy, QTextBrowser, QWidget

# Qt's rich text has no CSS for lists or headings by default that matches a chat;
# these keep paragraphs and headings apart and tables readable.
PROSE_CSS = """
p { margin-top: 0px; margin-bottom: 8px; }
h1, h2, h3, h4, h5, h6 { margin-top: 12px; margin-bottom: 6px; }
ul, ol { margin-top: 0px; margin-bottom: 8px; }
li { margin-bottom: 2px; }
pre { margin-top: 4px; margin-bottom: 8px; }
th { font-weight: 600; }
"""


def prose_css(code_background: str = "") -> str:
    """PROSE_CSS, with inline code on ``code_background`` (a colour name) when given."""
    return PROSE_CSS + (f"code {{ background-color: {code_background}; }}\n" if code_background else "")


class RichText(QTextBrowser):
    """Read-only HTML that is exactly as tall as its text; links open in the browser.

    ``wrap=False`` keeps lines whole (code) and scrolls sideways inside this
    view only; otherwise long words wrap anywhere, so the transcript never
    scrolls sideways.
    """

    def __init__(self, *, wrap: bool = True, css: str = PROSE_CSS, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageText")
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setOpenLinks(False)
        self.anchorClicked.connect(_open_link)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        if wrap:
            self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            self.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        else:
            self.setLineWrapMode(QTextBrowser.LineWrapMode.NoWrap)
        # Ignored: the layout may make it as narrow as the column; the text rewraps.
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.viewport().setAutoFillBackground(False)
        self.document().setDocumentMargin(0)
        self.document().setDefaultStyleSheet(css)
        self.document().documentLayout().documentSizeChanged.connect(self._fit_height)
        self.horizontalScrollBar().rangeChanged.connect(self._fit_height)
        self.source_html = ""
        self._fit_height()

    def set_html(self, source: str) -> None:
        """Show ``source`` unless it is already shown (re-rendering costs a relayout)."""
        if source != self.source_html:
            self.source_html = source
            self.setHtml(source)

    def _fit_height(self, *_args) -> None:
        height = math.ceil(self.document().size().height()) + 2 * self.frameWidth()
        bar = self.horizontalScrollBar()
        if bar.maximum() > 0:
            height += bar.sizeHint().height()
        if height != self.height() or self.minimumHeight() != height:
            self.setFixedHeight(height)

    def wheelEvent(self, event) -> None:
        # Nothing to scroll up or down here: the scroll area around it scrolls instead.
        # Handed to its scroll bar directly (Qt propagates only spontaneous wheel events).
        outer = _outer_scroll_area(self)
        if outer is not None and event.angleDelta().y() != 0 and event.angleDelta().x() == 0:
            QApplication.sendEvent(outer.verticalScrollBar(), event)
            return
        super().wheelEvent(event)


def _outer_scroll_area(widget: QWidget) -> QAbstractScrollArea | None:
    parent = widget.parentWidget()
    while parent is not None and not isinstance(parent, QAbstractScrollArea):
        parent = parent.parentWidget()
    return parent


def _open_link(url: QUrl) -> None:
    if url.scheme() in ("http", "https", "mailto"):
        QDesktopServices.openUrl(url)
