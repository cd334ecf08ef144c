"""Citation markers in a reply, mapped to sources; odd numbers are reported, never a crash."""

from __future__ import annotations

from desktop.core.knowledge.citations import find_markers, parse_citations
from desktop.core.knowledge.grounding import Source


def _sources(n):
    return [Source(i, "docs", f"c{i}", f"f{i}.md", f"/d/f{i}.md", "", 0.5, "", "text") for i in range(1, n + 1)]


def test_single_lists_ranges_and_runs_are_markers():
    text = "Otters sleep [1]. They eat fish [2, 3]; crabs [1-2][3] and more [2;3]."
    assert [m.numbers for m in find_markers(text)] == [(1,), (2, 3), (1, 2), (3,), (2, 3)]
    first = find_markers(text)[0]
    assert text[first.start:first.end] == "[1]"


def test_code_and_other_brackets_are_not_citations():
    assert find_markers("items[0] and a[1] and [x] and [] and [1.5]") == []
    assert find_markers("[ 2 ]")[0].numbers == (2,)


def test_cited_uncited_and_out_of_range():
    sources = _sources(3)
    report = parse_citations("Yes [3]. Also [1][3] and [7], [0] and [2-9].", sources)
    assert [s.number for s in report.cited] == [3, 1, 2]
    assert report.uncited == []
    assert report.out_of_range == [7, 0, 4, 5, 6, 8, 9]
    partial = parse_citations("Only [2].", sources)
    assert [s.number for s in partial.cited] == [2] and [s.number for s in partial.uncited] == [1, 3]
    assert partial.source(3) is sources[2] and partial.source(9) is None


def test_no_sources_or_no_markers():
    assert parse_citations("See [1].", []).out_of_range == [1]
    report = parse_citations("No citations here.", _sources(2))
    assert report.cited == [] and len(report.uncited) == 2 and report.markers == []


def test_a_huge_range_is_not_expanded():
    assert find_markers("[1-100000]") == []  # more than four digits: not a citation
    assert find_markers("[1-9999]")[0].numbers == (1, 9999)
