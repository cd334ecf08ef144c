"""GenLab's look: one palette and one stylesheet per light/dark, a spacing and type scale.

Fusion is used on every platform so widgets look the same everywhere.  The
colours live in two :class:`Colours` sets; :func:`palette_for` turns one
into a QPalette (so any widget, also one built by another workspace, gets
them through its palette roles) and :func:`stylesheet` fills the app-wide
QSS template ``resources/styles/genlab.qss`` with them (rounded buttons, a
primary button, inputs, the sidebar's selected pill, cards, the status bar).

The theme setting is ``"system" | "light" | "dark"``; "system" follows the
OS colour scheme (``QStyleHints.colorScheme``, Qt 6.5+) also when it changes
while GenLab runs.  :func:`apply_theme` is called once at start and again
whenever the setting changes.

Widgets opt into the shared styles with :func:`set_role` (a ``role`` dynamic
property): "title", "subtitle", "muted", "error", "card", "primary", "empty".
"""

from __future__ import annotations

import os
import string
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QWidget

from desktop.core.paths import resource_path

ThemeMode = Literal["system", "light", "dark"]
THEME_MODES: tuple[ThemeMode, ...] = ("system", "light", "dark")
Role = Literal["title", "subtitle", "muted", "error", "card", "primary", "empty"]

# Spacing scale (px): layouts use these instead of ad-hoc margins.
SPACE_XS, SPACE_S, SPACE_M, SPACE_L, SPACE_XL = 4, 8, 12, 16, 24
RADIUS_S, RADIUS_M, RADIUS_L = 6, 8, 12
# Type scale (px): small print, body, section subtitle, workspace title.
FONT_SMALL, FONT_BODY, FONT_SUBTITLE, FONT_TITLE = 12, 13, 15, 20


@dataclass(frozen=True)
class Colours:
    """Every colour the theme uses, as #rrggbb."""

    window: str  # the window's background
    surface: str  # inputs, lists, cards (QPalette.Base)
    surface_alt: str  # hover, alternate rows
    border: str
    text: str
    muted: str  # secondary text; still >= 4.5:1 on window and surface
    placeholder: str
    accent: str  # primary buttons, selection, progress
    on_accent: str  # text on the accent
    accent_hover: str
    link: str
    danger: str
    success: str
    sidebar: str
    pill: str  # the selected sidebar item
    on_pill: str
    tooltip: str
    on_tooltip: str
    disabled: str  # disabled text (WCAG exempts it; kept readable anyway)


LIGHT = Colours(
    window="#f5f6f8", surface="#ffffff", surface_alt="#eceef2", border="#d5d9e0", text="#1b1d22",
    muted="#565c68", placeholder="#6b717c", accent="#3b5bdb", on_accent="#ffffff", accent_hover="#3451c7",
    link="#2f4ac0", danger="#b42323", success="#2b7a3a", sidebar="#eceef2", pill="#dbe2fb", on_pill="#1c2d7a",
    tooltip="#1b1d22", on_tooltip="#f5f6f8", disabled="#9aa0aa",
)
DARK = Colours(
    window="#17181c", surface="#1f2026", surface_alt="#2a2c33", border="#363842", text="#e6e7eb",
    muted="#a3a8b3", placeholder="#8d929c", accent="#3b5bdb", on_accent="#ffffff", accent_hover="#4c6ef5",
    link="#91a7ff", danger="#ff8a8a", success="#69db7c", sidebar="#121316", pill="#27304f", on_pill="#dbe4ff",
    tooltip="#2a2c33", on_tooltip="#e6e7eb", disabled="#6b707a",
)


def palette_for(c: Colours) -> QPalette:
    """A full QPalette from ``c`` (every group; Disabled gets the disabled text colour)."""
    p = QPalette()
    r = QPalette.ColorRole
    roles = {
        r.Window: c.window, r.WindowText: c.text, r.Base: c.surface, r.AlternateBase: c.surface_alt,
        r.ToolTipBase: c.tooltip, r.ToolTipText: c.on_tooltip, r.Text: c.text, r.Button: c.surface,
        r.ButtonText: c.text, r.BrightText: c.on_accent, r.Highlight: c.accent, r.HighlightedText: c.on_accent,
        r.Link: c.link, r.LinkVisited: c.link, r.PlaceholderText: c.placeholder,
        r.Light: c.surface, r.Midlight: c.surface_alt, r.Mid: c.border, r.Dark: c.border, r.Shadow: c.border,
        r.Accent: c.accent,
    }
    for role, colour in roles.items():
        p.setColor(role, QColor(colour))
    for role in (r.Text, r.ButtonText, r.WindowText, r.PlaceholderText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(c.disabled))
    p.setColor(QPalette.ColorGroup.Disabled, r.Highlight, QColor(c.border))
    return p


