"""Two unnamed answer cards side by side, voted on with the keys 1-4."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent, QPixmap
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QPushButton, QTextBrowser, QVBoxLayout, QWidget

from desktop.core.arena.votes import VERDICT_KEYS, VERDICT_WORDS

KEYS = {Qt.Key.Key_1: "1", Qt.Key.Key_2: "2", Qt.Key.Key_3: "3", Qt.Key.Key_4: "4"}


class AnswerCard(QGroupBox):
    """One answer, titled A or B only: the contender's name is never on it."""

    def __init__(self, side: str, parent: QWidget | None = None) -> None:
        super().__init__(side, parent)
        self.text = QTextBrowser()
        self.text.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the keys 1-4 go to the pair panel
        self.image = QLabel()
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.hide()
        layout = QVBoxLayout(self)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.image, 1)

    def show_answer(self, match_kind: str, answer) -> None:
        if answer.record is None:
            self.image.hide()
            self.text.show()
            self.text.setPlainText(f"(no answer: {answer.error})")
        elif match_kind == "image":
            self.text.hide()
            self.image.show()
            self.image.setPixmap(QPixmap(answer.image_path).scaled(
                384, 384, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation))
        else:
            self.image.hide()
            self.text.show()
            self.text.setPlainText(answer.text)


class PairPanel(QWidget):
    """The current pair: its prompt, the cards A (left) and B (right) and the four votes.

    Signals:
        voted(str): a verdict (``a``, ``b``, ``tie``, ``both_bad``) by key 1-4 or a button,
            while a votable pair is shown.
    """

    voted = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.votable = False
        self.prompt = QLabel("Generate pairs to start voting.")
        self.prompt.setWordWrap(True)
        self.left, self.right = AnswerCard("A"), AnswerCard("B")
        cards = QHBoxLayout()
        cards.addWidget(self.left)
        cards.addWidget(self.right)
        buttons = QHBoxLayout()
        self.buttons: list[QPushButton] = []
        for key, verdict in VERDICT_KEYS.items():
            button = QPushButton(f"{key}  {VERDICT_WORDS[verdict]}")
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.clicked.connect(lambda _=False, v=verdict: self._vote(v))
            buttons.addWidget(button)
            self.buttons.append(button)
        self.reveal = QLabel("")
        self.reveal.setObjectName("arenaReveal")
        layout = QVBoxLayout(self)
        layout.addWidget(self.prompt)
        layout.addLayout(cards, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.reveal)
        self.set_votable(False)

    def show_match(self, match, number: int, total: int) -> None:
        self.prompt.setText(f"Pair {number}/{total} · {match.prompt}")
        self.left.show_answer(match.kind, match.left)
        self.right.show_answer(match.kind, match.right)
        self.set_votable(match.votable)
        self.setFocus()

    def set_votable(self, votable: bool) -> None:
        self.votable = votable
        for button in self.buttons:
            button.setEnabled(votable)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = KEYS.get(Qt.Key(event.key()))
        if key is None:
            super().keyPressEvent(event)
            return
        self._vote(VERDICT_KEYS[key])

    def _vote(self, verdict: str) -> None:
        if self.votable:
            self.set_votable(False)  # one vote per pair; the next pair enables them again
            self.voted.emit(verdict)
