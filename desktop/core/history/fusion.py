"""How keyword and semantic results are merged into one ranking.

Reciprocal rank fusion (``rrf``) only looks at ranks, so a document that is a
mediocre match in both lists beats the clear winner of one list; on our
paraphrase evaluation that lowered top-1 precision below vector-only search.

``anchored_fusion`` keeps the semantic similarity as the anchor and lets the
keyword side move documents only by a bounded amount: every candidate from
either list is scored by its exact cosine similarity to the query plus
``keyword_weight`` times its BM25 score divided by the best BM25 score of the
query.  A strong keyword match can lift a document over a near-tie, but a
keyword hit that means something else cannot outrank a clearly better meaning
match.  When one side is empty the ranking is exactly the other side's.
``bench/fusion_eval.py`` measures both against keyword-only and vector-only.
"""

from __future__ import annotations

from typing import Hashable, TypeVar

Doc = TypeVar("Doc", bound=Hashable)  # a document id: a record id, or a Lance row id

KEYWORD_WEIGHT = 0.1
RRF_K = 60


def rrf(rankings: list[list[str]], k: int = RRF_K) -> list[tuple[str, float]]:
    """Plain reciprocal rank fusion of several ranked id lists."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, doc in enumerate(ranking):
            scores[doc] = scores.get(doc, 0.0) + 1.0 / (k + rank + 1)
    return sorted(scores.items(), key=lambda kv: -kv[1])


def anchored_fusion(semantic: dict[Doc, float | None], keyword: dict[Doc, float],
                    keyword_weight: float = KEYWORD_WEIGHT) -> list[tuple[Doc, float]]:
    """Merge per-document cosine similarities and BM25 scores (see the module docstring).

    ``semantic`` maps every candidate to its cosine similarity with the query,
    or None when the document has no embedding yet; ``keyword`` maps keyword
    hits to BM25 scores.  Exact ties keep the callers' order (semantic
    candidates first, as given), never a set's hash order.
    """
    known = [s for s in semantic.values() if s is not None]
    if not known:  # no vectors: keyword order
        return sorted(keyword.items(), key=lambda kv: -kv[1])
    floor = min(known)
    best_bm25 = max(keyword.values(), default=0.0)
    fused: dict[Doc, float] = {}
    for doc in dict.fromkeys([*semantic, *keyword]):  # a fixed order, so exact ties rank the same every run
        sim = semantic.get(doc)
        base = floor if sim is None else sim
        boost = keyword.get(doc, 0.0) / best_bm25 if best_bm25 > 0 else 0.0
        fused[doc] = base + keyword_weight * boost
    return sorted(fused.items(), key=lambda kv: -kv[1])
