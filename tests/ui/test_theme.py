"""The theme: WCAG contrast of every text colour, light/dark/system switching, icons, the sidebar."""

from __future__ import annotations

import re

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from desktop.ui import theme
from desktop.ui.icons import ICON_NAMES, icon

MIN_CONTRAST = 4.5


def luminance(hex_colour: str) -> float:
    """WCAG 2.x relative luminance of an sRGB colour."""
    c = QColor(hex_colour)

    def channel(v: int) -> float:
        s = v / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(c.red()) + 0.7152 * channel(c.green()) + 0.0722 * channel(c.blue())


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_the_contrast_formula_matches_known_values():
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)  # the classic "just fails" grey


@pytest.fixture
def app_theme(qapp):
    """Apply themes freely; the app's style sheet and palette are put back afterwards."""
    sheet, palette, state = qapp.styleSheet(), qapp.palette(), (theme._state.mode, theme._state.colours)
    yield qapp
    qapp.setStyleSheet(sheet)
    qapp.setPalette(palette)
    theme._state.mode, theme._state.colours = state


TEXT_ON = (
    ("WindowText", "Window"), ("Text", "Base"), ("Text", "AlternateBase"), ("ButtonText", "Button"),
    ("HighlightedText", "Highlight"), ("ToolTipText", "ToolTipBase"), ("PlaceholderText", "Base"),
    ("Link", "Base"), ("Link", "Window"), ("BrightText", "Highlight"),
)


@pytest.mark.parametrize("colours", [theme.LIGHT, theme.DARK], ids=["light", "dark"])
def test_every_palette_text_role_is_readable_on_its_background(colours):
    palette = theme.palette_for(colours)
    bad = []
    for fg, bg in TEXT_ON:
        a = palette.color(QPalette.ColorGroup.Active, getattr(QPalette.ColorRole, fg)).name()
        b = palette.color(QPalette.ColorGroup.Active, getattr(QPalette.ColorRole, bg)).name()
        if contrast(a, b) < MIN_CONTRAST:
            bad.append(f"{fg} {a} on {bg} {b}: {contrast(a, b):.2f}")
    assert bad == []


def _rules(qss: str) -> list[tuple[str, dict[str, str]]]:
    qss = re.sub(r"/\*.*?\*/", "", qss, flags=re.S)
    rules = []
    for selector, body in re.findall(r"([^{}]+)\{([^}]*)\}", qss):
        props = {}
        for decl in body.split(";"):
            if ":" in decl:
                key, value = decl.split(":", 1)
                props[key.strip()] = value.strip()
        rules.append((" ".join(selector.split()), props))
    return rules


def _hex(value: str) -> str | None:
    match = re.match(r"#[0-9a-fA-F]{6}\b", value.split()[0] if value else "")
    return match.group(0).lower() if match else None


@pytest.mark.parametrize("colours", [theme.LIGHT, theme.DARK], ids=["light", "dark"])
def test_every_stylesheet_text_colour_is_readable_on_its_background(colours):
    """A rule's colour is checked on its own background, else on the window and the surface it may sit on;
    disabled states are exempt (WCAG 1.4.3), as are colours the stylesheet leaves to the palette."""
    rules = _rules(theme.stylesheet(colours))
    assert len(rules) > 20
    checked, bad = 0, []
    for selector, props in rules:
        if ":disabled" in selector:
            continue
        pairs = [("color", "background"), ("selection-color", "selection-background-color")]
        for fg_key, bg_key in pairs:
            fg = _hex(props.get(fg_key, ""))
            if fg is None:
                continue
            bg = _hex(props.get(bg_key, "") or props.get("background-color", ""))
            backgrounds = [bg] if bg else [colours.window, colours.surface]
            for b in backgrounds:
                checked += 1
                if contrast(fg, b) < MIN_CONTRAST:
                    bad.append(f"{selector}: {fg_key} {fg} on {b}: {contrast(fg, b):.2f}")
    assert checked > 20 and bad == []


