"""One turn of the conversation as a card: role, actions, rendered text, stats.

A user's message is shown as typed (escaped, every line break kept); a
reply is rendered as Markdown with the model's control tokens hidden (the
turn itself keeps them).  A reply that stopped at the Max tokens limit offers
Continue while it is the last turn.

Signals:
    action(str): copy, edit, delete, regenerate, prev or next, for this card's turn.
    continue_requested(): the Continue button under a reply cut by the token limit.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QVBoxLayout, QWidget

from desktop.core.text.markdown import Block, Prose, plain_html, render_blocks, strip_special_tokens
from desktop.core.text.thread import Turn
from desktop.ui.chat.message_body import MessageBody
from desktop.ui.chat.message_icons import MessageIcon, message_icon
from desktop.ui.chat.message_text import prose_css
from desktop.ui.chat.stats import stats_line

SHOWN_CHARS = 20_000  # longer messages show their start; copy still gives all of it


@dataclass(frozen=True)
class MessageRenderer:
    """How turns are turned into blocks: the model's special tokens, the theme, the code font."""

    special_tokens: tuple[str, ...] = ()
    dark: bool = False
    mono: str = "monospace"
    code_background: str = ""  # behind inline code, a colour name

    def blocks(self, role: str, content: str) -> list[Block]:
        if len(content) > SHOWN_CHARS:
            hidden = len(content) - SHOWN_CHARS
            content = content[:SHOWN_CHARS] + f"\n\n… ({hidden:,} more characters not shown; copy gives all)"
        if role == "user":
            return [Prose(plain_html(content))]
        return render_blocks(strip_special_tokens(content, self.special_tokens), dark=self.dark, mono=self.mono)


_ACTIONS = {  # action -> (icon, tooltip); which ones a turn gets depends on its role
    "copy": (MessageIcon.COPY, "Copy this message"),
    "edit": (MessageIcon.EDIT, "Edit and resend (keeps this version as a branch)"),
    "regenerate": (MessageIcon.REGENERATE, "Generate another reply (keeps this one as a branch)"),
    "delete": (MessageIcon.DELETE, "Delete this message and what follows it"),
}


class MessageCard(QFrame):
    action = Signal(str)
    continue_requested = Signal()

    def __init__(self, turn: Turn, renderer: MessageRenderer, *, siblings: tuple[int, int] = (1, 1),
                 streaming: bool = False, icon_color: QColor | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.turn = turn
        self.renderer = renderer
        self.streaming = streaming
        self.setObjectName("userMessage" if turn.role == "user" else "assistantMessage")
        color = icon_color or self.palette().windowText().color()

        self.role_label = QLabel("You" if turn.role == "user" else "Assistant")
        self.role_label.setObjectName("messageRole")
        header = QHBoxLayout()
        header.setContentsMargins(0, 0, 0, 0)
        header.setSpacing(2)
        header.addWidget(self.role_label)
        header.addSpacing(8)
        self.siblings_label = QLabel()
        self.siblings_label.setObjectName("messageSiblings")
        self.buttons: dict[str, QToolButton] = {}
        index, count = siblings
        if count > 1 and not streaming:
            header.addWidget(self._button("prev", MessageIcon.PREVIOUS, "Previous version", color))
            self.siblings_label.setText(f"{index}/{count}")
            header.addWidget(self.siblings_label)
            header.addWidget(self._button("next", MessageIcon.NEXT, "Next version", color))
        header.addStretch(1)
        if not streaming:
            names = ("copy", "edit", "delete") if turn.role == "user" else ("copy", "regenerate", "delete")
            for name in names:
                icon, tip = _ACTIONS[name]
                header.addWidget(self._button(name, icon, tip, color))

        self.body = MessageBody(prose_css(renderer.code_background))
        self.stats_label = QLabel()
        self.stats_label.setObjectName("messageStats")
        self.stats_label.setWordWrap(True)
        self.stats_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.limit_label = QLabel()
        self.limit_label.setObjectName("messageLimit")
        self.continue_button = QPushButton(message_icon(MessageIcon.CONTINUE, color), "Continue")
        self.continue_button.setToolTip("Generate more of this reply")
        self.continue_button.clicked.connect(self.continue_requested)
        self._limit_row = QWidget()
        limit_row = QHBoxLayout(self._limit_row)
        limit_row.setContentsMargins(0, 0, 0, 0)
        limit_row.addWidget(self.limit_label)
        limit_row.addWidget(self.continue_button)
        limit_row.addStretch(1)
        self._limit_row.hide()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 8, 14, 10)
        layout.setSpacing(6)
        layout.addLayout(header)
        layout.addWidget(self.body)
        layout.addWidget(self.stats_label)
        layout.addWidget(self._limit_row)
        self.show_turn(turn, streaming=streaming)

    def _button(self, name: str, icon: MessageIcon, tip: str, color: QColor) -> QToolButton:
        button = QToolButton()
        button.setObjectName("messageAction")
        button.setIcon(message_icon(icon, color))
        button.setIconSize(QSize(16, 16))
        button.setToolTip(tip)
        button.setAccessibleName(tip)
        button.setAutoRaise(True)
        button.clicked.connect(lambda: self.action.emit(name))
        self.buttons[name] = button
        return button

    # --- content --------------------------------------------------------------------------
    def show_turn(self, turn: Turn, *, streaming: bool = False) -> None:
        """Show ``turn``'s text, and its note and stats once it is complete; a streaming
        turn starts empty and gets its text through :meth:`show_text`."""
        self.turn = turn
        self.streaming = streaming
        self.show_text("" if streaming else turn.content)
        for button in self.buttons.values():  # no copying or deleting half a reply
            button.setVisible(not streaming)
        extra = [] if streaming else [s for s in (turn.note, stats_line(turn.stats)) if s]
        self.stats_label.setText(" · ".join(extra))
        self.stats_label.setVisible(bool(extra))

    def show_text(self, content: str) -> None:
        """Render ``content`` (the whole message so far) in place of what is shown."""
        self.body.show_blocks(self.renderer.blocks(self.turn.role, content))

    def show_limit(self, shown: bool) -> None:
        """Offer Continue when this reply stopped at the token limit (only the last reply may)."""
        cut = shown and not self.streaming and self.turn.role == "assistant" and self.turn.finish_reason == "length"
        if cut:
            limit = self.turn.stats.get("max_tokens") or self.turn.stats.get("completion_tokens")
            self.limit_label.setText(f"Stopped at the {limit}-token limit" if limit else "Stopped at the token limit")
        self._limit_row.setVisible(cut)

    @property
    def limit_shown(self) -> bool:
        return not self._limit_row.isHidden()

    def plain_text(self) -> str:
        lines = [self.role_label.text() + (f" {self.siblings_label.text()}" if self.siblings_label.text() else ""),
                 self.body.plain_text()]
        if not self.stats_label.isHidden():
            lines.append(self.stats_label.text())
        if self.limit_shown:
            lines.append(self.limit_label.text())
        return "\n".join(lines)
