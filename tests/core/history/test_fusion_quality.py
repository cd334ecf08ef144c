"""Hybrid search is at least as good as the better single mode on the real paraphrase evaluation.

The same measurement as ``python -m bench fusion_eval`` (848 real prompts as the
history, 70 hand-written paraphrases, each with the one prompt it should find,
the 60 held-out queries written later without looking at results, and two
sets written later still, before any search ran on them: 60 loose
paraphrases and 55 keyword or rare-term queries),
through the real store, embedder and LanceDB full-text index (the fusion: ``fusion.query_fusion``,
the more confident leg leading, candidates neither leg finds relevant last), so a change to the
fusion, the embedded text or either leg that makes hybrid worse fails here.
The default relevance floor must not cost a single hybrid hit: hybrid figures
are the same with no floor (and every figure on the three paraphrase-heavy sets).
"""

from __future__ import annotations

import csv

import pytest

from desktop.core.history.schema import embed_text_of
from desktop.core.history.search import SearchQuery
from desktop.core.history.store import HistoryStore
from desktop.core.records import GenerationRecord
from tests.support.history_data import FRESH_TSV, HELDOUT_TSV, QUERIES_TSV, TERMS_TSV, load_queries

pytestmark = pytest.mark.slow  # embeds 848 prompts and runs 245 queries in each mode


def test_hybrid_is_at_least_as_good_as_keyword_or_semantic_alone(genlab_home, prompts_csv, embedder):
    with open(prompts_csv, encoding="utf-8") as fh:
        prompts = list(csv.DictReader(fh))
    records = [GenerationRecord(kind="text", prompt=p["prompt"], session_id=p["act"]) for p in prompts]
    target = {p["act"]: r.id for p, r in zip(prompts, records)}
    query_sets = {path.name: load_queries(path) for path in (QUERIES_TSV, HELDOUT_TSV, FRESH_TSV, TERMS_TSV)}
    store = HistoryStore(embedder=embedder, idle_seconds=3600)
    try:
        store.save_embedded(records, embedder.encode([embed_text_of(r) for r in records]))
        store.maintain_now()
        results = {name: _scores(store, queries, target) for name, queries in query_sets.items()}
        unfloored = {name: _scores(store, queries, target, min_relevance=0.0) for name, queries in query_sets.items()}
    finally:
        store.close()
    assert len(records) == 848
    assert [len(q) for q in query_sets.values()] == [70, 60, 60, 55]
    # The bar: hybrid at least as good as the better single mode at top-1 and top-5 on every set.
    # One exception, measured and named so that one more loss fails: on the fresh loose paraphrases
    # hybrid wins 2 top-1 places over semantic and loses 4 semantic near-ties to keyword words the
    # queries were written to avoid ("analyse a passage from a novel...", "build embedded car
    # software...", "an admin panel with a side navigation menu...", "edit my photo so the man looks
    # like a hacker..."); no setting of the fusion's two temperatures tried (0.05-0.15 each) closes it
    # without losing the documents or the rare-term set (bench/README.md).
    top1_slack = {FRESH_TSV.name: 2}
    for name, scores in results.items():
        best_top1 = max(scores["keyword"][0], scores["semantic"][0])
        best_top5 = max(scores["keyword"][1], scores["semantic"][1])
        slack = top1_slack.get(name, 0) / len(query_sets[name]) + 1e-9
        assert scores["hybrid"][0] >= best_top1 - slack and scores["hybrid"][1] >= best_top5, (name, scores)
    assert {name: results[name] for name in (QUERIES_TSV.name, HELDOUT_TSV.name, FRESH_TSV.name)} \
        == {name: unfloored[name] for name in (QUERIES_TSV.name, HELDOUT_TSV.name, FRESH_TSV.name)}
    # rare-word queries ("SOLID teknik borç") embed far from everything: the floor hides a semantic hit there
    # (semantic alone 0.855 top-1 unfloored), never a hybrid one, and hybrid beats unfloored semantic too
    assert results[TERMS_TSV.name]["hybrid"] == unfloored[TERMS_TSV.name]["hybrid"]
    assert results[TERMS_TSV.name]["hybrid"] >= unfloored[TERMS_TSV.name]["semantic"]
    paraphrases = results[QUERIES_TSV.name]
    assert paraphrases["semantic"][0] > paraphrases["keyword"][0], paraphrases  # meaning beats words
    assert results[FRESH_TSV.name]["hybrid"][1] > results[FRESH_TSV.name]["semantic"][1]  # keywords add finds at top 5
    assert results[HELDOUT_TSV.name]["hybrid"][0] > results[HELDOUT_TSV.name]["semantic"][0]  # and break near-ties
    assert results[TERMS_TSV.name]["hybrid"][0] > results[TERMS_TSV.name]["semantic"][0]  # rare words now count


def _scores(store, queries, target, min_relevance=None) -> dict[str, tuple[float, float]]:
    """Top-1 and top-5 hit rates per search mode."""
    scores = {}
    for mode in ("keyword", "semantic", "hybrid"):
        top1 = top5 = 0
        for act, text in queries:
            ids = [h.record.id for h in store.search(SearchQuery(text, mode=mode, limit=5, min_relevance=min_relevance)).hits]
            top1 += ids[:1] == [target[act]]
            top5 += target[act] in ids
        scores[mode] = (top1 / len(queries), top5 / len(queries))
    return scores
