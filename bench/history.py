"""History store benchmark: ingest, search latency per mode, ANN recall, embedder speed, RAM.

Histories of 10k and 100k records are recombined from the 848 real prompts
(awesome-chatgpt-prompts.csv): record i joins the start of prompt a = i mod
848 with the end of prompt b = (7919 i + 13) mod 848, and its vector is
normalize(v[a] + 0.5 v[b] + 0.05 noise(seed i)) where v are the real
all-MiniLM-L6-v2 embeddings of the prompts (embedded once and cached), so
100k records need 848 embeddings, not 100k.  200 queries (the 70 hand-written
paraphrases of bench/data plus 130 prompt titles) run per mode.  Latency is
reported without and with the query embedding; "bare_*" lines are the
library's own flat vector scan and plain FTS call, run alternately with ours.

    python -m bench history [--sizes 10000,100000] [--queries 200]
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("LANCE_LOG", "error")
import resource
import statistics
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

MODELS = ["tinyllama-q4", "stories260k", "tiny-sd", "qwen2-0.5b-q8"]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def build_records(n: int, prompts, base_vectors):
    import numpy as np

    from desktop.core.records import GenerationRecord, ModelIdentity

    start = datetime(2025, 1, 1, tzinfo=timezone.utc)
    records, vectors = [], np.empty((n, base_vectors.shape[1]), dtype="float32")
    m = len(prompts)
    for i in range(n):
        a, b = i % m, (7919 * i + 13) % m
        text = prompts[a]["prompt"][:400] + " " + prompts[b]["prompt"][-200:]
        kind = "image" if i % 4 == 3 else "text"
        records.append(GenerationRecord(
            kind=kind, prompt=text, id=f"r{i:07d}", created_at=start + timedelta(minutes=5 * i),
            session_id=f"s{i // 20}", output_text="" if kind == "image" else prompts[b]["act"],
            model=ModelIdentity(name=MODELS[i % len(MODELS)]), seed=i, rating=i % 6,
            tags=["bench"] if i % 10 == 0 else []))
        noise = np.random.default_rng(i).standard_normal(base_vectors.shape[1]).astype("float32")
        v = base_vectors[a] + 0.5 * base_vectors[b] + 0.05 * noise
        vectors[i] = v / np.linalg.norm(v)
    return records, vectors


def _rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def bench_size(n: int, prompts, base_vectors, embedder, queries: list[str], qvecs) -> None:
    import numpy as np

    from desktop.core.history.search import SearchQuery
    from desktop.core.history.store import HistoryStore

    records, vectors = build_records(n, prompts, base_vectors)
    with tempfile.TemporaryDirectory() as tmp:
        store = HistoryStore(Path(tmp) / "history", embedder=embedder, idle_seconds=3600, index_min_rows=5000)
        t0 = time.perf_counter()
        for s in range(0, n, 10000):
            store.save_embedded(records[s:s + 10000], vectors[s:s + 10000])
        bulk = time.perf_counter() - t0
        t0 = time.perf_counter()
        store.maintain_now()
        index_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        store.searcher.snapshot()  # vectors into RAM (the app does this in the background at open)
        vectors_load_s = time.perf_counter() - t0
        partitions_s = 0.0
        if n >= store.searcher.vectors.ivf_min_rows:  # smaller histories are searched exactly
            store.searcher.vectors.wait_partitioned(600)  # the app clusters on its own thread; time one build here
            t0 = time.perf_counter()
            store.searcher.vectors.build_partitions()
            partitions_s = time.perf_counter() - t0
        partitioned = store.searcher.vectors.partitioned
        print(f"n={n} bulk_load_s={bulk:.1f} bulk_load_rate={n / bulk:.0f} index_build_s={index_s:.1f} "
              f"indices={','.join(store.stats()['indices'])} vectors_load_s={vectors_load_s:.2f} "
              f"ivf_partitions={partitioned} ivf_build_s={partitions_s:.2f} ivf_nprobe={store.searcher.vectors.nprobe()} "
              f"rss_mb={_rss_mb():.0f}")

        # recall@10 of the vector path (ANN) against exact search over the same vectors
        recalls = []
        for qv in qvecs:
            ann = [r["id"] for r in store.searcher.semantic_rows(qv, None, 10)]
            exact = np.argsort(-(vectors @ qv))[:10]
            recalls.append(len(set(ann) & {records[j].id for j in exact}) / 10)
        worst = sorted(range(len(recalls)), key=recalls.__getitem__)[:3]
        print(f"n={n} recall_at_10={statistics.mean(recalls):.3f} recall_at_10_min={min(recalls):.2f} "
              f"worst_queries={[queries[i] for i in worst]}")

        # latency per mode, ours alternating with the bare library calls
        lat: dict[str, list[float]] = {}

        def add(key, ms):
            lat.setdefault(key, []).append(ms)

        for i, text in enumerate(queries):  # warm-up: caches and index pages, not measured
            store.search(SearchQuery(text, mode="hybrid", limit=10, vector=qvecs[i], min_relevance=0))
        for i, text in enumerate(queries):
            qv = qvecs[i]
            for mode in ("keyword", "semantic", "hybrid"):
                # without the query embedding (vector precomputed) and with it (the real path),
                # in alternating order so neither always runs on warmer caches
                runs = [("excl", qv), ("incl", None)]
                for label, vector in (runs if i % 2 == 0 else runs[::-1]):
                    t0 = time.perf_counter()
                    store.search(SearchQuery(text, mode=mode, limit=10, vector=vector, min_relevance=0))
                    add(f"{mode}_{label}_embed", (time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            store.search(SearchQuery(text, mode="hybrid", limit=10, filters={"kind": "text"}, vector=qv,
                                     min_relevance=0))
            add("hybrid_filtered_excl_embed", (time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            store.table.search(qv, vector_column_name="vector").distance_type("cosine").bypass_vector_index() \
                .limit(10).to_list()
            add("bare_flat_vector", (time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            store.table.search(text[:2000], query_type="fts").limit(10).to_list()
            add("bare_fts", (time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            np.argpartition(-(vectors @ qv), 10)[:10]
            add("bare_numpy_dot", (time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            embedder.encode([text])
            add("query_embedding", (time.perf_counter() - t0) * 1000)
        for key, values in lat.items():
            print(f"n={n} {key}_p50_ms={_pct(values, 0.5):.1f} {key}_p95_ms={_pct(values, 0.95):.1f}")
        print(f"n={n} rss_after_queries_mb={_rss_mb():.0f}")
        store.close()


def prompt_sentences(prompts) -> list[str]:
    """Every distinct sentence of 25-400 characters in the real prompts (about 6,000)."""
    import re

    found: dict[str, None] = {}
    for p in prompts:
        for sentence in re.split(r"(?<=[.!?])\s+", p["prompt"]):
            sentence = sentence.strip()
            if 25 <= len(sentence) <= 400:
                found.setdefault(sentence, None)
    return list(found)


def bench_real_recall(prompts, embedder, queries: list[str], qvecs) -> None:
    """IVF recall on real embeddings (not the synthetic mixtures above): the prompts' sentences,
    partitioned by the app's code and probed at the app's 8 % of lists, against exact search."""
    import numpy as np

    from desktop.core.history.store import HistoryStore
    from desktop.core.records import GenerationRecord
    from tests.support.history_data import embed_cached

    sentences = prompt_sentences(prompts)
    vectors, seconds = embed_cached(embedder, sentences, "prompt-sentences")
    records = [GenerationRecord(kind="text", prompt=t) for t in sentences]
    with tempfile.TemporaryDirectory() as tmp:
        store = HistoryStore(Path(tmp) / "history", embedder=embedder, idle_seconds=3600, ivf_min_rows=1000)
        store.searcher.vectors.min_scanned_rows = 0  # probe exactly PROBE_FRACTION of the lists, as at 100k,
        store.searcher.vectors.rows_per_list = max(1, len(sentences) // 100)  # over as many lists as at 100k
        store.save_embedded(records, vectors)
        store.searcher.snapshot()
        store.searcher.vectors.wait_partitioned(600)
        recalls = []
        ids = [r.id for r in records]
        for qv in qvecs:
            found = {r["id"] for r in store.searcher.semantic_rows(qv, None, 10)}
            exact = {ids[j] for j in np.argsort(-(vectors @ qv))[:10]}
            recalls.append(len(found & exact) / 10)
        print(f"real_embeddings_n={len(sentences)} real_ivf_lists={len(store.searcher.vectors._centroids)} "
              f"real_ivf_nprobe={store.searcher.vectors.nprobe()} "
              f"real_recall_at_10={statistics.mean(recalls):.3f} real_recall_at_10_min={min(recalls):.2f} "
              f"real_embedding_s={'cached' if seconds is None else f'{seconds:.0f}'}")
        store.close()


def bench_ingest(prompts, embedder) -> None:
    from desktop.core.history.store import HistoryStore
    from desktop.core.records import GenerationRecord

    with tempfile.TemporaryDirectory() as tmp:
        for label, emb, count in (("no_embedding", None, 5000), ("with_embedding", embedder, 300)):
            store = HistoryStore(Path(tmp) / label, embedder=emb, idle_seconds=3600)
            recs = [GenerationRecord(kind="text", prompt=prompts[i % len(prompts)]["prompt"],
                                     output_text=prompts[(i * 3) % len(prompts)]["act"]) for i in range(count)]
            t0 = time.perf_counter()
            futures = [store.save(r) for r in recs]
            for f in futures:
                f.result()
            seconds = time.perf_counter() - t0
            print(f"ingest_{label}_records_per_s={count / seconds:.0f} ingest_{label}_versions={store.table.version}")
            store.close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench history")
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args(argv)

    from desktop.core.history.embedder import Embedder
    from desktop.core.history.schema import MAX_EMBED_CHARS
    from tests.support.history_data import embed_cached, load_prompts, load_queries

    print(f"loadavg_at_start={os.getloadavg()[0]:.2f} cpus={os.cpu_count()}")
    prompts = load_prompts()
    embedder = Embedder()
    t0 = time.perf_counter()
    embedder.load()
    print(f"embedder_load_s={time.perf_counter() - t0:.1f}")
    sample = [p["prompt"][:MAX_EMBED_CHARS] for p in prompts[:256]]
    t0 = time.perf_counter()
    embedder.encode(sample)
    print(f"embedder_throughput_texts_per_s={len(sample) / (time.perf_counter() - t0):.1f}")
    single = []
    for text in ("a short query about travel", "poem about the sea", "python code converter"):
        for _ in range(5):
            t0 = time.perf_counter()
            embedder.encode([text])
            single.append((time.perf_counter() - t0) * 1000)
    print(f"embedder_single_query_p50_ms={_pct(single, 0.5):.1f}")
    base_vectors, _ = embed_cached(embedder, [p["prompt"][:MAX_EMBED_CHARS] for p in prompts], "prompts-raw")
    paraphrases = [q for _, q in load_queries()]
    titles = [p["act"] for p in prompts]
    queries = (paraphrases + titles[::3])[:args.queries]
    qvecs = embedder.encode(queries)
    bench_ingest(prompts, embedder)
    bench_real_recall(prompts, embedder, queries, qvecs)
    for n in [int(x) for x in args.sizes.split(",")]:
        bench_size(n, prompts, base_vectors, embedder, queries, qvecs)
    print(f"loadavg_at_end={os.getloadavg()[0]:.2f}")
    print(f"peak_rss_mb={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")
    return 0
