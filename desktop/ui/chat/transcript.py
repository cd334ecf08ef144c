"""The conversation on screen: one QTextBrowser holding every turn of the selected branch.

One document rather than a widget per turn keeps hundreds of turns cheap:
adding a turn appends to the end, and a streaming reply is appended as
plain text in coalesced batches, so nothing above it is laid out again.
When a reply finishes, only that last turn is replaced by its Markdown
rendering (code blocks in a monospace font).  Each turn's header carries
links for its actions; clicking one emits ``action``.

Signals:
    action(str, str): (action, turn id) with action one of copy, edit, delete,
        regenerate, prev, next.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QTextCursor, QTextDocumentFragment
from PySide6.QtWidgets import QTextBrowser, QWidget

from desktop.core.text.thread import ChatThread, Turn

ACTIONS = ("copy", "edit", "delete", "regenerate", "prev", "next")
SHOWN_CHARS = 20_000  # longer messages show their start; copy still gives all of it


class ChatTranscript(QTextBrowser):
    action = Signal(str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.setObjectName("chatTranscript")
        self.anchorClicked.connect(self._on_anchor)
        self._thread: ChatThread | None = None
        self._last_turn_start = 0  # document position where the last turn begins
        self._streaming_turn: str | None = None

    # --- whole-transcript rendering --------------------------------------------------
    def show_thread(self, thread: ChatThread | None, *, streaming_last: bool = False) -> None:
        """Render the selected branch of ``thread`` from scratch; the last turn may be
        the reply about to stream."""
        self._thread = thread
        self._streaming_turn = None
        self.clear()
        if thread is None:
            return
        path = thread.path()
        for i, turn in enumerate(path):
            self.append_turn(turn, scroll=False, streaming=streaming_last and i == len(path) - 1)
        self._scroll_to_end()

    def append_turn(self, turn: Turn, *, scroll: bool = True, streaming: bool = False) -> None:
        """Add ``turn`` at the end; a streaming turn gets its text later via ``stream``."""
        cursor = self._end_cursor()
        self._last_turn_start = cursor.position()
        if self._last_turn_start > 0:
            cursor.insertBlock()
            self._last_turn_start = cursor.position()
        cursor.insertHtml(self._header_html(turn, streaming))
        cursor.insertBlock()
        if streaming:
            self._streaming_turn = turn.id
        else:
            self._insert_body(cursor, turn)
        if scroll:
            self._scroll_to_end()

    def stream(self, text: str) -> None:
        """Append streamed text to the reply being generated (plain text, no relayout above)."""
        if not text or self._streaming_turn is None:
            return
        bar = self.verticalScrollBar()
        at_bottom = bar.value() >= bar.maximum() - 4
        self._end_cursor().insertText(text)
        if at_bottom:
            bar.setValue(bar.maximum())

    def finish_last(self, turn: Turn) -> None:
        """Replace the last turn (usually the streamed reply) with its final rendering."""
        cursor = self.textCursor()
        cursor.setPosition(self._last_turn_start)
        cursor.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
        cursor.removeSelectedText()
        self._streaming_turn = None
        cursor.insertHtml(self._header_html(turn, False))
        cursor.insertBlock()
        self._insert_body(cursor, turn)
        self._scroll_to_end()

    # --- pieces -------------------------------------------------------------------------
    def _header_html(self, turn: Turn, streaming: bool) -> str:
        who = "You" if turn.role == "user" else "Assistant"
        links = []
        if not streaming and self._thread is not None and turn.id in self._thread.turns:
            index, count = self._thread.siblings(turn.id)
            if count > 1:
                links.append(f'<a href="prev:{turn.id}">‹</a> {index}/{count} <a href="next:{turn.id}">›</a>')
            links.append(f'<a href="copy:{turn.id}">copy</a>')
            if turn.role == "user":
                links.append(f'<a href="edit:{turn.id}">edit</a>')
            else:
                links.append(f'<a href="regenerate:{turn.id}">regenerate</a>')
            links.append(f'<a href="delete:{turn.id}">delete</a>')
        actions = " · ".join(links)
        return (f"<p style='margin-top:10px'><b>{who}</b>&nbsp;&nbsp;"
                f"<span style='font-size:small'>{actions}</span></p>")

    def _insert_body(self, cursor: QTextCursor, turn: Turn) -> None:
        content = turn.content
        if len(content) > SHOWN_CHARS:
            hidden = len(content) - SHOWN_CHARS
            content = content[:SHOWN_CHARS] + f"\n\n… ({hidden:,} more characters not shown; copy gives all)"
        if turn.role == "assistant":
            cursor.insertFragment(QTextDocumentFragment.fromMarkdown(content or " "))
        else:
            cursor.insertHtml("<p>" + html.escape(content).replace("\n", "<br>") + "</p>")
        extra = [s for s in (turn.note, _stats_text(turn.stats)) if s]
        if extra:
            cursor.insertBlock()
            cursor.insertHtml(f"<p style='color:gray; font-size:small'>{html.escape(' · '.join(extra))}</p>")

    def _end_cursor(self) -> QTextCursor:
        cursor = self.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End)
        return cursor

    def _scroll_to_end(self) -> None:
        bar = self.verticalScrollBar()
        bar.setValue(bar.maximum())

    def _on_anchor(self, url: QUrl) -> None:
        action, _, turn_id = url.toString().partition(":")
        if action in ACTIONS and turn_id:
            self.action.emit(action, turn_id)


def _stats_text(stats: dict) -> str:
    if not stats:
        return ""
    parts = []
    if "ttft_s" in stats:
        parts.append(f"first token {stats['ttft_s'] * 1000:.0f} ms")
    if "tokens_per_s" in stats:
        parts.append(f"{stats['tokens_per_s']:.1f} tok/s")
    if "prompt_tokens" in stats and "completion_tokens" in stats:
        parts.append(f"{stats['prompt_tokens']} prompt + {stats['completion_tokens']} generated tokens")
    if "n_ctx" in stats and "prompt_tokens" in stats:
        parts.append(f"context {stats['prompt_tokens'] + stats.get('completion_tokens', 0)} / {stats['n_ctx']}")
    return " · ".join(parts)


def stats_text(stats: dict) -> str:
    """The one-line stats summary shown under a reply and in the status line."""
    return _stats_text(stats)
