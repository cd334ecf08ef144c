"""The in-RAM vector index against exact search over the same rows of a real LanceDB table."""

from __future__ import annotations

import numpy as np
import pytest

from desktop.core.history import search
from desktop.core.history.search import SearchQuery
from desktop.core.history.store import HistoryStore
from tests.support.history import make_record

# the slow set: most tests here load a real model or pipeline, or spawn processes
pytestmark = pytest.mark.slow

DIM = 384


def _clustered_vectors(n: int, seed: int = 0) -> np.ndarray:
    """Unit vectors around 40 random topics, like embeddings of a real history."""
    rng = np.random.default_rng(seed)
    topics = rng.standard_normal((40, DIM)).astype("float32")
    v = topics[rng.integers(0, 40, n)] + 0.6 * rng.standard_normal((n, DIM)).astype("float32")
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _fill(store: HistoryStore, vectors: np.ndarray, start: int = 0, **record_kw) -> list[str]:
    records = [make_record(f"record {start + i}", **record_kw) for i in range(len(vectors))]
    store.save_embedded(records, vectors)
    return [r.id for r in records]


def _ids(store: HistoryStore, ranked: list[tuple[int, float]]) -> list[str]:
    rows = search._rows_by_rowid(store.searcher.snapshot(), [r for r, _ in ranked], ["id"])
    return [r["id"] for r in rows]


def _exact_ids(ids: list[str], vectors: np.ndarray, q: np.ndarray, k: int, keep=None) -> list[str]:
    sims = vectors @ q
    if keep is not None:
        sims = np.where(keep, sims, -np.inf)
    return [ids[i] for i in np.argsort(-sims)[:k]]


@pytest.fixture
def small_ivf_store(genlab_home):
    s = HistoryStore(embedder=None, idle_seconds=3600, ivf_min_rows=1000)
    s.searcher.vectors.min_scanned_rows = 300  # so that a query scores only some partitions of a few thousand rows
    s.searcher.vectors.rows_per_list = 50
    yield s
    s.close()


def test_small_tables_are_searched_exactly(store):
    vectors = _clustered_vectors(300)
    ids = _fill(store, vectors)
    queries = _clustered_vectors(20, seed=1)
    store.searcher.snapshot()
    assert not store.searcher.vectors.partitioned  # below ivf_min_rows
    for q in queries:
        ranked = store.searcher.vectors.search(q, 10)
        assert _ids(store, ranked) == _exact_ids(ids, vectors, q, 10)
        assert [s for _, s in ranked] == pytest.approx(sorted((vectors @ q).tolist(), reverse=True)[:10], abs=1e-5)


def test_large_tables_use_partitions_with_high_recall(small_ivf_store):
    store = small_ivf_store
    vectors = _clustered_vectors(3000)
    ids = _fill(store, vectors)
    store.searcher.snapshot()
    assert store.searcher.vectors.wait_partitioned(60)
    assert len(store.searcher.vectors._centroids) == 60 and 8 <= store.searcher.vectors.nprobe() < 30  # only some lists probed
    queries = _clustered_vectors(50, seed=2)
    recall = np.mean([len(set(_ids(store, store.searcher.vectors.search(q, 10))) & set(_exact_ids(ids, vectors, q, 10))) / 10
                      for q in queries])
    assert recall >= 0.95, recall  # the goal
    # the similarities it returns are exact, not approximations
    ranked = store.searcher.vectors.search(queries[0], 5)
    by_id = dict(zip(ids, vectors @ queries[0]))
    for rid, sim in zip(_ids(store, ranked), [s for _, s in ranked]):
        assert sim == pytest.approx(float(by_id[rid]), abs=1e-5)


