"""An empty pane that says what belongs here and offers the one action that fills it.

The Hub tab shows one before the first search, the Downloads panel while it
lists nothing; each has a title, a line of detail and a button.

Signals:
    action_requested(): the button was clicked.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from desktop.ui.history.style import secondary_text_color


class EmptyPane(QWidget):
    action_requested = Signal()

    def __init__(self, title: str, detail: str, button: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("emptyPane")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 32, 24, 24)
        self.title = QLabel(title)
        self.title.setObjectName("emptyTitle")
        self.title.setWordWrap(True)
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.title.setFont(font)
        self.detail = QLabel(detail)
        self.detail.setObjectName("emptyDetail")
        self.detail.setWordWrap(True)
        self.detail.setTextFormat(Qt.TextFormat.PlainText)
        self.detail.setStyleSheet(f"color:{secondary_text_color(self.palette(), QPalette.ColorRole.Window)}")
        self.button = QPushButton(button)
        self.button.clicked.connect(self.action_requested)
        row = QHBoxLayout()
        row.addWidget(self.button)
        row.addStretch(1)
        layout.addWidget(self.title)
        layout.addWidget(self.detail)
        layout.addSpacing(8)
        layout.addLayout(row)
        layout.addStretch(1)
