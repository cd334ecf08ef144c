"""The text table's "diff": the words of a reply that differ from the reply in its row's first column.

:func:`word_diff_html` marks them with a highlight; :class:`DiffDelegate`
paints a cell's marked HTML (``DIFF_ROLE``) instead of its plain text, so the
table keeps plain items and the diff is a view of them.
"""

from __future__ import annotations

import difflib
import html

from PySide6.QtCore import Qt
from PySide6.QtGui import QAbstractTextDocumentLayout, QPalette, QTextDocument
from PySide6.QtWidgets import QApplication, QStyle, QStyledItemDelegate, QStyleOptionViewItem

DIFF_ROLE = Qt.ItemDataRole.UserRole + 1
MARK_STYLE = "background-color:#ffe08a;color:#000000"


def word_diff_html(reference: str, reply: str) -> str:
    """``reply`` as HTML with the words not in ``reference`` (in order) marked."""
    ref, words = reference.split(), reply.split()
    out: list[str] = []
    for op, _a0, _a1, b0, b1 in difflib.SequenceMatcher(a=ref, b=words, autojunk=False).get_opcodes():
        chunk = html.escape(" ".join(words[b0:b1]))
        if not chunk:
            continue
        out.append(chunk if op == "equal" else f"<span style='{MARK_STYLE}'>{chunk}</span>")
    return " ".join(out)


class DiffDelegate(QStyledItemDelegate):
    """Paints an item's ``DIFF_ROLE`` HTML when it has one, else the item as usual."""

    def paint(self, painter, option, index) -> None:
        marked = index.data(DIFF_ROLE)
        if not marked:
            super().paint(painter, option, index)
            return
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        style = opt.widget.style() if opt.widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        doc = QTextDocument()
        doc.setDefaultFont(opt.font)
        doc.setTextWidth(opt.rect.width() - 6)
        doc.setHtml(marked)
        context = QAbstractTextDocumentLayout.PaintContext()
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        context.palette.setColor(QPalette.ColorRole.Text, opt.palette.color(
            QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text))
        painter.save()
        painter.translate(opt.rect.left() + 3, opt.rect.top() + 1)
        painter.setClipRect(0, 0, opt.rect.width() - 3, opt.rect.height() - 1)
        doc.documentLayout().draw(painter, context)
        painter.restore()
