"""A message's rendered body: prose and code blocks, each in its own widget.

When a message is rendered again (while it streams), the widgets of the
blocks that did not change keep their text, so what is above the growing end
does not move.
"""

from __future__ import annotations

from PySide6.QtWidgets import QVBoxLayout, QWidget

from desktop.core.text.markdown import Block, CodeBlock, Prose
from desktop.ui.chat.code_block import CodeBlockView
from desktop.ui.chat.message_text import PROSE_CSS, RichText


class MessageBody(QWidget):
    """The rendered blocks of one message, top to bottom."""

    def __init__(self, css: str = PROSE_CSS, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._css = css
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(6)
        self._views: list[RichText | CodeBlockView] = []
        self.blocks: list[Block] = []

    def show_blocks(self, blocks: list[Block]) -> None:
        """Show ``blocks``, reusing the widgets of the blocks that are unchanged in kind."""
        self.blocks = list(blocks)
        for i, block in enumerate(blocks):
            view = self._views[i] if i < len(self._views) else None
            kind = RichText if isinstance(block, Prose) else CodeBlockView
            if type(view) is not kind:
                if view is not None:
                    self._drop_from(i)
                view = RichText(css=self._css) if kind is RichText else CodeBlockView()
                self._views.append(view)
                self._layout.addWidget(view)
            if isinstance(block, CodeBlock):
                assert isinstance(view, CodeBlockView)
                view.show_code(block)
            else:
                assert isinstance(view, RichText)
                view.set_html(block.html)
        self._drop_from(len(blocks))

    def _drop_from(self, index: int) -> None:
        for view in self._views[index:]:
            self._layout.removeWidget(view)
            view.deleteLater()
        del self._views[index:]

    def views(self) -> list[RichText | CodeBlockView]:
        return list(self._views)

    def source_html(self) -> str:
        """The HTML of every block, in order (what was rendered, before Qt's rewrite)."""
        return "\n".join(b.html if isinstance(b, Prose) else CodeBlockView.html_for(b) for b in self.blocks)

    def plain_text(self) -> str:
        return "\n".join(v.toPlainText() if isinstance(v, RichText) else v.code for v in self._views)
