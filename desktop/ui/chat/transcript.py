"""The conversation on screen: one card per turn of the selected branch, in a scroll area.

Each turn is its own widget (:class:`~desktop.ui.chat.message_card.MessageCard`)
with its own documents, so a list or a code block in one reply cannot carry
over into the stats line or the next turn.  Replies are rendered as Markdown
(:mod:`desktop.core.text.markdown`) with the model's control tokens hidden.

A streaming reply is rendered the same way as a finished one, again on a
short coalescing timer while text arrives; the final rendering of the same
text is identical, so nothing jumps when the reply completes.  The view stays
at the bottom while the reply grows unless the user has scrolled up.

Signals:
    action(str, str): (action, turn id) with action one of copy, edit, delete,
        regenerate, prev, next.
    continue_requested(str): the id of the last reply, cut by the token limit,
        whose Continue button was pressed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import replace

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtWidgets import QApplication, QFrame, QScrollArea, QVBoxLayout, QWidget

from desktop.core.text.thread import ChatThread, Turn
from desktop.ui.chat.code_block import mono_family
from desktop.ui.chat.message_card import SHOWN_CHARS, MessageCard, MessageRenderer
from desktop.ui.chat.message_style import TranscriptStyle

__all__ = ["SHOWN_CHARS", "ChatTranscript"]

ACTIONS = ("copy", "edit", "delete", "regenerate", "prev", "next")
STREAM_RENDER_MS = 60  # streamed text is rendered again at most this often


class ChatTranscript(QScrollArea):
    action = Signal(str, str)
    continue_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chatTranscript")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self._content = QWidget()
        self._content.setObjectName("transcriptContent")
        self._layout = QVBoxLayout(self._content)
        self._layout.setContentsMargins(16, 12, 16, 12)
        self._layout.setSpacing(12)
        self._layout.addStretch(1)  # few turns sit at the top
        self.setWidget(self._content)
        self._thread: ChatThread | None = None
        self._cards: list[MessageCard] = []
        self._streamed = ""  # the streaming reply's text so far
        self._streaming: MessageCard | None = None
        self._render_timer = QTimer(self, singleShot=True, interval=STREAM_RENDER_MS)
        self._render_timer.timeout.connect(self._render_stream)
        self._follow = True  # keep the end in view as it grows
        self._offer_continue = False
        bar = self.verticalScrollBar()
        bar.valueChanged.connect(self._on_scrolled)
        bar.rangeChanged.connect(self._on_range)
        self._style: TranscriptStyle | None = None
        self._decorators: list[Callable[[MessageCard], None]] = []
        self._renderer = MessageRenderer(mono=mono_family())
        self._apply_style()

    # --- configuration ------------------------------------------------------------------
    def set_special_tokens(self, tokens: Iterable[str]) -> None:
        """Hide these token strings (the loaded model's special tokens) in replies from now on."""
        specials = tuple(sorted({t for t in tokens if t}))
        if specials != self._renderer.special_tokens:
            self._renderer = replace(self._renderer, special_tokens=specials)
            if self._streaming is None:
                self.show_thread(self._thread)

    def set_offer_continue(self, offer: bool) -> None:
        """Show "Stopped at the N-token limit · Continue" in the last reply when Max tokens cut it
        (``continue_requested`` then says when it is pressed)."""
        self._offer_continue = offer
        self._mark_last()

    def add_card_decorator(self, decorate: Callable[[MessageCard], None]) -> None:
        """Call ``decorate(card)`` for every card added from now on (grounded replies get their sources)."""
        self._decorators.append(decorate)

    # --- whole-transcript rendering --------------------------------------------------
    def show_thread(self, thread: ChatThread | None, *, streaming_last: bool = False) -> None:
        """Render the selected branch of ``thread`` from scratch; the last turn may be
        the reply about to stream."""
        self._thread = thread
        self._stop_streaming()
        for card in self._cards:
            self._layout.removeWidget(card)
            card.deleteLater()
        self._cards.clear()
        if thread is not None:
            path = thread.path()
            for i, turn in enumerate(path):
                self._add_card(turn, streaming=streaming_last and i == len(path) - 1)
        self._mark_last()
        self.scroll_to_end()

    def append_turn(self, turn: Turn, *, scroll: bool = True, streaming: bool = False) -> None:
        """Add ``turn`` at the end; a streaming turn gets its text later via ``stream``."""
        self._add_card(turn, streaming=streaming)
        self._mark_last()
        if scroll:
            self.scroll_to_end()

    def stream(self, text: str) -> None:
        """Append streamed text to the reply being generated; it is rendered shortly."""
        if not text or self._streaming is None:
            return
        self._streamed += text
        if not self._render_timer.isActive():
            self._render_timer.start()

    def resume_streaming(self, turn: Turn) -> None:
        """Stream more text into the last card (Continue); ``turn.content`` is the text so far."""
        if not self._cards or self._cards[-1].turn.id != turn.id:
            self.append_turn(turn, streaming=True)
            self._streamed = turn.content
        else:
            card = self._cards[-1]
            card.show_turn(turn, streaming=True)
            card.show_limit(False)
            self._streaming, self._streamed = card, turn.content
        assert self._streaming is not None
        self._streaming.show_text(self._streamed)
        self.scroll_to_end()

    def finish_last(self, turn: Turn) -> None:
        """Replace the last turn (usually the streamed reply) with its final rendering."""
        self._stop_streaming()
        if self._cards:
            card = self._cards.pop()
            self._layout.removeWidget(card)
            card.deleteLater()
        self._add_card(turn, streaming=False)
        self._mark_last()
        self.scroll_to_end()

    @property
    def stream_pending(self) -> bool:
        """Streamed text is waiting to be rendered."""
        return self._render_timer.isActive()

    # --- reading it back (tests, accessibility) -------------------------------------------
    def cards(self) -> list[MessageCard]:
        return list(self._cards)

    def toPlainText(self) -> str:  # noqa: N802 - the QTextEdit name the callers know
        return "\n\n".join(card.plain_text() for card in self._cards)

    def toHtml(self) -> str:  # noqa: N802
        return "\n".join(card.body.source_html() for card in self._cards)

    def scroll_to_end(self) -> None:
        self._follow = True
        bar = self.verticalScrollBar()
        bar.setValue(bar.maximum())

    # --- pieces -------------------------------------------------------------------------
    def _add_card(self, turn: Turn, *, streaming: bool) -> MessageCard:
        siblings = (1, 1)
        if self._thread is not None and turn.id in self._thread.turns:
            siblings = self._thread.siblings(turn.id)
        assert self._style is not None
        card = MessageCard(turn, self._renderer, siblings=siblings, streaming=streaming,
                           icon_color=self._style.muted)
        card.action.connect(lambda name, turn_id=turn.id: self._on_action(name, turn_id))
        card.continue_requested.connect(lambda turn_id=turn.id: self.continue_requested.emit(turn_id))
        self._layout.insertWidget(self._layout.count() - 1, card)  # before the stretch
        self._cards.append(card)
        for decorate in self._decorators:
            decorate(card)
        if streaming:  # its text arrives through stream(), from the start
            self._streaming, self._streamed = card, ""
        return card

    def _mark_last(self) -> None:
        for i, card in enumerate(self._cards):
            card.show_limit(self._offer_continue and i == len(self._cards) - 1)

    def _render_stream(self) -> None:
        if self._streaming is not None:
            started = time.perf_counter()
            self._streaming.show_text(self._streamed)
            # A long reply takes longer to lay out: render it less often, so that
            # rendering never takes more than a fifth of the time.
            spent_ms = (time.perf_counter() - started) * 1000
            self._render_timer.setInterval(max(STREAM_RENDER_MS, min(1000, round(spent_ms * 4))))

    def _stop_streaming(self) -> None:
        self._render_timer.stop()
        self._render_timer.setInterval(STREAM_RENDER_MS)
        self._streaming, self._streamed = None, ""

    def _on_action(self, name: str, turn_id: str) -> None:
        if name in ACTIONS:
            self.action.emit(name, turn_id)

    def _on_scrolled(self, value: int) -> None:
        self._follow = value >= self.verticalScrollBar().maximum() - 4

    def _on_range(self, _minimum: int, maximum: int) -> None:
        if self._follow:
            self.verticalScrollBar().setValue(maximum)

    # --- theme ------------------------------------------------------------------------------
    def _apply_style(self) -> None:
        # The application's palette, not this widget's: a stylesheet's "background:
        # transparent" on scroll areas turns this widget's Base and Window transparent.
        style = TranscriptStyle.from_palette(QApplication.palette())
        if style == self._style:
            return
        first = self._style is None
        self._style = style
        self._content.setStyleSheet(style.stylesheet())
        self._renderer = replace(self._renderer, dark=style.dark, code_background=style.code_header.name())
        if not first and self._streaming is None:
            self.show_thread(self._thread)  # highlighting colours and icons follow the theme

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self._apply_style()

