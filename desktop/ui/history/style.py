"""Colours of the History workspace's secondary text, derived from the palette.

A fixed grey (``#888``) is too faint on white and the disabled colour even more
so; :func:`secondary_text_color` mixes the palette's text colour towards its
background just enough to look secondary while keeping a WCAG contrast of at
least 4.5:1, in the light and the dark palette alike.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette

MIN_CONTRAST = 4.5
MIX = 0.45  # how far from the text colour towards the background to start


def _luminance(color: QColor) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(color.red()) + 0.7152 * channel(color.green()) + 0.0722 * channel(color.blue())


def contrast_ratio(a: QColor, b: QColor) -> float:
    """The WCAG contrast ratio of two colours (1 to 21)."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _mix(a: QColor, b: QColor, t: float) -> QColor:
    return QColor(round(a.red() + (b.red() - a.red()) * t), round(a.green() + (b.green() - a.green()) * t),
                  round(a.blue() + (b.blue() - a.blue()) * t))


def secondary_text_color(palette: QPalette, role: QPalette.ColorRole = QPalette.ColorRole.Base) -> str:
    """A ``#rrggbb`` grey between the palette's text and its ``role`` background, readable on it."""
    text_role = QPalette.ColorRole.WindowText if role == QPalette.ColorRole.Window else QPalette.ColorRole.Text
    text = palette.color(QPalette.ColorGroup.Active, text_role)
    background = palette.color(QPalette.ColorGroup.Active, role)
    t = MIX
    color = _mix(text, background, t)
    while t > 0 and contrast_ratio(color, background) < MIN_CONTRAST:
        t = max(0.0, t - 0.05)
        color = _mix(text, background, t)
    return color.name()
