"""How quantities read on screen: one formatter per unit, shared by every workspace.

No Qt here, so the CLI and the GUI say a duration the same way.
"""

from __future__ import annotations

import math


def format_duration(seconds: float) -> str:
    """A duration as a person reads it: "850 ms" under a second, "2.4 s", "1 min 5 s", "2 h 3 min".

    Negative or non-finite values (an estimate not known yet) read as "–".
    """
    if not isinstance(seconds, (int, float)) or not math.isfinite(seconds) or seconds < 0:
        return "–"
    if seconds < 1:
        ms = round(seconds * 1000)
        return f"{ms} ms" if ms < 1000 else "1.0 s"
    if seconds < 10:
        return f"{seconds:.1f} s" if round(seconds, 1) < 10 else "10 s"
    if seconds < 60:
        return f"{round(seconds)} s" if round(seconds) < 60 else "1 min 0 s"
    whole = round(seconds)
    if whole < 3600:
        minutes, rest = divmod(whole, 60)
        return f"{minutes} min {rest} s"
    hours, rest = divmod(whole, 3600)
    return f"{hours} h {rest // 60} min"
