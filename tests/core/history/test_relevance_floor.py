"""Semantic and hybrid results below the relevance floor are not listed as matches; keyword results always are."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from desktop.core.history.errors import HistoryError
from desktop.core.history.search import MIN_RELEVANCE, SearchQuery
from tests.support.history import make_record

COOKING = [
    "How do I bake sourdough bread at home?",
    "A quick weeknight recipe for chicken curry",
    "How long should I boil an egg for a runny yolk?",
    "Best way to caramelise onions without burning them",
    "Vegetarian lasagne with spinach and ricotta",
    "How to make fresh pasta dough by hand",
    "Tips for a crispy roast potato",
    "Substitute for buttermilk in pancakes",
    "How to season a cast iron skillet",
    "A simple vinaigrette for a green salad",
    "Slow cooker beef stew with red wine",
    "How to temper chocolate for dipping strawberries",
]
FLOOR = MIN_RELEVANCE["all-MiniLM-L6-v2"]
START = datetime(2026, 5, 1, tzinfo=timezone.utc)


@pytest.fixture
def kitchen(semantic_store):
    semantic_store.save_many([make_record(p, created_at=START + timedelta(days=i)) for i, p in enumerate(COOKING)])
    return semantic_store


@pytest.mark.parametrize("mode", ["semantic", "hybrid"])
def test_an_unrelated_query_lists_nothing_and_says_how_much_it_hid(kitchen, mode):
    result = kitchen.search(SearchQuery("quantum chromodynamics lattice", mode=mode, limit=10))
    assert result.hits == []
    assert result.min_relevance == FLOOR and result.hidden == 10
    everything = kitchen.search(SearchQuery("quantum chromodynamics lattice", mode=mode, limit=10, min_relevance=0))
    assert len(everything.hits) == 10 and everything.hidden == 0 and everything.min_relevance == 0
    assert all(h.score < FLOOR for h in everything.hits)


@pytest.mark.parametrize("mode", ["semantic", "hybrid"])
def test_a_related_query_keeps_its_matches_above_the_floor(kitchen, mode):
    result = kitchen.search(SearchQuery("recipe for a homemade loaf", mode=mode, limit=len(COOKING)))
    assert result.hits[0].record.prompt == "How do I bake sourdough bread at home?"
    assert all(h.score >= FLOOR for h in result.hits)
    assert len(result.hits) + result.hidden == len(COOKING) and result.hidden > 0


@pytest.mark.parametrize("mode", ["semantic", "hybrid"])
def test_a_chosen_floor_replaces_the_default(kitchen, mode):
    default = kitchen.search(SearchQuery("recipe for a homemade loaf", mode=mode, limit=len(COOKING)))
    strict = kitchen.search(SearchQuery("recipe for a homemade loaf", mode=mode, limit=len(COOKING),
                                        min_relevance=0.5))
    assert strict.min_relevance == 0.5 and all(h.score >= 0.5 for h in strict.hits)
    assert len(strict.hits) < len(default.hits) and len(strict.hits) + strict.hidden == len(COOKING)


@pytest.mark.parametrize("mode", ["semantic", "hybrid"])
def test_sort_by_date_lists_only_matches_above_the_floor(kitchen, mode):
    query = SearchQuery("quantum chromodynamics lattice", mode=mode, sort="date", limit=5)
    result = kitchen.search(query)
    query.min_relevance = 0
    unfloored = kitchen.search(query)
    assert result.hits == [] and result.hidden == len(unfloored.hits) > 0


def test_keyword_search_keeps_every_full_text_match(kitchen):
    for floor in (None, 0.9):
        result = kitchen.search(SearchQuery("skillet stew", mode="keyword", limit=50, min_relevance=floor))
        assert sorted(h.record.prompt for h in result.hits) == [COOKING[8], COOKING[10]]
        assert result.min_relevance == 0 and result.hidden == 0


def test_a_hybrid_search_that_falls_back_to_keywords_keeps_every_match(store):
    store.save_many([make_record(p) for p in COOKING])
    result = store.search(SearchQuery("bread", mode="hybrid", min_relevance=0.99))
    assert result.mode == "keyword" and len(result.hits) == 1 and result.hidden == 0


@pytest.mark.parametrize("floor", [-0.1, 1.5, float("nan"), "0.3", True])
def test_a_bad_floor_is_a_clear_error(store, floor):
    with pytest.raises(HistoryError, match="minimum relevance must be a number from 0 to 1"):
        store.search(SearchQuery("bread", min_relevance=floor))


def test_hybrid_keeps_a_keyword_match_not_embedded_yet(genlab_home, embedder):
    from desktop.core.history.store import HistoryStore

    early = HistoryStore(embedder=None, idle_seconds=3600)
    early.save_many([make_record("How do I bake sourdough bread at home?")])
    early.close()
    store = HistoryStore(embedder=embedder, idle_seconds=3600)
    try:
        store.save_many([make_record(p) for p in COOKING[1:]])
        result = store.search(SearchQuery("sourdough", mode="hybrid"))
        assert store.unembedded == 1 and result.mode == "hybrid"
        assert COOKING[0] in [h.record.prompt for h in result.hits]  # though its fused score is low
    finally:
        store.close()
