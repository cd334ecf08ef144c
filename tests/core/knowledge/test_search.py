"""Hybrid search over a collection with the real embedder, chunks by id for re-runs, and the history collection."""

from __future__ import annotations

import pytest

from desktop.core.knowledge.errors import KnowledgeError
from desktop.core.knowledge.store import Knowledge
from tests.support.history import make_record

PAGES = {
    "otters.md": "# Otters\n\nSea otters hold hands while they sleep so they do not drift apart.\n",
    "bread.md": "# Baking\n\nSourdough needs a starter, flour, water and salt, and a long rise.\n",
    "rust.md": "# Borrowing\n\nThe borrow checker rejects two mutable references to one value.\n",
}


@pytest.fixture
def semantic(genlab_home, embedder, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in PAGES.items():
        (docs / name).write_text(text)
    knowledge = Knowledge(embedder=embedder)
    knowledge.add("docs", [docs])
    knowledge.index("docs")
    yield knowledge
    knowledge.close()


def test_hybrid_and_semantic_find_a_paraphrase_keyword_does_not(semantic):
    query = "why do marine mammals link paws at night"
    assert semantic.search("docs", query, 1)[0].path.endswith("otters.md")
    assert semantic.search("docs", query, 1, mode="semantic")[0].path.endswith("otters.md")
    assert semantic.search("docs", query, 3, mode="keyword") == []
    hits = semantic.search("docs", "how to make a loaf with a starter", 3)
    assert hits[0].path.endswith("bread.md") and hits[0].score > hits[1].score


def test_chunks_by_id_return_the_same_chunks_for_a_rerun(semantic):
    hits = semantic.search("docs", "mutable references", 2)
    again = semantic.chunks("docs", [h.chunk_id for h in reversed(hits)])
    assert [h.text for h in again] == [h.text for h in reversed(hits)]
    semantic.index("docs")  # unchanged files keep their chunk ids
    assert [h.chunk_id for h in semantic.chunks("docs", [hits[0].chunk_id])] == [hits[0].chunk_id]


def test_bad_queries_are_refused_with_the_reason(semantic):
    with pytest.raises(KnowledgeError, match="query is empty"):
        semantic.search("docs", "   ", 3)
    with pytest.raises(KnowledgeError, match="at least 1"):
        semantic.search("docs", "otters", 0)
    with pytest.raises(KnowledgeError, match="Unknown search mode"):
        semantic.search("docs", "otters", 3, mode="fuzzy")


def test_the_history_collection_searches_the_history(genlab_home, store):
    record = make_record("How do I bake sourdough bread at home?", output_text="Feed the starter first.")
    store.save_and_wait(record)
    knowledge = Knowledge(embedder=None, history=store)
    try:
        assert knowledge.collections()[0].name == "history"
        hit = knowledge.search("history", "sourdough", 3, mode="keyword")[0]
        assert (hit.chunk_id, hit.collection, hit.path) == (record.id, "history", "")
        assert "Feed the starter" in hit.text
        assert [h.chunk_id for h in knowledge.chunks("history", [record.id, "gone"])] == [record.id]
        with pytest.raises(KnowledgeError, match="cannot be deleted here"):
            knowledge.delete("history")
    finally:
        knowledge.close()
