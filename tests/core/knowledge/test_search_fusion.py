"""Hybrid search over a collection lets the more confident leg lead, with the real embedder and full-text index.

Two constructed cases from ``desktop/core/history/fusion.py``'s docstring: a paraphrase whose words match a
page about something else (keyword alone picks that page; the semantic leg is sure of the right one), and a
ticket id next to a topic word (semantic alone hesitates between two pages on the topic; the id is in one
page only).
"""

from __future__ import annotations

import pytest

from desktop.core.knowledge.store import Knowledge

pytestmark = pytest.mark.slow  # the real embedder indexes six pages

PAGES = {
    "otters.md": "# Otters\n\nSea otters hold hands while they drift on the water, so the group stays together.\n",
    "sleep.md": "# Sleep\n\nSleep well: sleep at a fixed hour, sleep in the dark, sleep eight hours, wake rested "
                "and sleep again.\n",
    "bread.md": "# Baking\n\nSourdough needs a starter, flour, water and salt, and a long rise.\n",
    "grinder.md": "# Coffee at the office\n\nThe kitchen has a bean grinder and a kettle; setting 4 is the one "
                  "for filter.\n",
    "espresso.md": "# Espresso\n\nGrind coffee beans fine for espresso, coarse for a filter or a French press.\n",
    "rust.md": "# Borrowing\n\nThe borrow checker rejects two mutable references to one value (see QX-7731).\n",
}


@pytest.fixture
def pages(genlab_home, embedder, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in PAGES.items():
        (docs / name).write_text(text)
    knowledge = Knowledge(embedder=embedder)
    knowledge.add("docs", [docs])
    knowledge.index("docs")
    yield knowledge
    knowledge.close()


def _top(knowledge, query: str, mode: str) -> str:
    return knowledge.search("docs", query, 3, mode=mode)[0].path.rsplit("/", 1)[-1]


def test_a_confident_semantic_match_is_not_overturned_by_keyword_noise(pages):
    query = "why do marine mammals link paws when they sleep"
    assert _top(pages, query, "keyword") == "sleep.md"  # "sleep" four times
    assert _top(pages, query, "semantic") == "otters.md"
    assert _top(pages, query, "hybrid") == "otters.md"


def test_a_rare_exact_term_wins_when_semantic_is_unsure(pages):
    # semantic leans on "coffee" and cannot tell its two coffee pages apart; the ticket id is in one page
    # (the fixed 0.1 keyword weight this search used before kept the coffee page first)
    query = "coffee qx-7731"
    semantic = pages.search("docs", query, 2, mode="semantic")
    assert [h.path.rsplit("/", 1)[-1] for h in semantic] == ["grinder.md", "espresso.md"]
    assert semantic[0].score - semantic[1].score < 0.1
    assert _top(pages, query, "keyword") == "rust.md"
    assert _top(pages, query, "hybrid") == "rust.md"
