"""The [n] of a rendered reply become links to its sources, never inside code and never for unknown numbers."""

from __future__ import annotations

from desktop.core.text.markdown import Prose, render_blocks
from desktop.ui.chat.sources_card import link_citations


def _html(markdown: str) -> str:
    """The prose of a rendered reply (code blocks are separate views that get no links)."""
    return "".join(b.html for b in render_blocks(markdown) if isinstance(b, Prose))


def test_markers_link_to_known_sources_only():
    html = link_citations(_html("Otters eat urchins [1] and crabs [2, 7]; see [1-2]."), {1, 2})
    assert html.count('<a href="cite:1">[1]</a>') == 2
    assert html.count('<a href="cite:2">[2]</a>') == 2
    assert "cite:7" not in html and "[7]" not in html  # a number naming no source is dropped from the links


def test_code_and_indexing_are_left_alone():
    html = link_citations(_html("Use `items[1]` or `[1]` in code, and cite [1] or a[1]."), {1})
    assert html.count("cite:1") == 1
    assert "<code>items[1]</code>" in html and "<code>[1]</code>" in html and "a[1]" in html