def test_progress_text_is_readable_over_its_filled_part():
    for c in (theme.LIGHT, theme.DARK):
        assert contrast(c.text, c.pill) >= MIN_CONTRAST and contrast(c.text, c.surface_alt) >= MIN_CONTRAST


@pytest.mark.slow
def test_light_dark_and_system_apply_and_switch_live(app_theme):
    app = app_theme
    theme.apply_theme(app, "dark")
    assert app.palette().color(QPalette.ColorRole.Window).name() == theme.DARK.window
    assert theme.DARK.sidebar in app.styleSheet()
    theme.set_theme("light")
    assert app.palette().color(QPalette.ColorRole.Window).name() == theme.LIGHT.window
    assert theme.LIGHT.sidebar in app.styleSheet() and theme.DARK.sidebar not in app.styleSheet()

    # The offscreen platform has no colour scheme of its own: send what the OS would.
    hints = app.styleHints()
    theme.set_theme("system")
    hints.colorSchemeChanged.emit(Qt.ColorScheme.Dark)
    assert app.palette().color(QPalette.ColorRole.Window).name() == theme.DARK.window
    hints.colorSchemeChanged.emit(Qt.ColorScheme.Light)
    assert app.palette().color(QPalette.ColorRole.Window).name() == theme.LIGHT.window

    theme.set_theme("dark")  # a fixed choice ignores the system from now on
    hints.colorSchemeChanged.emit(Qt.ColorScheme.Light)
    assert app.palette().color(QPalette.ColorRole.Window).name() == theme.DARK.window


def test_icons_are_drawn_in_the_current_palette_colour(app_theme):
    play = icon("play")  # made once, before the switch
    for colours in (theme.LIGHT, theme.DARK):
        theme.apply_theme(app_theme, "light" if colours is theme.LIGHT else "dark")
        image = play.pixmap(32, 32).toImage()
        opaque = {image.pixelColor(x, y).name() for x in range(32) for y in range(32)
                  if image.pixelColor(x, y).alpha() == 255}
        assert opaque == {colours.text}


def test_every_icon_name_has_its_svg_and_unknown_names_fail_loudly(qapp):
    for name in ICON_NAMES:
        assert not icon(name).pixmap(16, 16).isNull(), name
    with pytest.raises(KeyError, match="no icon named 'plaay'"):
        icon("plaay")  # type: ignore[arg-type]


def test_preferences_theme_choice_is_saved_and_applied_live(qtbot, services, runner, app_theme):
    from desktop.core.settings import load_settings
    from desktop.ui.main_window import MainWindow
    from desktop.ui.preferences import PreferencesDialog

    window = MainWindow(services, runner, start_services=False)
    qtbot.addWidget(window)
    dialog = PreferencesDialog(services.settings, window)
    qtbot.addWidget(dialog)
    assert [dialog.theme.itemText(i) for i in range(dialog.theme.count())] == ["System", "Light", "Dark"]
    assert dialog.theme.currentData() == "system"
    dialog.theme.setCurrentIndex(dialog.theme.findData("dark"))
    dialog.accept()
    window.apply_settings(dialog.result_settings)
    assert services.settings.appearance.theme == "dark"
    assert load_settings()[0].appearance.theme == "dark"
    assert QApplication.instance().palette().color(QPalette.ColorRole.Window).name() == theme.DARK.window


def test_the_selected_sidebar_item_has_no_focus_rectangle(qtbot, services, runner, app_theme):
    from desktop.ui.main_window import MainWindow

    theme.apply_theme(app_theme, "light")
    window = MainWindow(services, runner, start_services=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    nav = window.nav
    nav.setCurrentRow(1)
    rect = nav.visualItemRect(nav.item(1))
    nav.clearFocus()
    without = nav.viewport().grab(rect).toImage()
    nav.setFocus(Qt.FocusReason.TabFocusReason)
    window.activateWindow()
    qtbot.waitUntil(nav.hasFocus)
    with_focus = nav.viewport().grab(rect).toImage()
    assert with_focus == without
    # and the selected item is drawn as a pill in the theme's colour
    centre = with_focus.pixelColor(with_focus.width() - 12, with_focus.height() // 2).name()
    assert centre == theme.LIGHT.pill
