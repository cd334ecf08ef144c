"""The recorded reply beside its re-run, the differing words marked.

Shown by the Chat workspace when an exact re-run from History did not give
the recorded text.  Words (and the white space between them) are compared
with :class:`difflib.SequenceMatcher`; what only the recorded reply has is
marked in the danger colour and struck through, what only the re-run has in
the success colour and underlined.
"""

from __future__ import annotations

import difflib
import html
import re

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QGridLayout, QLabel, QTextBrowser, QWidget

from desktop.ui import theme

_WORDS = re.compile(r"\s+|\w+|[^\w\s]")


def _tokens(text: str) -> list[str]:
    return _WORDS.findall(text)


def changed_words(recorded: str, new: str) -> tuple[list[str], list[str]]:
    """(the words only ``recorded`` has, the words only ``new`` has), white space left out."""
    old, now = _tokens(recorded), _tokens(new)
    gone, added = [], []
    for op, a1, a2, b1, b2 in difflib.SequenceMatcher(None, old, now, autojunk=False).get_opcodes():
        if op != "equal":
            gone += [t for t in old[a1:a2] if t.strip()]
            added += [t for t in now[b1:b2] if t.strip()]
    return gone, added


def marked_html(recorded: str, new: str) -> tuple[str, str]:
    """The two texts as HTML, the differences marked (see the module docstring)."""
    c = theme.colours()
    old, now = _tokens(recorded), _tokens(new)
    left, right = [], []
    for op, a1, a2, b1, b2 in difflib.SequenceMatcher(None, old, now, autojunk=False).get_opcodes():
        a, b = html.escape("".join(old[a1:a2])), html.escape("".join(now[b1:b2]))
        if op == "equal":
            left.append(a)
            right.append(b)
            continue
        if a:
            left.append(f"<span class='gone' style='color:{c.danger}; text-decoration:line-through'>{a}</span>")
        if b:
            right.append(f"<span class='added' style='color:{c.success}; text-decoration:underline'>{b}</span>")
    wrap = "<div style='white-space:pre-wrap'>{}</div>"
    return wrap.format("".join(left)), wrap.format("".join(right))


class RerunDiffDialog(QDialog):
    """Recorded (left) and re-run (right) text; not modal, so the chat stays usable."""

    def __init__(self, recorded: str, new: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("The re-run differs from the recorded reply")
        self.setObjectName("rerunDiff")
        self.recorded_view, self.new_view = QTextBrowser(), QTextBrowser()
        left, right = marked_html(recorded, new)
        self.recorded_view.setHtml(left)
        self.new_view.setHtml(right)
        gone, added = changed_words(recorded, new)
        self.summary = QLabel(_summary(gone, added))
        self.summary.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QGridLayout(self)
        layout.addWidget(self.summary, 0, 0, 1, 2)
        layout.addWidget(QLabel("Recorded"), 1, 0)
        layout.addWidget(QLabel("Re-run"), 1, 1)
        layout.addWidget(self.recorded_view, 2, 0)
        layout.addWidget(self.new_view, 2, 1)
        layout.addWidget(buttons, 3, 0, 1, 2)
        self.resize(760, 420)


def _words(n: int) -> str:
    return f"{n} word" if n == 1 else f"{n} words"


def _summary(gone: list[str], added: list[str]) -> str:
    """One sentence saying how much changed and how it is marked."""
    if not gone and not added:
        return "Only white space or line breaks differ."
    parts = []
    if gone:
        parts.append(f"{_words(len(gone))} of the recorded reply (struck through) are not in the re-run"
                     if len(gone) > 1 else "1 word of the recorded reply (struck through) is not in the re-run")
    if added:
        parts.append(f"the re-run has {_words(len(added))} of its own (underlined)")
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."
