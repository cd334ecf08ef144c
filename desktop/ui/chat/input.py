"""The message box of the Chat workspace: Enter sends, Shift+Enter starts a new line.

Which key sends is a setting (``TextSettings.chat_send_key``): "enter" (as
in LM Studio, Jan and ChatGPT) or "ctrl+enter" (Enter then adds a line).
The box asks for the setting at each key press, so a change in Preferences
applies at once.  Ctrl+Enter sends in both modes; the main window's
Ctrl+Enter shortcut calls the same ``generate()``.

Signals:
    send_requested(): the person pressed the send key.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QPlainTextEdit, QWidget

SEND_KEYS = {"enter": "Enter to send, Shift+Enter for a new line",
             "ctrl+enter": "Ctrl+Enter to send, Enter for a new line"}


class ChatInput(QPlainTextEdit):
    send_requested = Signal()

    def __init__(self, send_key: Callable[[], str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._send_key = send_key
        self.update_placeholder()

    def send_mode(self) -> str:
        mode = self._send_key()
        return mode if mode in SEND_KEYS else "enter"

    def update_placeholder(self) -> None:
        self.setPlaceholderText(f"Message ({SEND_KEYS[self.send_mode()]})")

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
            ctrl = mods == Qt.KeyboardModifier.ControlModifier
            plain = mods == Qt.KeyboardModifier.NoModifier
            if ctrl or (plain and self.send_mode() == "enter"):
                event.accept()
                self.send_requested.emit()
                return
            if plain or mods == Qt.KeyboardModifier.ShiftModifier:
                self.insertPlainText("\n")  # Shift+Enter (or Enter in ctrl+enter mode): a line, not a paragraph
                event.accept()
                return
        super().keyPressEvent(event)

    def focusInEvent(self, event) -> None:
        self.update_placeholder()  # the setting may have changed in Preferences meanwhile
        super().focusInEvent(event)