def test_new_rows_deletes_updates_and_compaction_are_followed(small_ivf_store):
    store = small_ivf_store
    vectors = _clustered_vectors(1500)
    ids = _fill(store, vectors)
    store.searcher.snapshot()
    assert store.searcher.vectors.wait_partitioned(60)
    q = vectors[7]
    assert _ids(store, store.searcher.vectors.search(q, 1)) == [ids[7]]

    extra = _clustered_vectors(200, seed=5)
    extra_ids = _fill(store, extra, start=1500)  # a new fragment, partitioned on arrival
    store.searcher.snapshot()
    assert _ids(store, store.searcher.vectors.search(extra[3], 1)) == [extra_ids[3]]

    assert store.delete([ids[7]]) == 1  # a deletion file, then compaction rewrites the fragment
    store.searcher.snapshot()
    assert ids[7] not in _ids(store, store.searcher.vectors.search(q, 50))
    store.update(ids[8], rating=5)  # an update rewrites the row elsewhere
    store.maintain_now()
    store.searcher.snapshot()
    assert _ids(store, store.searcher.vectors.search(vectors[8], 1)) == [ids[8]]
    assert store.searcher.vectors.rows == 1699
    hits = store.search(SearchQuery("record", mode="semantic", limit=3, vector=extra[3], min_relevance=0)).hits
    assert hits[0].record.id == extra_ids[3]  # row ids agree with the rows fetched after compaction


def test_rows_deleted_in_place_leave_the_index_without_a_rewrite(small_ivf_store):
    """A delete that only writes a deletion file: the held vectors are masked, partitions stay right."""
    from desktop.core.history.sql import ids_predicate
    from desktop.core.history.vector_index import VectorIndex

    store = small_ivf_store
    vectors = _clustered_vectors(1500)
    ids = _fill(store, vectors)
    store.searcher.snapshot()
    assert store.searcher.vectors.wait_partitioned(60)
    gone = ids[::3]
    store._writer.run(lambda: store.table.delete(ids_predicate(gone)))  # no compaction afterwards
    store.searcher.snapshot()
    fresh = VectorIndex(ivf_min_rows=10**9)  # and one that reads the fragment with its deletion file
    fresh.sync(store.searcher.snapshot(), store.meta.get("embed_model", ""))
    assert store.searcher.vectors.rows == fresh.rows == 1000
    alive = [i for i in range(1500) if i % 3]
    kept_ids = [ids[i] for i in alive]
    # the partitions still hold exactly their own rows: each row is nearest its partition's centroid
    centroids = store.searcher.vectors._centroids
    for entry in store.searcher.vectors._fragments.values():
        for p in range(len(centroids)):
            rows = entry.vectors[entry.bounds[p]:entry.bounds[p + 1]]
            assert (np.argmax(rows @ centroids.T, axis=1) == p).all()
    overlap = []
    for q in _clustered_vectors(20, seed=4):
        expected = _exact_ids(kept_ids, vectors[alive], q, 5)
        assert _ids(store, fresh.search(q, 5)) == expected
        found = _ids(store, store.searcher.vectors.search(q, 5))
        assert not set(found) & set(gone)
        overlap.append(len(set(found) & set(expected)) / 5)
    assert np.mean(overlap) >= 0.8


def test_filters_keep_only_allowed_rows_even_when_selective(small_ivf_store):
    store = small_ivf_store
    vectors = _clustered_vectors(2000)
    images = vectors[:30]
    image_ids = _fill(store, images, kind="image")
    ids = image_ids + _fill(store, vectors[30:], start=30)
    store.searcher.snapshot()
    assert store.searcher.vectors.wait_partitioned(60)
    kind = np.array([i < 30 for i in range(2000)])
    for q in _clustered_vectors(10, seed=3):
        hits = store.search(SearchQuery("x", mode="semantic", limit=10, vector=q, filters={"kind": "image"},
                                          min_relevance=0)).hits
        assert [h.record.id for h in hits] == _exact_ids(ids, vectors, q, 10, keep=kind)
        hits = store.search(SearchQuery("x", mode="semantic", limit=10, vector=q, filters={"kind": "text"},
                                          min_relevance=0)).hits
        assert all(h.record.kind == "text" for h in hits) and len(hits) == 10


def test_records_without_embeddings_are_not_in_the_vector_index(store):
    store.save_many([make_record("saved before the embedder was ready")])
    _fill(store, _clustered_vectors(5))
    store.searcher.snapshot()
    assert store.searcher.vectors.rows == 5


def test_changing_the_embedder_drops_the_old_vectors(store):
    _fill(store, _clustered_vectors(50))
    store.searcher.snapshot()
    assert store.searcher.vectors.rows == 50
    store._writer.run(lambda: store.embedding.mark_stale("another-model"))  # every vector becomes stale
    store.searcher.snapshot()
    assert store.searcher.vectors.rows == 0
    assert store.searcher.vectors.search(_clustered_vectors(1)[0], 5) == []
