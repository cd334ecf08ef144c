"""One code block of a reply: a language label, a Copy button and the highlighted code.

The code keeps its lines whole and scrolls sideways inside the block when it
is wider than the conversation, so the prose around it keeps wrapping.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from desktop.core.text.markdown import CodeBlock, pre_html
from desktop.ui.chat.message_icons import MessageIcon, message_icon
from desktop.ui.chat.message_text import RichText

COPIED_FOR_MS = 1500  # how long the button says "Copied"


def mono_family() -> str:
    """The system's fixed-width font family (code is shown in it)."""
    return QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont).family()


class CodeBlockView(QFrame):
    """A code block with a header (language, Copy) over the code."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("codeBlock")
        self.code = ""
        self.language_label = QLabel()
        self.language_label.setObjectName("codeLanguage")
        self.copy_button = QToolButton()
        self.copy_button.setObjectName("codeCopy")
        self.copy_button.setToolTip("Copy the code")
        self.copy_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.copy_button.clicked.connect(self.copy)
        self._restore = QTimer(self, singleShot=True, interval=COPIED_FOR_MS)
        self._restore.timeout.connect(self._show_copy_label)
        self._show_copy_label()

        header = QWidget()
        header.setObjectName("codeHeader")
        header_row = QHBoxLayout(header)
        header_row.setContentsMargins(10, 2, 4, 2)
        header_row.addWidget(self.language_label)
        header_row.addStretch(1)
        header_row.addWidget(self.copy_button)

        self.view = RichText(wrap=False)
        self.view.setObjectName("codeText")
        self.view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.view.document().setDocumentMargin(10)
        self.view.document().setDefaultStyleSheet("pre { margin-top: 0px; margin-bottom: 0px; }")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(header)
        layout.addWidget(self.view)

    def show_code(self, block: CodeBlock) -> None:
        self.code = block.code
        self.language_label.setText(block.language or "text")
        self.view.set_html(self.html_for(block))

    @staticmethod
    def html_for(block: CodeBlock) -> str:
        return pre_html(block.html, mono_family())

    def copy(self) -> None:
        """Put the code (as written, without highlighting) on the clipboard."""
        QGuiApplication.clipboard().setText(self.code)
        self.copy_button.setText("Copied")
        self.copy_button.setIcon(message_icon(MessageIcon.CHECK, self.palette().buttonText().color()))
        self._restore.start()

    def _show_copy_label(self) -> None:
        self.copy_button.setText("Copy")
        self.copy_button.setIcon(message_icon(MessageIcon.COPY, self.palette().buttonText().color()))
