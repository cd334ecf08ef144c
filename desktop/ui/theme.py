"""Follow the system's light or dark appearance.

Fusion is used on every platform so widgets look the same everywhere; its
palette is switched between light and dark whenever the system's colour
scheme changes (Qt 6.5+ reports it through ``QStyleHints.colorScheme``).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from desktop.core.paths import resource_path


def _dark_palette() -> QPalette:
    p = QPalette()
    base, alt, text = QColor(32, 33, 36), QColor(42, 43, 47), QColor(230, 230, 230)
    p.setColor(QPalette.ColorRole.Window, alt)
    p.setColor(QPalette.ColorRole.WindowText, text)
    p.setColor(QPalette.ColorRole.Base, base)
    p.setColor(QPalette.ColorRole.AlternateBase, alt)
    p.setColor(QPalette.ColorRole.ToolTipBase, base)
    p.setColor(QPalette.ColorRole.ToolTipText, text)
    p.setColor(QPalette.ColorRole.Text, text)
    p.setColor(QPalette.ColorRole.Button, alt)
    p.setColor(QPalette.ColorRole.ButtonText, text)
    p.setColor(QPalette.ColorRole.Highlight, QColor(76, 140, 255))
    p.setColor(QPalette.ColorRole.HighlightedText, QColor(255, 255, 255))
    p.setColor(QPalette.ColorRole.Link, QColor(120, 170, 255))
    p.setColor(QPalette.ColorRole.PlaceholderText, QColor(150, 150, 150))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(120, 120, 120))
    return p


def is_dark(app: QApplication) -> bool:
    return app.styleHints().colorScheme() == Qt.ColorScheme.Dark


def _apply_palette(app: QApplication) -> None:
    app.setPalette(_dark_palette() if is_dark(app) else app.style().standardPalette())


def apply_theme(app: QApplication) -> None:
    app.setStyle("Fusion")
    _apply_palette(app)
    app.styleHints().colorSchemeChanged.connect(lambda _scheme: _apply_palette(app))
    qss = resource_path("styles", "genlab.qss")
    if qss.exists():
        app.setStyleSheet(qss.read_text(encoding="utf-8"))
