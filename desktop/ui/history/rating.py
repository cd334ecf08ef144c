"""A row of five clickable stars for a record's rating (0 is "not rated").

Clicking the n-th star rates n; clicking the star of the current rating clears
it.  The stars take keyboard focus (Tab, then Space), and each names its
rating for screen readers.

Signals:
    changed(int): the person picked a rating (0 to 5); ``setValue`` does not emit it.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget

from desktop.ui.history.style import secondary_text_color

STARS = 5
FULL, EMPTY = "★", "☆"


class StarRating(QWidget):
    changed = Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._value = 0
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.buttons: list[QToolButton] = []
        for n in range(1, STARS + 1):
            button = QToolButton()
            button.setAutoRaise(True)
            button.setAccessibleName(f"Rate {n} of {STARS}")
            button.clicked.connect(lambda _checked=False, n=n: self._clicked(n))
            font = button.font()
            font.setPointSizeF(font.pointSizeF() * 1.3)
            button.setFont(font)
            layout.addWidget(button)
            self.buttons.append(button)
        self.caption = QLabel()
        self.caption.setObjectName("ratingCaption")
        self.caption.setStyleSheet(f"color:{secondary_text_color(self.palette(), QPalette.ColorRole.Window)}")
        layout.addSpacing(6)
        layout.addWidget(self.caption)
        layout.addStretch(1)
        self.setValue(0)

    def value(self) -> int:
        return self._value

    def setValue(self, value: int) -> None:
        self._value = max(0, min(STARS, int(value)))
        for n, button in enumerate(self.buttons, start=1):
            button.setText(FULL if n <= self._value else EMPTY)
            button.setToolTip("Clear the rating" if n == self._value else f"Rate {n} of {STARS}")
        self.caption.setText("not rated" if self._value == 0 else f"{self._value} of {STARS}")

    def _clicked(self, n: int) -> None:
        self.setValue(0 if n == self._value else n)
        self.changed.emit(self._value)