def _arrow_files(colour: str) -> tuple[str, str]:
    """Down and up caret SVGs in ``colour`` for spin boxes and combos (QSS takes images only as files)."""
    folder = Path(tempfile.gettempdir()) / f"genlab-theme-{os.getuid() if hasattr(os, 'getuid') else 0}"
    folder.mkdir(exist_ok=True)
    svg = resource_path("icons", "phosphor", "caret-down.svg").read_text(encoding="utf-8")
    svg = svg.replace('fill="#000000"', f'fill="{colour}"')
    down, up = folder / f"caret-down-{colour[1:]}.svg", folder / f"caret-up-{colour[1:]}.svg"
    if not down.exists():
        down.write_text(svg, encoding="utf-8")
    if not up.exists():
        up.write_text(svg.replace("<path ", '<path transform="rotate(180 128 128)" '), encoding="utf-8")
    return down.as_posix(), up.as_posix()


def stylesheet(c: Colours) -> str:
    """The app-wide QSS filled with ``c`` and the spacing/type scale."""
    template = string.Template(resource_path("styles", "genlab.qss").read_text(encoding="utf-8"))
    arrow_down, arrow_up = _arrow_files(c.muted)
    scale = dict(arrow_down=arrow_down, arrow_up=arrow_up, space_xs=SPACE_XS, space_s=SPACE_S, space_m=SPACE_M, space_l=SPACE_L, space_xl=SPACE_XL,
                 radius_s=RADIUS_S, radius_m=RADIUS_M, radius_l=RADIUS_L, font_small=FONT_SMALL,
                 font_body=FONT_BODY, font_subtitle=FONT_SUBTITLE, font_title=FONT_TITLE)
    return template.substitute(asdict(c), **scale)


def system_is_dark(app: QApplication) -> bool:
    return app.styleHints().colorScheme() == Qt.ColorScheme.Dark


def resolve(mode: str, app: QApplication) -> Colours:
    """The colours for ``mode``; an unknown mode is treated as "system"."""
    if mode == "light":
        return LIGHT
    if mode == "dark":
        return DARK
    return DARK if system_is_dark(app) else LIGHT


class _State:
    mode: str = "system"
    colours: Colours = LIGHT
    listening: bool = False


_state = _State()


def colours() -> Colours:
    """The colours in use now (for the few places that write coloured rich text)."""
    return _state.colours


def is_dark() -> bool:
    return _state.colours is DARK


def apply_theme(app: QApplication, mode: str = "system") -> None:
    """Apply ``mode`` ("system", "light" or "dark") now; "system" keeps following the OS."""
    if app.style().name().lower() != "fusion":
        app.setStyle("Fusion")
    _state.mode = mode
    if not _state.listening:
        _state.listening = True
        app.styleHints().colorSchemeChanged.connect(lambda scheme: _system_changed(app, scheme))
    _apply(app, resolve(mode, app))


def _system_changed(app: QApplication, scheme: Qt.ColorScheme) -> None:
    if _state.mode == "system":
        _apply(app, DARK if scheme == Qt.ColorScheme.Dark else LIGHT)


def _apply(app: QApplication, c: Colours) -> None:
    _state.colours = c
    app.setPalette(palette_for(c))
    app.setStyleSheet(stylesheet(c))


def set_role(widget: QWidget, role: Role) -> None:
    """Give ``widget`` one of the stylesheet's roles (and re-polish it if it is shown)."""
    widget.setProperty("role", role)
    style = widget.style()
    style.unpolish(widget)
    style.polish(widget)


def set_theme(mode: str) -> None:
    """Switch the running app to ``mode`` when the setting changed (Preferences)."""
    app = QApplication.instance()
    if isinstance(app, QApplication) and mode != _state.mode:
        apply_theme(app, mode)
