"""How well each search mode finds a prompt from a paraphrase of it.

The history holds the 848 real prompts of awesome-chatgpt-prompts.csv; the
queries are hand-written, each naming its target prompt: by default the 70
paraphrases in ``bench/data/history_fusion_queries.tsv``, or with
``--queries`` another file: ``history_fusion_queries_heldout.tsv`` (60, mixed),
``history_fusion_queries_fresh.tsv`` (60 loose paraphrases) or
``history_fusion_queries_terms.tsv`` (55 keyword and rare-term queries), each
written before any search ran on it.  For every mode we count top-1 and top-5
hits: keyword (LanceDB native FTS), semantic (vector), plain RRF of the two
candidate lists, and GenLab's hybrid (``query_fusion``, through the real
``HistoryStore.search``), and two earlier rules on the same candidates:
``before`` (the cosine plus a keyword boost gated on query specificity,
:func:`~desktop.core.history.fusion.keyword_weight`) and ``previous`` (the
confidence-weighted softmax at one temperature of 0.1 for both legs and no
evidence floor, GenLab's hybrid until 2026-12-04).  A sweep of the softmax
temperatures (``fusion.TEMPERATURE``, the keyword one kept at the same 2:3
ratio) shows how sensitive the fusion is.  Where the file gives each query a category
(a third column), every mode is also scored per category.

    python -m bench fusion_eval [--queries PATH] [--temperatures 0.05,0.1,0.2]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench fusion_eval")
    parser.add_argument("--temperatures", default="0.05,0.075,0.1,0.125,0.15,0.2", help="temperatures to sweep")
    parser.add_argument("--queries", default=None, help="query TSV (default: bench/data/history_fusion_queries.tsv)")
    args = parser.parse_args(argv)

    from desktop.core.history import fusion, search
    from desktop.core.history.embedder import Embedder
    from desktop.core.history.schema import embed_text_of
    from desktop.core.history.search import SearchQuery
    from desktop.core.history.store import HistoryStore
    from desktop.core.records import GenerationRecord
    from tests.support.history_data import QUERIES_TSV, embed_cached, load_labelled_queries, load_prompts

    prompts = load_prompts()
    queries = load_labelled_queries(Path(args.queries) if args.queries else QUERIES_TSV)
    embedder = Embedder()
    embedder.load()
    records = [GenerationRecord(kind="text", prompt=p["prompt"], session_id=p["act"]) for p in prompts]
    target = {p["act"]: r.id for p, r in zip(prompts, records)}
    vectors, _ = embed_cached(embedder, [embed_text_of(r) for r in records], "prompts")
    with tempfile.TemporaryDirectory() as tmp:
        store = HistoryStore(Path(tmp) / "history", embedder=embedder)
        store.save_embedded(records, vectors)
        store.maintain_now()
        k = search.CANDIDATES
        lists = []
        for act, text, _category in queries:
            words = search.query_words(text)
            qvec = embedder.encode([text])[0]
            kw = store.searcher.keyword_rows(words, None, k)
            sem = store.searcher.semantic_rows(qvec, None, k)
            lists.append((target[act], text, qvec, kw, sem))

        def score(ranked_ids_per_query, only=None) -> tuple[float, float]:
            """Top-1 and top-5 hit rates, over all queries or the indices in ``only``."""
            picked = [(ids, t) for i, (ids, (t, *_rest)) in enumerate(zip(ranked_ids_per_query, lists))
                      if only is None or i in only]
            top1 = sum(ids[:1] == [t] for ids, t in picked)
            top5 = sum(t in ids[:5] for ids, t in picked)
            return top1 / len(picked), top5 / len(picked)

        import numpy as np

        def legs(kw, sem, qvec):
            semantic = {r["id"]: 1.0 - r["_distance"] for r in sem}
            for r in kw:
                if r["vector"] is not None:
                    semantic.setdefault(r["id"], float(np.dot(qvec, np.asarray(r["vector"], dtype="float32"))))
            return semantic, {r["id"]: r["_score"] for r in kw}

        ratio = fusion.KEYWORD_TEMPERATURE / fusion.TEMPERATURE
        evidence_floor = search.default_min_relevance(embedder.name)

        def fused(kw, sem, qvec, text, temperature, keyword_temperature=None, floor=evidence_floor):
            words = len(set(search.query_words(text)))
            kt = temperature * ratio if keyword_temperature is None else keyword_temperature
            return [d for d, _ in fusion.query_fusion(*legs(kw, sem, qvec), words, store.count(), temperature, kt,
                                                      floor)]

        def before(kw, sem, qvec, text):
            semantic, keyword = legs(kw, sem, qvec)
            weight = fusion.keyword_weight(max(keyword.values(), default=0.0), len(set(search.query_words(text))),
                                           store.count())
            return [d for d, _ in fusion.anchored_fusion(semantic, keyword, weight)]

        results = {
            "keyword": [[r["id"] for r in kw] for _, _, _, kw, _ in lists],
            "semantic": [[r["id"] for r in sem] for _, _, _, _, sem in lists],
            "rrf": [[d for d, _ in fusion.rrf([[r["id"] for r in kw], [r["id"] for r in sem]])]
                    for _, _, _, kw, sem in lists],
            "before": [before(kw, sem, qv, text) for _, text, qv, kw, sem in lists],
            "previous": [fused(kw, sem, qv, text, 0.1, 0.1, 0.0) for _, text, qv, kw, sem in lists],
            "hybrid": [[h.record.id for h in store.search(SearchQuery(text, mode="hybrid", limit=10)).hits]
                       for _, text, *_ in lists],
        }
        print(f"records={store.count()} queries={len(lists)} temperature={fusion.TEMPERATURE} "
              f"keyword_temperature={fusion.KEYWORD_TEMPERATURE} evidence_floor={evidence_floor}")
        for mode, ranked in results.items():
            top1, top5 = score(ranked)
            print(f"{mode}_top1={top1:.3f} {mode}_top5={top5:.3f}")
        for t in [float(x) for x in args.temperatures.split(",")]:
            top1, top5 = score([fused(kw, sem, qv, text, t) for _, text, qv, kw, sem in lists])
            print(f"sweep_temperature={t:g} keyword_temperature={t * ratio:g} fused_top1={top1:.3f} "
                  f"fused_top5={top5:.3f}")
        best = max(score(results["keyword"]), score(results["semantic"]))
        ok = all(a >= b for a, b in zip(score(results["hybrid"]), (max(score(results["keyword"])[0],
                                                                       score(results["semantic"])[0]),
                                                                   max(score(results["keyword"])[1],
                                                                       score(results["semantic"])[1]))))
        print(f"hybrid_at_least_best_single={ok} best_single={best}")
        for category in sorted({c for *_q, c in queries if c}):
            only = {i for i, (*_q, c) in enumerate(queries) if c == category}
            figures = []
            for mode, ranked in results.items():
                top1, top5 = score(ranked, only)
                figures.append(f"{mode}_top1={top1:.3f} {mode}_top5={top5:.3f}")
            print(f"category={category} queries={len(only)} {' '.join(figures)}")
        store.close()
    return 0
