"""Keyword, semantic and hybrid search, filters, snippets and bad queries."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from desktop.core.history.errors import HistoryError, InvalidFilter
from desktop.core.history.search import SearchQuery
from desktop.core.records import ModelIdentity
from tests.support.history import make_record

DAY = lambda d: datetime(2026, 5, d, 12, 0, tzinfo=timezone.utc)  # noqa: E731


def _fill(store):
    records = [
        make_record("How do I bake sourdough bread at home?", output_text="Feed the starter, then knead.",
                    created_at=DAY(1), tags=["cooking"], rating=4),
        make_record("Explain quantum entanglement to a child", output_text="Two coins that always match.",
                    created_at=DAY(2), session_id="physics"),
        make_record("Write a limerick about a cat on a boat", output_text="There once was a cat...",
                    created_at=DAY(3), rating=2, tags=["poem"]),
        make_record("a watercolor lighthouse at dusk", kind="image", output_text="", negative_prompt="blurry",
                    created_at=DAY(4), model=ModelIdentity(name="tiny-sd", file="tiny-sd"), session_id="imgs"),
        make_record("Translate good morning into French", output_text="Bonjour", created_at=DAY(5),
                    origin="imported"),
    ]
    store.save_many(records)
    return records


def _prompts(result):
    return [h.record.prompt for h in result.hits]


def test_keyword_search_finds_words_and_highlights_them(store):
    _fill(store)
    result = store.search(SearchQuery("LIMERICK boat", mode="keyword"))
    assert result.mode == "keyword"
    hit = result.hits[0]
    assert hit.record.prompt == "Write a limerick about a cat on a boat"
    marked = sorted(hit.snippet[a:b].lower() for a, b in hit.highlights)
    assert marked == ["boat", "limerick"]


def test_keyword_search_reads_output_text_too(store):
    _fill(store)
    assert _prompts(store.search(SearchQuery("bonjour", mode="keyword"))) == ["Translate good morning into French"]


def test_semantic_and_hybrid_find_a_paraphrase(semantic_store):
    _fill(semantic_store)
    for mode in ("semantic", "hybrid"):
        result = semantic_store.search(SearchQuery("recipe for a homemade loaf", mode=mode))
        assert result.mode == mode
        assert result.hits[0].record.prompt == "How do I bake sourdough bread at home?"
        assert result.embed_ms > 0
    assert store_has_no_keyword_hit(semantic_store, "recipe for a homemade loaf")


def store_has_no_keyword_hit(store, text):
    return store.search(SearchQuery(text, mode="keyword")).hits == []


def test_hybrid_without_embedder_falls_back_to_keyword_with_a_notice(store):
    _fill(store)
    result = store.search(SearchQuery("lighthouse"))
    assert result.mode == "keyword"
    assert "still loading" in result.notice
    assert _prompts(result) == ["a watercolor lighthouse at dusk"]
    with pytest.raises(HistoryError, match="Semantic search is not available"):
        store.search(SearchQuery("lighthouse", mode="semantic"))


@pytest.mark.parametrize("filters, expected", [
    ({"kind": "image"}, {"a watercolor lighthouse at dusk"}),
    ({"model": "tiny-sd"}, {"a watercolor lighthouse at dusk"}),
    ({"date_from": "2026-05-02", "date_to": "2026-05-03"},
     {"Explain quantum entanglement to a child", "Write a limerick about a cat on a boat"}),
    ({"rating": 3}, {"How do I bake sourdough bread at home?"}),
    ({"tag": "poem"}, {"Write a limerick about a cat on a boat"}),
    ({"session": "physics"}, {"Explain quantum entanglement to a child"}),
    ({"origin": "imported"}, {"Translate good morning into French"}),
])
def test_each_filter_narrows_results(semantic_store, filters, expected):
    _fill(semantic_store)
    recent = semantic_store.search(SearchQuery("", filters=filters))
    assert set(_prompts(recent)) == expected
    for mode in ("keyword", "semantic", "hybrid"):
        hits = semantic_store.search(SearchQuery("a", mode=mode, filters=filters)).hits
        assert {h.record.prompt for h in hits} <= expected


def test_unknown_filter_is_named_with_the_known_ones(store):
    with pytest.raises(InvalidFilter, match="'colour'") as info:
        store.search(SearchQuery("x", filters={"colour": "red"}))
    assert "kind" in str(info.value) and "session" in str(info.value)


@pytest.mark.parametrize("filters, message", [
    ({"kind": "video"}, "kind must be"),
    ({"rating": "high"}, "rating filter"),
    ({"date_from": "yesterday"}, "not a date"),
    ({"origin": "stolen"}, "origin must be"),
])
def test_bad_filter_values_are_clear_errors(store, filters, message):
    with pytest.raises(InvalidFilter, match=message):
        store.search(SearchQuery("x", filters=filters))


def test_bad_mode_and_sort_are_clear_errors(store):
    with pytest.raises(HistoryError, match="Unknown search mode"):
        store.search(SearchQuery("x", mode="fuzzy"))
    with pytest.raises(HistoryError, match="Unknown sort"):
        store.search(SearchQuery("x", sort="size"))


def test_empty_query_shows_recent_first(store):
    records = _fill(store)
    result = store.search(SearchQuery("   "))
    assert result.mode == "recent"
    assert [h.record.id for h in result.hits] == [r.id for r in reversed(records)]


def test_sort_by_date(store):
    _fill(store)
    hits = store.search(SearchQuery("cat bread lighthouse french", mode="keyword", sort="date")).hits
    dates = [h.record.created_at for h in hits]
    assert len(dates) == 4 and dates == sorted(dates, reverse=True)


def test_keyword_sort_by_date_shows_the_newest_of_all_matches(store):
    strong = [make_record("sourdough sourdough sourdough starter", created_at=DAY(d)) for d in (1, 2, 3)]
    weak = make_record("A long note about many things: flour, water, salt, ovens, timers, jars, "
                       "and once, briefly, sourdough.", created_at=DAY(4))
    store.save_many(strong + [weak, make_record("an unrelated newest record", created_at=DAY(5))])
    by_relevance = store.search(SearchQuery("sourdough", mode="keyword", limit=2)).hits
    assert weak.id not in [h.record.id for h in by_relevance]  # the case that used to go missing
    newest = store.search(SearchQuery("sourdough", mode="keyword", sort="date", limit=2)).hits
    assert [h.record.id for h in newest] == [weak.id, strong[2].id]
    everything = store.search(SearchQuery("sourdough", mode="keyword", sort="date", limit=10)).hits
    assert [h.record.id for h in everything] == [weak.id] + [r.id for r in reversed(strong)]


@pytest.mark.parametrize("mode", ["semantic", "hybrid"])
def test_meaning_sort_by_date_shows_a_newer_match_ranked_below_the_limit(semantic_store, mode):
    older = [make_record("How do I bake sourdough bread at home?", created_at=DAY(1)),
             make_record("Tips for baking sourdough bread loaves", created_at=DAY(2))]
    newer = make_record("Sourdough bread recipe with a long rise", created_at=DAY(3))
    unrelated = [make_record("Explain quantum entanglement to a child", created_at=DAY(4)),
                 make_record("a watercolor lighthouse at dusk", kind="image", created_at=DAY(5))]
    semantic_store.save_many(older + [newer] + unrelated)
    query = SearchQuery("baking sourdough bread", mode=mode, limit=2)
    assert newer.id not in [h.record.id for h in semantic_store.search(query).hits]
    query.sort = "date"
    hits = semantic_store.search(query).hits
    assert [h.record.id for h in hits] == [newer.id, older[1].id]
    query.limit = 10  # below the relevance floor is not a match, however new
    assert [h.record.id for h in semantic_store.search(query).hits] == [newer.id, older[1].id, older[0].id]


def test_sort_by_date_keeps_filters(semantic_store):
    _fill(semantic_store)
    for mode in ("keyword", "semantic", "hybrid"):
        hits = semantic_store.search(SearchQuery("bread cat", mode=mode, sort="date", filters={"rating": 3})).hits
        assert [h.record.prompt for h in hits] == ["How do I bake sourdough bread at home?"]


def test_model_filter_takes_a_sha256_prefix(store):
    records = _fill(store)
    sha = records[0].model.sha256
    assert len(store.search(SearchQuery("", filters={"model": sha[:8]})).hits) == 4  # every text record
    assert len(store.search(SearchQuery("", filters={"model": sha.upper()[:12]})).hits) == 4
    assert store.search(SearchQuery("", filters={"model": "abc"})).hits == []  # too short for a prefix
    assert store.search(SearchQuery("", filters={"model": "ab%"})).hits == []  # no LIKE wildcards
    assert len(store.search(SearchQuery("", filters={"model": "tiny.gguf"})).hits) == 4


@pytest.fixture
def new_york_time(monkeypatch):
    import time

    if not hasattr(time, "tzset"):
        pytest.skip("time.tzset is POSIX only")
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_dates_without_a_zone_are_local_time(store, new_york_time):
    late = make_record("late evening in New York", created_at=datetime(2026, 5, 2, 2, 0, tzinfo=timezone.utc))
    store.save_and_wait(late)  # 22:00 on 1 May, local time
    def found(filters):
        return [h.record.id for h in store.search(SearchQuery("", filters=filters)).hits]
    assert found({"date_from": "2026-05-01", "date_to": "2026-05-01"}) == [late.id]
    assert found({"date_from": "2026-05-02"}) == []
    assert found({"date_from": "2026-05-01T21:59", "date_to": "2026-05-01T22:00"}) == [late.id]
    assert found({"date_from": "2026-05-02T01:00+00:00"}) == [late.id]


@pytest.mark.parametrize("filters, message", [
    ({"date_from": "2026-05-03", "date_to": "2026-05-02"}, "starts after it ends"),
    ({"rating": 6}, "from 0 to 5"),
    ({"rating": -1}, "from 0 to 5"),
    ({"date_to": "2026-13-01"}, "date_to filter '2026-13-01' is not a date"),
])
def test_more_bad_filter_values(store, filters, message):
    with pytest.raises(InvalidFilter, match=message):
        store.search(SearchQuery("", filters=filters))


@pytest.mark.parametrize("mode", ["keyword", "semantic", "hybrid"])
def test_a_100_kb_query_is_shortened_not_fatal(semantic_store, mode):
    _fill(semantic_store)
    result = semantic_store.search(SearchQuery("sourdough bread " * 6500, mode=mode))
    assert "shortened" in result.notice
    assert result.hits[0].record.prompt == "How do I bake sourdough bread at home?"


@pytest.mark.parametrize("text", ['"', "*", ":", "(", 'prompt:"cat*" AND (boat', "') OR 1=1 --",
                                  "DROP TABLE generations_v2; --", "kind = 'image'"])
@pytest.mark.parametrize("mode", ["keyword", "hybrid"])
def test_query_syntax_characters_are_plain_text(semantic_store, text, mode):
    _fill(semantic_store)
    result = semantic_store.search(SearchQuery(text, mode=mode))
    assert isinstance(result.hits, list)
    assert semantic_store.count() == 5
    if mode == "keyword" and text == 'prompt:"cat*" AND (boat':
        assert "Write a limerick about a cat on a boat" in _prompts(result)


def test_image_whose_file_was_deleted_is_shown_missing(store, tmp_path):
    image = tmp_path / "out.png"
    image.write_bytes(b"\x89PNG fake")
    store.save_and_wait(make_record("a red fox in snow", kind="image", image_path=str(image)))
    assert store.search(SearchQuery("fox", mode="keyword")).hits[0].image_missing is False
    image.unlink()
    hit = store.search(SearchQuery("fox", mode="keyword")).hits[0]
    assert hit.image_missing is True
    assert hit.record.image_path == str(image)


def test_records_saved_before_the_embedder_are_backfilled(genlab_home, embedder):
    from desktop.core.history.store import HistoryStore
    from desktop.core.jobs import CancelToken

    early = HistoryStore(embedder=None)
    _fill(early)
    early.close()
    store = HistoryStore(embedder=embedder)
    try:
        assert store.unembedded == 5
        seen = []
        assert store.backfill(cancel=CancelToken(), progress=seen.append) == 5
        assert store.unembedded == 0 and store.count("embedded = false") == 0
        assert seen[-1].current == 5
        hits = store.search(SearchQuery("recipe for a homemade loaf", mode="semantic")).hits
        assert hits[0].record.prompt == "How do I bake sourdough bread at home?"
    finally:
        store.close()


def test_choosing_another_embedder_marks_everything_for_re_embedding(genlab_home, embedder):
    from desktop.core.history.embedder import Embedder, EmbedderUnavailable
    from desktop.core.history.store import HistoryStore

    first = HistoryStore(embedder=embedder)
    _fill(first)
    assert first.unembedded == 0
    first.close()
    other = Embedder("no-such-embedder")
    store = HistoryStore(embedder=other)
    try:
        assert store.unembedded == 5
        with pytest.raises(EmbedderUnavailable, match="no-such-embedder"):
            other.load()
    finally:
        store.close()
