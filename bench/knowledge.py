"""Document collections benchmark: indexing speed on real documents, retrieval latency at 100k chunks.

The documents are the Markdown, reST and text files that ship inside the
installed packages (their READMEs and docs).  Indexing is timed twice on the
same files: keyword-only (read, chunk, write) and with the embedder (what a
user waits for).  For retrieval, a table of ``--chunks`` chunks is recombined
from the real chunks, as ``bench/history.py`` does with prompts: chunk i joins
the start of real chunk a = i mod m with the end of chunk b, and its vector
is normalize(v[a] + 0.5 v[b] + 0.05 noise) from the real embeddings, so 100k
chunks need m embeddings.  Queries are first sentences of real chunks, embedded
once: latencies exclude the query embedding.  "bare_*" lines are LanceDB's own
flat vector search and full-text search on the same table, run alternately
with ours.

The embedded indexing runs once per ``--backends`` entry (default: the fp32
sentence-transformers model, then the int8 ONNX graph), so the speed-up is
measured on the same files under the same load: ``index_int8_vs_fp32``.

    python -m bench knowledge [--docs 300] [--chunks 100000] [--queries 200] [--base 1000] [--retrieval-only]
                              [--backends fp32,int8]
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("LANCE_LOG", "error")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
import re
import sysconfig
import tempfile
import time
from pathlib import Path


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def package_documents(limit: int) -> list[Path]:
    """Documentation files of installed packages, largest folders first avoided: sorted by path, capped."""
    root = Path(sysconfig.get_paths()["purelib"])
    found = [p for suffix in ("*.md", "*.rst", "*.txt") for p in root.rglob(suffix)
             if p.is_file() and 500 < p.stat().st_size < 200_000 and "LICENSE" not in p.name.upper()
             and "dist-info" not in str(p)]
    return sorted(found)[:limit]


def copy_documents(files: list[Path], folder: Path) -> None:
    folder.mkdir(parents=True)
    for i, path in enumerate(files):
        (folder / f"{i:04}-{path.parent.name}-{path.name}").write_bytes(path.read_bytes())


def bench_indexing(docs: Path, embedders: dict) -> None:
    """Index ``docs`` keyword-only, then once with each embedder (by backend), alternately timed in one run."""
    from desktop.core.knowledge.store import Knowledge

    rates = {}
    for label, model in (("keyword_only", None), *((f"embedded_{b}", e) for b, e in embedders.items())):
        with tempfile.TemporaryDirectory() as home:
            knowledge = Knowledge(Path(home), embedder=model)
            knowledge.add("docs", [docs])
            t0 = time.perf_counter()
            report = knowledge.index("docs")
            seconds = time.perf_counter() - t0
            t0 = time.perf_counter()
            again = knowledge.index("docs")
            rerun = time.perf_counter() - t0
            print(f"index_{label}_files={report.read} index_{label}_chunks={report.chunks_total} "
                  f"index_{label}_s={seconds:.1f} index_{label}_chunks_per_s={report.chunks_total / seconds:.0f} "
                  f"index_{label}_files_per_s={report.read / seconds:.0f} "
                  f"reindex_unchanged_s={rerun:.2f} reindex_unchanged_files={again.unchanged}")
            knowledge.close()
            rates[label] = report.chunks_total / seconds
    if "embedded_fp32" in rates:
        for label, rate in rates.items():
            if label.startswith("embedded_") and label != "embedded_fp32":
                print(f"index_{label.removeprefix('embedded_')}_vs_fp32={rate / rates['embedded_fp32']:.2f}")


def real_chunks(docs: Path, embedder, limit: int):
    from desktop.core.knowledge.chunking import chunk_document
    from desktop.core.knowledge.documents import read_document
    from desktop.core.knowledge.errors import Unreadable

    texts = []
    for path in sorted(docs.iterdir()):
        try:
            texts += [c.text for c in chunk_document(read_document(path)) if len(c.text) > 200]
        except Unreadable:
            continue
        if len(texts) >= limit:
            break
    texts = texts[:limit]
    t0 = time.perf_counter()
    vectors = embedder.encode(texts, batch_size=32)
    print(f"embed_real_chunks={len(texts)} embed_chunks_per_s={len(texts) / (time.perf_counter() - t0):.1f} "
          f"embed_model={embedder.model_id}")
    return texts, vectors


def build_table(root: Path, n: int, texts: list[str], vectors):
    import lancedb
    import numpy as np

    from desktop.core.knowledge.table import ChunkTable, chunk_id

    db = lancedb.connect(str(root))
    table = ChunkTable(db, "bench", vectors.shape[1])
    m = len(texts)
    t0 = time.perf_counter()
    for start in range(0, n, 10_000):
        rows = []
        for i in range(start, min(n, start + 10_000)):
            a, b = i % m, (7919 * i + 13) % m
            text = texts[a][:500] + " " + texts[b][-300:]
            noise = np.random.default_rng(i).standard_normal(vectors.shape[1]).astype("float32")
            v = vectors[a] + 0.5 * vectors[b] + 0.05 * noise
            path = f"/docs/file{i // 20}.md"
            rows.append({"chunk_id": chunk_id(path, "x", i), "path": path, "ordinal": i % 20,
                         "char_start": 0, "char_end": len(text), "page": 0, "heading": "", "location": "",
                         "text": text, "search_text": text, "vector": (v / np.linalg.norm(v)).tolist(),
                         "embedded": True, "embed_model": "bench", "file_size": 1, "file_mtime_ns": 1,
                         "file_sha256": "x", "file_chunks": 20})
        table.write([], rows)
    table.tidy()
    print(f"n={n} build_s={time.perf_counter() - t0:.1f}")
    return table


def bench_retrieval(n: int, texts: list[str], vectors, embedder, queries: int) -> None:
    from desktop.core.history.search import query_words
    from desktop.core.knowledge.search import ChunkSearch

    with tempfile.TemporaryDirectory() as root:
        table = build_table(Path(root), n, texts, vectors)
        search = ChunkSearch("bench", table.folder)
        questions = [re.split(r"(?<=[.!?])\s", t.strip())[0][:200] for t in texts[:queries]]
        qvecs = embedder.encode(questions, batch_size=32)
        search.search(questions[0], 5, vector=qvecs[0], model="bench")  # loads the vectors
        t0 = time.perf_counter()
        partitioned = search.vectors.wait_partitioned(600)
        print(f"n={n} ivf_partitioned={partitioned} ivf_wait_s={time.perf_counter() - t0:.1f}")
        timings: dict[str, list[float]] = {k: [] for k in ("hybrid", "semantic", "keyword", "bare_vector",
                                                           "bare_fts")}
        lance_table = table.table
        for text, vector in zip(questions, qvecs):
            for mode in ("hybrid", "semantic", "keyword"):
                t0 = time.perf_counter()
                search.search(text, 5, vector=vector, mode=mode, model="bench")
                timings[mode].append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            lance_table.search(vector).limit(5).select(["chunk_id", "text", "path", "_distance"]).to_list()
            timings["bare_vector"].append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            lance_table.search(" ".join(query_words(text)), query_type="fts").limit(5).select(
                ["chunk_id", "text", "path", "_score"]).to_list()
            timings["bare_fts"].append((time.perf_counter() - t0) * 1000)
        for key, values in timings.items():
            print(f"n={n} {key}_p50_ms={_pct(values, 0.5):.1f} {key}_p95_ms={_pct(values, 0.95):.1f}")
        search.close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench knowledge")
    parser.add_argument("--docs", type=int, default=300, help="package documentation files to index")
    parser.add_argument("--chunks", type=int, default=100_000, help="chunks in the retrieval table")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--base", type=int, default=1000, help="real chunks embedded to build the table from")
    parser.add_argument("--retrieval-only", action="store_true", help="skip the indexing runs")
    parser.add_argument("--backends", default="fp32,int8",
                        help="embedder backends to index with, in this order (the last one builds the retrieval table)")
    args = parser.parse_args(argv)
    from desktop.core.history.embedder import Embedder

    print(f"loadavg_at_start={os.getloadavg()[0]:.2f} cpus={os.cpu_count()}")
    embedders = {}
    for backend in args.backends.split(","):
        t0 = time.perf_counter()
        embedders[backend] = Embedder(backend=backend)
        embedders[backend].load()
        print(f"embedder_{backend}={embedders[backend].model_id} load_s={time.perf_counter() - t0:.1f}")
    embedder = embedders[backend]
    with tempfile.TemporaryDirectory() as tmp:
        docs = Path(tmp) / "docs"
        copy_documents(package_documents(args.docs), docs)
        if not args.retrieval_only:
            bench_indexing(docs, embedders)
        texts, vectors = real_chunks(docs, embedder, args.base)
        bench_retrieval(args.chunks, texts, vectors, embedder, min(args.queries, len(texts)))
    print(f"loadavg_at_end={os.getloadavg()[0]:.2f}")
    return 0
