"""How keyword and semantic results are merged into one ranking.

Reciprocal rank fusion (``rrf``) only looks at ranks, so a document that is a
mediocre match in both lists beats the clear winner of one list; on our
paraphrase evaluation that lowered top-1 precision below vector-only search.

``anchored_fusion`` keeps the semantic similarity as the anchor and lets the
keyword side move documents by a bounded amount: every candidate from either
list is scored by its exact cosine similarity to the query plus a keyword
weight times its BM25 score divided by the best BM25 score of the query.
When one side is empty the ranking is exactly the other side's.

How much the keyword side may move things depends on the query
(:func:`keyword_weight`).  A loose paraphrase ("a focus clock for revision
sessions with pauses") shares only common words with its target, and its best
BM25 match is whichever prompt repeats "sessions" most: any fixed weight that
lets keywords break semantic near-ties also lets that noise overturn a correct
semantic winner (on a fresh set of 60 paraphrases a fixed 0.1 cost 4 top-1
hits against semantic alone).  A query naming rare words ("Kadıköy café",
"SOLID teknik borç") is the opposite: its best BM25 match is nearly always
right and the embedding often is not.  The signal that tells them apart needs
no labels: the best BM25 score per distinct query word, over ln(N) (N records),
which is about the largest IDF one word can carry.  Under
``SPECIFIC_FROM`` (paraphrases: 0.1-0.25 typically) keywords get no say; the
weight then rises linearly to ``KEYWORD_WEIGHT_MAX`` at ``SPECIFIC_AT``
(every query word rare and matched).  ``bench/fusion_eval.py`` measures the
fusion against keyword-only and vector-only search on four hand-written query
sets and sweeps the weight.
"""

from __future__ import annotations

import math
from typing import Hashable, TypeVar

Doc = TypeVar("Doc", bound=Hashable)  # a document id: a record id, or a Lance row id

KEYWORD_WEIGHT = 0.1  # anchored_fusion's default where the caller has no query to judge
KEYWORD_WEIGHT_MAX = 2.0  # for the most specific queries: the keyword order then decides, similarity breaks ties
SPECIFIC_FROM = 0.3  # query specificity (see keyword_weight) below which keywords do not move the ranking
SPECIFIC_AT = 1.0  # specificity at which the weight reaches KEYWORD_WEIGHT_MAX
RRF_K = 60


def rrf(rankings: list[list[str]], k: int = RRF_K) -> list[tuple[str, float]]:
    """Plain reciprocal rank fusion of several ranked id lists."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, doc in enumerate(ranking):
            scores[doc] = scores.get(doc, 0.0) + 1.0 / (k + rank + 1)
    return sorted(scores.items(), key=lambda kv: -kv[1])


def specificity(best_bm25: float, distinct_words: int, documents: int) -> float:
    """The best BM25 score per distinct query word, over ln(documents + 1): near 1 when every word is
    rare and matched by the best hit, near 0.1-0.2 when a long query matched only common words."""
    if best_bm25 <= 0 or distinct_words <= 0 or documents <= 0:
        return 0.0
    return best_bm25 / distinct_words / math.log(documents + 1)


def keyword_weight(best_bm25: float, distinct_words: int, documents: int,
                   weight_max: float = KEYWORD_WEIGHT_MAX) -> float:
    """The keyword weight for one query (see the module docstring): 0 below ``SPECIFIC_FROM``
    specificity, rising linearly to ``weight_max`` at ``SPECIFIC_AT``."""
    spec = specificity(best_bm25, distinct_words, documents)
    share = (spec - SPECIFIC_FROM) / (SPECIFIC_AT - SPECIFIC_FROM)
    return weight_max * min(1.0, max(0.0, share))


def query_fusion(semantic: dict[Doc, float | None], keyword: dict[Doc, float], distinct_words: int,
                 documents: int, weight_max: float = KEYWORD_WEIGHT_MAX) -> list[tuple[Doc, float]]:
    """``anchored_fusion`` with the keyword weight this query earns (:func:`keyword_weight`)."""
    best = max(keyword.values(), default=0.0)
    return anchored_fusion(semantic, keyword, keyword_weight(best, distinct_words, documents, weight_max))


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
