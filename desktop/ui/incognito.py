"""Incognito's wording and look, shared by the status bar, the History workspace and Preferences.

One place, so the indicator, the banner, the checkbox and the empty History
say the same thing (and the Preferences dialog need not import the main window).
"""

from __future__ import annotations

INCOGNITO_LINE = "Incognito: new generations are not recorded"

INCOGNITO_TOOLTIP = (
    "Incognito is on: new generations are not recorded in the history.\n"
    "New images carry no prompt or settings inside the file, get no thumbnail, and are kept only in a "
    "temporary folder outside GenLab's data that is deleted when GenLab closes; copy an image elsewhere "
    "to keep it.\n"
    "Turn incognito off in the History workspace or in Preferences.")

# The status bar's indicator and the History workspace's banner: white on dark red.
INDICATOR_STYLE = "background:#7a1f1f;color:white;font-weight:bold;padding:1px 8px;border-radius:3px"
BANNER_STYLE = "background:#7a1f1f;color:white;padding:4px;font-weight:bold"
