"""How well each search mode finds the chunk that answers a question about real documents.

The collection is ``bench/data/knowledge/docs`` (27 package READMEs shipped in
the environment); the 73 questions in ``bench/data/knowledge/questions.jsonl``
name the answering document and an exact answer span.  A retrieved chunk is a
hit when it comes from that document and contains the span, so the figures do
not depend on how the chunker cuts.  The documents are indexed into a
temporary knowledge root through the real :class:`~desktop.core.knowledge.store.Knowledge`
(chunker, embedder, LanceDB), then every question is searched in keyword,
semantic and hybrid mode; top-1 and top-5 hit rates are printed overall and
per question kind (paraphrase, keyword, rare).  Three earlier fusions run on
the same two legs (each leg's top 30, exact similarities for keyword-only
candidates) for comparison: ``fixed`` (the cosine plus 0.1 x BM25 over the
best BM25, this search's hybrid before 2026-12-03) and ``gated`` (the same
with the keyword weight gated on query specificity, the history's hybrid
before then), and ``previous`` (the confidence-weighted softmax at one
temperature of 0.1 for both legs, no evidence floor: the hybrid until 2026-12-04).

``--heldout``: the 36 questions of ``bench/data/knowledge_heldout`` about 10
more READMEs, indexed together with the 27 above (which then only distract);
written and committed before any search ran on them.

    python -m bench knowledge_eval [--heldout] [--show-misses]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

DATA = Path(__file__).resolve().parent / "data" / "knowledge"
HELDOUT = DATA.parent / "knowledge_heldout"
MODES = ("keyword", "semantic", "hybrid")
BEFORE = ("fixed", "gated", "previous")
LEG_DEPTH = 30  # candidates per leg for the query_fusion comparison (the searches' own CANDIDATES)


def load_questions(path: Path = DATA / "questions.jsonl") -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def first_hit(hits, question: dict) -> int | None:
    """The rank of the first chunk that answers ``question``, or None."""
    for rank, hit in enumerate(hits):
        if Path(hit.path).name == question["doc"] and question["span"] in hit.text:
            return rank
    return None


def _earlier_fusions(knowledge, question: str) -> dict[str, list]:
    """The best 5 chunks for ``question`` by each earlier fusion (see the module docstring)."""
    from desktop.core.history.fusion import KEYWORD_WEIGHT, anchored_fusion, keyword_weight, query_fusion
    from desktop.core.history.search import query_words

    searcher = knowledge._searcher(knowledge.get("eval"))
    ds = searcher.dataset()
    words = query_words(question)
    vector = knowledge.embedder.encode([question])[0]
    keyword = dict(searcher._keyword(ds, words, LEG_DEPTH))
    semantic: dict[int, float | None] = dict(searcher.vectors.search(vector, LEG_DEPTH))
    missing = [r for r in keyword if r not in semantic]
    known = searcher.vectors.similarities(vector, missing) if missing else {}
    semantic.update({r: known.get(r) for r in missing})
    gated = keyword_weight(max(keyword.values(), default=0.0), len(set(words)), ds.count_rows())
    earlier = {name: searcher.rows(ds, anchored_fusion(semantic, keyword, weight)[:5])
               for name, weight in (("fixed", KEYWORD_WEIGHT), ("gated", gated))}
    previous = query_fusion(semantic, keyword, len(set(words)), ds.count_rows(), 0.1, 0.1, 0.0)
    return {**earlier, "previous": searcher.rows(ds, previous[:5])}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench knowledge_eval")
    parser.add_argument("--show-misses", action="store_true", help="print the questions hybrid misses at top 5")
    parser.add_argument("--heldout", action="store_true", help="the held-out questions (bench/data/knowledge_heldout)")
    args = parser.parse_args(argv)

    from desktop.core.history.embedder import Embedder
    from desktop.core.knowledge.store import Knowledge

    questions = load_questions(HELDOUT / "questions.jsonl" if args.heldout else DATA / "questions.jsonl")
    folders = [DATA / "docs", HELDOUT / "docs"] if args.heldout else [DATA / "docs"]
    embedder = Embedder()
    embedder.load()
    with tempfile.TemporaryDirectory() as tmp:
        knowledge = Knowledge(Path(tmp) / "knowledge", embedder=embedder)
        try:
            knowledge.add("eval", folders)
            report = knowledge.index("eval")
            ranks: dict[str, list[int | None]] = {}
            for mode in MODES:
                ranks[mode] = [first_hit(knowledge.search("eval", q["question"], 5, mode=mode), q) for q in questions]
            earlier = [_earlier_fusions(knowledge, q["question"]) for q in questions]
            for name in BEFORE:
                ranks[name] = [first_hit(hits[name], q) for hits, q in zip(earlier, questions)]
        finally:
            knowledge.close()
    print(f"documents={sum(len(list(f.iterdir())) for f in folders)} chunks={report.chunks_total} questions={len(questions)}")
    groups: dict[str, list[int]] = defaultdict(list)
    for i, q in enumerate(questions):
        groups["all"].append(i)
        groups[q["kind"]].append(i)
    for group, members in groups.items():
        figures = []
        for mode in ranks:
            top1 = sum(ranks[mode][i] == 0 for i in members) / len(members)
            top5 = sum(ranks[mode][i] is not None for i in members) / len(members)
            figures.append(f"{mode}_top1={top1:.3f} {mode}_top5={top5:.3f}")
        print(f"kind={group} queries={len(members)} {' '.join(figures)}")
    if args.show_misses:
        for i, q in enumerate(questions):
            if ranks["hybrid"][i] is None:
                print(f"miss {q['id']} {q['kind']}: {q['question']}")
    return 0
