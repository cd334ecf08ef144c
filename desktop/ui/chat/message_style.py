"""The transcript's colours, derived from the application palette.

Every colour is a mix of the palette's own (Base, Window, Text, Highlight),
so the light and dark themes both apply without a colour table here.  Muted
text (stats, labels) is mixed towards the text colour far enough to keep a
contrast of at least 4.5:1 on the card.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor, QPalette


def mix(a: QColor, b: QColor, t: float) -> QColor:
    """``a`` moved ``t`` of the way towards ``b``."""
    return QColor(round(a.red() + (b.red() - a.red()) * t),
                  round(a.green() + (b.green() - a.green()) * t),
                  round(a.blue() + (b.blue() - a.blue()) * t))


@dataclass(frozen=True)
class TranscriptStyle:
    dark: bool
    background: QColor  # behind the cards
    user_card: QColor
    assistant_card: QColor
    border: QColor
    code_background: QColor
    code_header: QColor
    text: QColor
    muted: QColor  # role labels' companions, stats

    @classmethod
    def from_palette(cls, palette: QPalette) -> TranscriptStyle:
        base = palette.color(QPalette.ColorRole.Base)
        window = palette.color(QPalette.ColorRole.Window)
        text = palette.color(QPalette.ColorRole.Text)
        accent = palette.color(QPalette.ColorRole.Highlight)
        dark = base.lightness() < 128
        assistant = base
        return cls(
            dark=dark,
            background=window,
            user_card=mix(base, accent, 0.18 if dark else 0.10),
            assistant_card=assistant,
            border=mix(base, text, 0.16),
            code_background=mix(assistant, text, 0.07 if dark else 0.04),
            code_header=mix(assistant, text, 0.13 if dark else 0.08),
            text=text,
            muted=mix(text, base, 0.30),
        )

    def stylesheet(self) -> str:
        """Rules for the transcript's container (selectors by object name)."""
        return f"""
QWidget#transcriptContent {{ background: {self.background.name()}; }}
QFrame#userMessage {{ background: {self.user_card.name()}; border: 1px solid {self.border.name()};
    border-radius: 12px; }}
QFrame#assistantMessage {{ background: {self.assistant_card.name()}; border: 1px solid {self.border.name()};
    border-radius: 12px; }}
QLabel#messageRole {{ font-weight: 600; }}
QLabel#messageStats, QLabel#messageSiblings, QLabel#messageLimit, QLabel#codeLanguage {{
    color: {self.muted.name()}; }}
QTextBrowser#messageText, QTextBrowser#codeText, QTextBrowser#messageText:focus, QTextBrowser#codeText:focus {{
    color: {self.text.name()}; background: transparent; border: none; padding: 0px; }}
QFrame#codeBlock {{ background: {self.code_background.name()}; border: 1px solid {self.border.name()};
    border-radius: 8px; }}
QWidget#codeHeader {{ background: {self.code_header.name()}; border-top-left-radius: 8px;
    border-top-right-radius: 8px; }}
QToolButton#messageAction, QToolButton#codeCopy {{ border: none; border-radius: 6px; padding: 3px; }}
QToolButton#messageAction:hover, QToolButton#codeCopy:hover {{ background: {self.border.name()}; }}
"""
