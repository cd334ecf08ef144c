"""Small line icons for the message actions, drawn in the palette's text colour.

The shapes are Feather icons (MIT licence, feathericons.com), kept inline as
SVG so nothing has to be bundled or looked up by file name.  Each icon is
rendered for the colour asked for and cached, so a transcript of hundreds of
turns renders each shape once per theme.
"""

from __future__ import annotations

from enum import Enum
from functools import lru_cache

from PySide6.QtCore import QByteArray, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer


class MessageIcon(Enum):
    COPY = ('<rect x="9" y="9" width="13" height="13" rx="2"/>'
            '<path d="M5 15H4a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2h9a2 2 0 0 1 2 2v1"/>')
    EDIT = '<path d="M17 3a2.85 2.85 0 1 1 4 4L7.5 20.5 2 22l1.5-5.5Z"/>'
    DELETE = ('<path d="M3 6h18"/><path d="M19 6l-1 14a2 2 0 0 1-2 2H8a2 2 0 0 1-2-2L5 6"/>'
              '<path d="M10 11v6M14 11v6"/><path d="M9 6V4a1 1 0 0 1 1-1h4a1 1 0 0 1 1 1v2"/>')
    REGENERATE = ('<path d="M23 4v6h-6"/><path d="M1 20v-6h6"/>'
                  '<path d="M3.51 9a9 9 0 0 1 14.85-3.36L23 10M1 14l4.64 4.36A9 9 0 0 0 20.49 15"/>')
    PREVIOUS = '<path d="M15 18l-6-6 6-6"/>'
    NEXT = '<path d="M9 18l6-6-6-6"/>'
    CHECK = '<path d="M20 6L9 17l-5-5"/>'
    CONTINUE = '<path d="M5 3l14 9-14 9V3z"/>'


_SIZE = 32  # rendered at twice the shown 16 px, so it stays sharp on high-DPI screens


def message_icon(icon: MessageIcon, color: QColor) -> QIcon:
    """``icon`` drawn in ``color``."""
    return _render(icon, color.name())


@lru_cache(maxsize=64)
def _render(icon: MessageIcon, color: str) -> QIcon:
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" fill="none" '
           f'stroke="{color}" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">'
           f'{icon.value}</svg>')
    renderer = QSvgRenderer(QByteArray(svg.encode()))
    pixmap = QPixmap(_SIZE, _SIZE)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    renderer.render(painter, QRectF(0, 0, _SIZE, _SIZE))
    painter.end()
    return QIcon(pixmap)
