"""How well each search mode finds the chunk that answers a question about real documents.

The collection is ``bench/data/knowledge/docs`` (27 package READMEs shipped in
the environment); the 73 questions in ``bench/data/knowledge/questions.jsonl``
name the answering document and an exact answer span.  A retrieved chunk is a
hit when it comes from that document and contains the span, so the figures do
not depend on how the chunker cuts.  The documents are indexed into a
temporary knowledge root through the real :class:`~desktop.core.knowledge.store.Knowledge`
(chunker, embedder, LanceDB), then every question is searched in keyword,
semantic and hybrid mode; top-1 and top-5 hit rates are printed overall and
per question kind (paraphrase, keyword, rare).  ``query_fusion`` is the
history's query-gated fusion (:func:`~desktop.core.history.fusion.query_fusion`)
applied to the two legs' top 30 here, for comparison with the collection's own
hybrid; keyword-only candidates outside the semantic top 30 get the lowest
known similarity (the real search would look theirs up), so it is a close
estimate, not the shipped ranking.

    python -m bench knowledge_eval [--show-misses]
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
MODES = ("keyword", "semantic", "hybrid")
LEG_DEPTH = 30  # candidates per leg for the query_fusion comparison (the searches' own CANDIDATES)


def load_questions(path: Path = DATA / "questions.jsonl") -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def first_hit(hits, question: dict) -> int | None:
    """The rank of the first chunk that answers ``question``, or None."""
    for rank, hit in enumerate(hits):
        if Path(hit.path).name == question["doc"] and question["span"] in hit.text:
            return rank
    return None


def _query_fusion(knowledge, question: str, chunks: int) -> list:
    """The best 5 chunks for ``question`` by the history's query-gated fusion of both legs' top LEG_DEPTH."""
    from desktop.core.history.fusion import query_fusion
    from desktop.core.history.search import query_words

    keyword = {h.chunk_id: h for h in knowledge.search("eval", question, LEG_DEPTH, mode="keyword")}
    semantic = {h.chunk_id: h for h in knowledge.search("eval", question, LEG_DEPTH, mode="semantic")}
    similarities: dict[str, float | None] = {cid: h.score for cid, h in semantic.items()}
    for cid in keyword:
        similarities.setdefault(cid, None)
    fused = query_fusion(similarities, {cid: h.score for cid, h in keyword.items()},
                         len(set(query_words(question))), chunks)
    return [semantic.get(cid) or keyword[cid] for cid, _ in fused[:5]]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench knowledge_eval")
    parser.add_argument("--show-misses", action="store_true", help="print the questions hybrid misses at top 5")
    args = parser.parse_args(argv)

    from desktop.core.history.embedder import Embedder
    from desktop.core.knowledge.store import Knowledge

    questions = load_questions()
    embedder = Embedder()
    embedder.load()
    with tempfile.TemporaryDirectory() as tmp:
        knowledge = Knowledge(Path(tmp) / "knowledge", embedder=embedder)
        try:
            knowledge.add("eval", [DATA / "docs"])
            report = knowledge.index("eval")
            ranks: dict[str, list[int | None]] = {}
            for mode in MODES:
                ranks[mode] = [first_hit(knowledge.search("eval", q["question"], 5, mode=mode), q) for q in questions]
            ranks["query_fusion"] = [first_hit(_query_fusion(knowledge, q["question"], report.chunks_total), q)
                                     for q in questions]
        finally:
            knowledge.close()
    print(f"documents={len(list((DATA / 'docs').iterdir()))} chunks={report.chunks_total} questions={len(questions)}")
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
