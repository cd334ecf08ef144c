"""Small widgets and helpers the workspaces share."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHeaderView, QLabel, QSizePolicy, QTreeWidget, QWidget


def size_columns(tree: QTreeWidget, stretch: int) -> None:
    """Columns as wide as their contents, column ``stretch`` taking the width that is left."""
    header = tree.header()
    header.setStretchLastSection(False)
    for column in range(tree.columnCount()):
        mode = QHeaderView.ResizeMode.Stretch if column == stretch else QHeaderView.ResizeMode.ResizeToContents
        header.setSectionResizeMode(column, mode)


class ElidedLabel(QLabel):
    """A one-line label that shows as much of its text as fits, then "…".

    Status-bar texts (the running job, the downloads total) can be long; a
    plain QLabel would widen the status bar until its neighbours are clipped.
    ``max_width`` caps the label (None: it takes whatever width its layout
    gives, never asking for more); with ``text_tooltip`` the whole text is
    its tooltip, else the tooltip is the caller's.
    """

    def __init__(self, text: str = "", max_width: int | None = 380, *, text_tooltip: bool = True,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._text_tooltip = text_tooltip
        if max_width is None:
            self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        else:
            self.setMaximumWidth(max_width)
            self.setMinimumWidth(40)
            self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self._full = ""
        self.setText(text)

    def text(self) -> str:  # noqa: D102 - the whole text, not the elided one on screen
        return self._full

    def setText(self, text: str) -> None:  # noqa: N802 - Qt's name
        self._full = text
        if self._text_tooltip:
            self.setToolTip(text if text else "")
        self._elide()

    def sizeHint(self):  # noqa: N802
        hint = super().sizeHint()
        hint.setWidth(min(self.maximumWidth(), self.fontMetrics().horizontalAdvance(self._full) + 8))
        return hint

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        width = max(self.width(), 40) if self.isVisible() else self.maximumWidth()
        super().setText(self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, width))
