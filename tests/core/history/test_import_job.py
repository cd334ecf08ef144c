"""An import as one job: records read of the total, then "Embedding N of M", and semantic search finds them."""

from __future__ import annotations

import json

import pytest

from desktop.core.history.import_job import import_and_embed
from desktop.core.history.search import SearchQuery
from desktop.core.history.store import HistoryStore
from desktop.core.jobs import CancelToken, JobCancelled
from tests.support.history import LateEmbedder

# the slow set: most tests here load a real model or pipeline, or spawn processes
pytestmark = pytest.mark.slow

BREAD = "How do I bake sourdough bread at home?"


def _source(tmp_path, n=300):
    src = tmp_path / "import.jsonl"
    lines = [{"kind": "text", "prompt": f"filler record {i} about tuning a bicycle gear"} for i in range(n - 1)]
    src.write_text("".join(json.dumps(x) + "\n" for x in lines + [{"kind": "text", "prompt": BREAD}]))
    return src


@pytest.fixture
def late_store(genlab_home, embedder):
    store = HistoryStore(embedder=LateEmbedder(embedder), idle_seconds=3600)
    yield store
    store.close()


def test_import_reports_reading_then_embedding_and_ends_searchable(late_store, tmp_path):
    reports = []
    result = import_and_embed(late_store, _source(tmp_path), progress=reports.append)
    assert (result.imported, result.embedded, result.embed_note) == (300, 300, "")
    reading = [r for r in reports if r.message.startswith("Read ")]
    embedding = [r for r in reports if r.message.startswith("Embedding ")]
    assert [r.current for r in reading] == [100, 200, 300] and {r.total for r in reading} == {300}
    assert embedding[0].message == "Embedding 0 of 300 records"
    assert embedding[-1].message == "Embedding 300 of 300 records" and embedding[-1].fraction == 1.0
    assert reports.index(reading[-1]) < reports.index(embedding[0])
    assert late_store.count("embedded = false") == 0 and late_store.embedder.texts == 300
    hits = late_store.search(SearchQuery("recipe for a homemade loaf", mode="semantic", limit=1)).hits
    assert [h.record.prompt for h in hits] == [BREAD]


def test_an_embedder_that_cannot_load_leaves_the_records_for_keyword_search(genlab_home, tmp_path):
    class Broken(LateEmbedder):
        def __init__(self):
            super().__init__(type("Real", (), {"name": "all-MiniLM-L6-v2"})())
            self.error = RuntimeError("the model folder is gone.")

        def wait_ready(self, timeout=None):
            return False

    store = HistoryStore(embedder=Broken(), idle_seconds=3600)
    try:
        result = import_and_embed(store, _source(tmp_path, 10))
        assert (result.imported, result.embedded) == (10, 0)
        assert result.embed_note.startswith("Not embedded yet: the model folder is gone.")
        assert store.search(SearchQuery("sourdough", mode="keyword")).hits[0].record.prompt == BREAD
    finally:
        store.close()


def test_cancelling_during_the_embedding_keeps_every_imported_record(late_store, tmp_path):
    token = CancelToken()

    def progress(report):
        if report.message.startswith("Embedding ") and report.current:
            token.cancel()

    with pytest.raises(JobCancelled):
        import_and_embed(late_store, _source(tmp_path), cancel=token, progress=progress)
    assert late_store.count() == 300
    assert 0 < late_store.count("embedded = true") < 300
