"""What a grounded reply rests on, shown above it before its first token: numbered sources, or why none.

Each source is a line "[n] title · place · score" with its snippet under it;
clicking the line asks for the chunk (``source_activated``).  When nothing
reached the threshold, or the context had no room, the card says so in a
plain sentence with what to do (the grounding's ``message`` and ``hint``).

:func:`link_citations` turns the ``[n]`` markers of a rendered reply into
links (``cite:n``) to those sources.

Signals:
    source_activated(int): the number of the source whose line was clicked.
"""

from __future__ import annotations

import html
import re

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget

from desktop.core.knowledge.citations import find_markers
from desktop.core.knowledge.grounding import Grounding, Outcome, Source
from desktop.ui import theme
from desktop.ui.knowledge.chunk_popup import one_line

CITE_SCHEME = "cite"
_TAG = re.compile(r"(<[^>]*>)")
_NO_LINKS_IN = ("code", "pre", "a")


def source_place(source: Source) -> str:
    if source.is_history:
        return "history record"
    return source.location or (f"page {source.page}" if source.page else "")


def link_citations(rendered: str, numbers: set[int]) -> str:
    """``rendered`` HTML with each ``[n]`` of a known source number made a ``cite:n`` link
    (not inside code, preformatted text or an existing link)."""
    out: list[str] = []
    inside = 0
    for part in _TAG.split(rendered):
        if part.startswith("<"):
            name = re.match(r"</?\s*(\w+)", part)
            if name and name.group(1).lower() in _NO_LINKS_IN:
                inside += -1 if part.startswith("</") else (0 if part.endswith("/>") else 1)
                inside = max(inside, 0)
            out.append(part)
            continue
        if inside:
            out.append(part)
            continue
        last = 0
        for marker in find_markers(part):
            known = [n for n in marker.numbers if n in numbers]
            if not known:
                continue
            out.append(part[last:marker.start])
            out.append("".join(f'<a href="{CITE_SCHEME}:{n}">[{n}]</a>' for n in known))
            last = marker.end
        out.append(part[last:])
    return "".join(out)


class SourcesCard(QFrame):
    source_activated = Signal(int)

    def __init__(self, grounding: Grounding, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.grounding = grounding
        self.setObjectName("chatSources")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        theme.set_role(self, "card")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 8)
        layout.setSpacing(2)
        names = ", ".join(grounding.options.collections)
        self.title = QLabel(f"Sources from {names}" if grounding.sources else f"No sources from {names}")
        self.title.setObjectName("chatSourcesTitle")
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        layout.addWidget(self.title)
        self.lines: list[QLabel] = []
        for source in grounding.sources:
            line = QLabel(self._line_html(source, grounding.score_kind))
            line.setObjectName("chatSource")
            line.setWordWrap(True)
            line.setToolTip(source.path or "A record of your history")
            line.linkActivated.connect(lambda _link, n=source.number: self.source_activated.emit(n))
            layout.addWidget(line)
            self.lines.append(line)
        self.message = QLabel(" ".join(p for p in (grounding.message, grounding.hint) if p))
        self.message.setObjectName("chatSourcesMessage")
        self.message.setWordWrap(True)
        theme.set_role(self.message, "error" if grounding.outcome is not Outcome.GROUNDED else "muted")
        self.message.setVisible(bool(self.message.text()))
        layout.addWidget(self.message)

    @staticmethod
    def _line_html(source: Source, score_kind: str) -> str:
        head = " · ".join(html.escape(p) for p in (source.title, source_place(source)) if p)
        score = f"{score_kind} {source.score:.2f}"
        return (f'<a href="{CITE_SCHEME}:{source.number}">[{source.number}] {head}</a>'
                f' <span style="color:gray">· {html.escape(score)}</span><br>'
                f'<span style="color:gray">{html.escape(one_line(source.snippet))}</span>')

    def plain_text(self) -> str:
        """What the card says, line by line (tests, copying)."""
        lines = [self.title.text()]
        lines += [f"[{s.number}] {s.title} · {source_place(s)} · {s.score:.2f} · {s.snippet}"
                  for s in self.grounding.sources]
        if self.message.text():
            lines.append(self.message.text())
        return "\n".join(lines)
