"""How keyword and semantic results are merged into one ranking.

Reciprocal rank fusion (``rrf``) only looks at ranks, so a document that is a
mediocre match in both lists beats the clear winner of one list; on our
paraphrase evaluation that lowered top-1 precision below vector-only search.

``query_fusion`` (the hybrid search of the history and of document
collections) lets whichever leg is more *confident* about this query lead.
Each leg's scores become a probability over the candidates (the union of both
legs' candidates) by a softmax with one shared ``TEMPERATURE``:

* semantic: the cosine similarity, in [-1, 1];
* keyword: the BM25 score over the most a query of that many words can earn,
  ``distinct words × ln(N + 1)`` (one fully matched word carries about ln N of
  IDF), so that keyword scores sit on a 0-1 scale like cosines whatever the
  collection's size.  A loose paraphrase that matched only common words scores
  0.1-0.25 there, a query of rare matched words 0.5-1.

Each leg's distribution is then weighted by its own top probability (how
peaked it is) and the two are added.  A leg whose best hit stands clear of the
rest (a confident semantic match, a rare exact term) decides the order; a flat
leg (keyword noise on a paraphrase, a rare word the embedding cannot place)
only breaks the other leg's near-ties.  The keyword softmax is sharper
(``KEYWORD_TEMPERATURE`` 0.05 against ``TEMPERATURE`` 0.075 for cosines): on
documents, whose questions reuse the text's words, a keyword lead of a few
hundredths is real evidence, while sibling chunks of one page all sit close
in meaning.

A candidate that *neither* leg finds relevant (its cosine and its scaled BM25
both below ``evidence_floor``, the embedding model's measured relevance floor)
ranks after every candidate that one leg does: on loose paraphrases a record
unrelated in meaning (cosine 0.2) that shares two common words with the
query otherwise took first place from near-tied semantic matches.

The two temperatures are the free numbers, chosen on all six evaluation sets
(four of the history, two of documents, ``bench/fusion_eval.py`` and
``bench/knowledge_eval.py``); the ratio of about 2:3 is what the best
settings share, and leaving any one set out picks the same pair on five of
the six.  The returned score is the fused probability read back on the
similarity scale (:func:`query_fusion`), so the history's relevance floor
keeps its meaning.

``anchored_fusion`` and :func:`keyword_weight` are the previous rule (the
cosine plus a keyword boost gated on the query's specificity), kept as the
"before" column of the evaluations.
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
TEMPERATURE = 0.075  # of the semantic leg's softmax over cosines (see the module docstring)
KEYWORD_TEMPERATURE = 0.05  # of the keyword leg's softmax over BM25 / (distinct words x ln(N + 1))


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
                 documents: int, temperature: float = TEMPERATURE, keyword_temperature: float = KEYWORD_TEMPERATURE,
                 evidence_floor: float = 0.0) -> list[tuple[Doc, float]]:
    """Merge per-document cosine similarities and BM25 scores, the more confident leg leading (see the
    module docstring); best first.

    ``semantic`` maps candidates to their cosine similarity with the query, or None when the document has
    no embedding yet (it then counts as the lowest known similarity); ``keyword`` maps keyword hits to
    BM25 scores; ``distinct_words`` and ``documents`` give the keyword scale.  The score of each document
    is its fused probability ``f`` read on the similarity scale, ``best + temperature * ln(f / f_best)``
    where ``best`` is the strongest evidence either leg has (its top cosine or top scaled BM25): with no
    keyword hits that is exactly each document's cosine similarity.  Candidates whose cosine and scaled
    BM25 are both below ``evidence_floor`` (0: none) come after the others, scored at most their own
    best evidence; scores never rise down the list.  Exact ties keep the callers' order (semantic
    candidates first, as given).
    """
    known = [s for s in semantic.values() if s is not None]
    if not known or not keyword:  # one leg only: its own order and scores
        return anchored_fusion(semantic, keyword, 0.0) if known else sorted(keyword.items(), key=lambda kv: -kv[1])
    floor = min(known)
    docs = list(dict.fromkeys([*semantic, *keyword]))  # a fixed order, so exact ties rank the same every run
    sims = [floor if (sim := semantic.get(d)) is None else sim for d in docs]
    scale = max(1, distinct_words) * math.log(max(1, documents) + 1)
    words = [keyword.get(d, 0.0) / scale for d in docs]
    p_sem, p_kw = _softmax(sims, temperature), _softmax(words, keyword_temperature)
    conf_sem, conf_kw = max(p_sem), max(p_kw)
    fused = [conf_sem * s + conf_kw * k for s, k in zip(p_sem, p_kw)]
    top = max(fused)
    best = max(max(sims), max(words))
    scored = []
    for d, f, sim, word in zip(docs, fused, sims, words):
        score = best + temperature * math.log(f / top) if f > 0 else -math.inf
        relevant = max(sim, word) >= evidence_floor
        scored.append((relevant, score, score if relevant else min(score, max(sim, word)), d))
    scored.sort(key=lambda item: (not item[0], -item[1]))  # stable: exact ties keep the callers' order
    ranked: list[tuple[Doc, float]] = []
    for _relevant, _order, shown, d in scored:
        ranked.append((d, min(shown, ranked[-1][1]) if ranked else shown))
    return ranked


def _softmax(scores: list[float], temperature: float) -> list[float]:
    top = max(scores)
    weights = [math.exp((s - top) / temperature) for s in scores]
    total = sum(weights)
    return [w / total for w in weights]


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
