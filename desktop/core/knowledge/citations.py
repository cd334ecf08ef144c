"""The [n] citations in a grounded reply, mapped to the sources they name.

Recognised markers: ``[1]``, ``[1, 3]`` (commas or semicolons), ``[1-3]`` (a
range, hyphen or en dash) and runs like ``[1][2]`` (each bracket is a marker).
A bracket right after a letter, digit or underscore (``items[0]``, ``a[1]``)
is code, not a citation.  Numbers outside 1..len(sources) (a small model
invents ``[7]`` for three sources) are reported in ``out_of_range`` and
otherwise ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from desktop.core.knowledge.grounding import Source

MAX_RANGE = 50  # "[1-100000]" is not a citation worth expanding
_MARKER = re.compile(r"(?<![\w])\[(\s*\d{1,4}\s*(?:(?:[,;]|[-–])\s*\d{1,4}\s*)*)\]")
_PART = re.compile(r"(\d+)\s*[-–]\s*(\d+)|(\d+)")


@dataclass(frozen=True)
class Marker:
    """One bracket in the reply: where it is (``start``:``end`` in the text) and the numbers it names."""

    start: int
    end: int
    numbers: tuple[int, ...]


@dataclass
class CitationReport:
    """What a reply cites: ``cited`` sources (in order of first citation), ``uncited`` ones, and the
    numbers that name no source."""

    markers: list[Marker] = field(default_factory=list)
    cited: list[Source] = field(default_factory=list)
    uncited: list[Source] = field(default_factory=list)
    out_of_range: list[int] = field(default_factory=list)

    def source(self, number: int) -> Source | None:
        for s in (*self.cited, *self.uncited):
            if s.number == number:
                return s
        return None


def find_markers(text: str) -> list[Marker]:
    """Every citation bracket in ``text``, in order."""
    markers = []
    for m in _MARKER.finditer(text):
        numbers: list[int] = []
        for part in _PART.finditer(m.group(1)):
            if part.group(3) is not None:
                numbers.append(int(part.group(3)))
                continue
            low, high = int(part.group(1)), int(part.group(2))
            if low <= high and high - low < MAX_RANGE:
                numbers += range(low, high + 1)
            else:
                numbers += [low, high]
        markers.append(Marker(m.start(), m.end(), tuple(dict.fromkeys(numbers))))
    return markers


def parse_citations(reply: str, sources: list[Source]) -> CitationReport:
    """Map the reply's markers to ``sources`` (by ``Source.number``); never raises on odd numbers."""
    by_number = {s.number: s for s in sources}
    markers = find_markers(reply)
    cited: dict[int, Source] = {}
    out: dict[int, None] = {}
    for marker in markers:
        for n in marker.numbers:
            if n in by_number:
                cited.setdefault(n, by_number[n])
            else:
                out.setdefault(n)
    return CitationReport(markers, list(cited.values()), [s for s in sources if s.number not in cited], list(out))
