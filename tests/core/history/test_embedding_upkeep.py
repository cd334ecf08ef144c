"""The backfill is resumable: cancelled midway, the next run (after a restart) embeds only the rest."""

from __future__ import annotations

import pytest

from desktop.core.history.embedding_upkeep import BACKFILL_CHUNK
from desktop.core.history.search import SearchQuery
from desktop.core.history.store import HistoryStore
from desktop.core.jobs import CancelToken, JobCancelled
from tests.support.history import LateEmbedder, make_record

# the slow set: most tests here load a real model or pipeline, or spawn processes
pytestmark = pytest.mark.slow

TOTAL = 3 * BACKFILL_CHUNK + 10


def test_a_cancelled_backfill_resumes_where_it_stopped(genlab_home, embedder):
    first = LateEmbedder(embedder)
    store = HistoryStore(embedder=first, idle_seconds=3600)
    try:
        store.save_many([make_record(f"record {i} about a garden of roses") for i in range(TOTAL - 1)]
                        + [make_record("How do I bake sourdough bread at home?")])
        assert store.count("embedded = false") == TOTAL  # saved while the embedder was loading
        token = CancelToken()
        reports = []

        def progress(report):
            reports.append(report)
            if len(reports) == 2:
                token.cancel()  # midway: after the second chunk is committed

        with pytest.raises(JobCancelled):
            store.backfill(cancel=token, progress=progress)
        assert [r.current for r in reports] == [BACKFILL_CHUNK, 2 * BACKFILL_CHUNK]
        assert first.texts == 2 * BACKFILL_CHUNK
        assert store.count("embedded = true") == 2 * BACKFILL_CHUNK  # what was done is kept
    finally:
        store.close()

    second = LateEmbedder(embedder)
    store = HistoryStore(embedder=second, idle_seconds=3600)  # a restart
    try:
        assert store.unembedded == TOTAL - 2 * BACKFILL_CHUNK
        assert store.backfill(cancel=CancelToken()) == TOTAL - 2 * BACKFILL_CHUNK
        assert second.texts == TOTAL - 2 * BACKFILL_CHUNK  # only the rest was embedded
        assert store.count("embedded = false") == 0 and store.unembedded == 0
        assert store.backfill(cancel=CancelToken()) == 0 and second.texts == TOTAL - 2 * BACKFILL_CHUNK
        hits = store.search(SearchQuery("recipe for a homemade loaf", mode="semantic", limit=1)).hits
        assert hits[0].record.prompt == "How do I bake sourdough bread at home?"
    finally:
        store.close()
