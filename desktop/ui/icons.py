"""Icons that follow the theme: bundled Phosphor SVGs drawn in the palette's colours.

``icon("play")`` returns a QIcon whose engine renders the SVG at paint time
in the current application palette's colour (ButtonText by default, the
Disabled group's colour for a disabled button), so an icon made before a
switch from light to dark is drawn in the new colours without being made
again.  The SVGs are a few KB each under ``resources/icons/phosphor`` (MIT,
see the LICENSE there); QtSvg is a small module, so nothing heavy is
imported and the font of an icon library is not loaded at startup.

Names are an ``IconName`` literal, so a mistyped name fails type checking;
at run time an unknown name raises KeyError at once, not a blank button.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal, get_args

from PySide6.QtCore import QByteArray, QPoint, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QGuiApplication, QIcon, QIconEngine, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer

from desktop.core.paths import resource_path

IconName = Literal[
    "arrow-counter-clockwise", "arrow-square-out", "arrows-clockwise", "arrows-out", "caret-down", "chat-circle-text",
    "check", "circle-half", "clock-counter-clockwise", "copy", "cube", "dots-three", "download-simple",
    "file", "folder-open", "gear", "image", "image-square", "info", "list-bullets", "magnifying-glass",
    "moon", "paper-plane-right", "pencil-simple", "play", "plus", "push-pin", "shuffle",
    "sliders-horizontal", "sparkle", "stack", "stop", "sun", "trash", "warning", "x",
]
ICON_NAMES: tuple[str, ...] = get_args(IconName)
_BLACK = b'fill="#000000"'


@lru_cache(maxsize=None)
def _svg(name: str) -> bytes:
    if name not in ICON_NAMES:
        raise KeyError(f"no icon named {name!r}; known: {', '.join(ICON_NAMES)}")
    return resource_path("icons", "phosphor", f"{name}.svg").read_bytes()


@lru_cache(maxsize=512)
def _renderer(name: str, rgb: str) -> QSvgRenderer:
    return QSvgRenderer(QByteArray(_svg(name).replace(_BLACK, f'fill="{rgb}"'.encode())))


class _PaletteIconEngine(QIconEngine):
    """Draws one SVG in a palette role's colour, looked up when painted."""

    def __init__(self, name: str, role: QPalette.ColorRole) -> None:
        super().__init__()
        self._name = name
        self._role = role

    def _colour(self, mode: QIcon.Mode) -> str:
        palette = QGuiApplication.palette()
        group = QPalette.ColorGroup.Disabled if mode == QIcon.Mode.Disabled else QPalette.ColorGroup.Active
        role = QPalette.ColorRole.HighlightedText if mode == QIcon.Mode.Selected else self._role
        return palette.color(group, role).name()

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode, state: QIcon.State) -> None:
        side = min(rect.width(), rect.height())
        square = QRectF(rect.x() + (rect.width() - side) / 2, rect.y() + (rect.height() - side) / 2, side, side)
        _renderer(self._name, self._colour(mode)).render(painter, square)

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        pixmap = QPixmap(size)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.paint(painter, QRect(QPoint(0, 0), size), mode, state)
        painter.end()
        return pixmap

    def clone(self) -> QIconEngine:
        return _PaletteIconEngine(self._name, self._role)


def icon(name: IconName, role: QPalette.ColorRole = QPalette.ColorRole.ButtonText) -> QIcon:
    """The bundled icon ``name``, drawn in the palette colour of ``role``."""
    _svg(name)  # an unknown name fails here, where it is asked for
    return QIcon(_PaletteIconEngine(name, role))
