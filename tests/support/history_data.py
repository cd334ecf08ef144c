"""Shared by the history benchmarks: the real prompts and their (cached) embeddings."""

from __future__ import annotations

import csv
import hashlib
import os
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PROMPTS_CSV = REPO.parent / "shared" / "data" / "awesome-chatgpt-prompts.csv"
QUERIES_TSV = REPO / "bench" / "data" / "history_fusion_queries.tsv"
HELDOUT_TSV = REPO / "bench" / "data" / "history_fusion_queries_heldout.tsv"  # written later, never tuned on
FRESH_TSV = REPO / "bench" / "data" / "history_fusion_queries_fresh.tsv"  # 60 loose paraphrases, written blind
TERMS_TSV = REPO / "bench" / "data" / "history_fusion_queries_terms.tsv"  # 55 keyword / rare-term queries, written blind
CACHE = Path(os.environ.get("GENLAB_BENCH_CACHE", "/tmp/genlab-bench-cache"))


def load_prompts() -> list[dict[str, str]]:
    with open(PROMPTS_CSV, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def load_labelled_queries(path: Path = QUERIES_TSV) -> list[tuple[str, str, str]]:
    """(target act, query, category) per line; category is "" where the file has no third column."""
    rows = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            act, query, *category = line.split("\t")
            rows.append((act, query, category[0] if category else ""))
    return rows


def load_queries(path: Path = QUERIES_TSV) -> list[tuple[str, str]]:
    return [(act, query) for act, query, _ in load_labelled_queries(path)]


def embed_cached(embedder, texts: list[str], label: str):
    """Embeddings of ``texts``, computed once per content and cached as .npy; returns (vectors, seconds)."""
    import numpy as np

    key = hashlib.sha256("\x00".join(texts).encode()).hexdigest()[:16]
    path = CACHE / f"{label}-{embedder.model_id}-{key}.npy"  # model_id: the backend too (+int8)
    if path.exists():
        return np.load(path), None
    started = time.perf_counter()
    vectors = embedder.encode(texts, batch_size=32)
    seconds = time.perf_counter() - started
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors, seconds
