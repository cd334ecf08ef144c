"""One relevance score that means the same in every collection, for merging and the threshold.

Each collection ranks its own chunks by hybrid search, but the scores that
ranking produces are not comparable across collections: the fused score is a
cosine similarity plus a keyword boost normalised by *that collection's* best
BM25 match, and keyword-only scores are raw BM25, whose scale depends on the
collection's size and vocabulary.  So the candidates of every collection are
re-scored by one measure before they are merged and cut:

* ``similarity`` (the embedder is loaded): the cosine similarity between the
  question's embedding and the chunk's, with the history's embedder
  (all-MiniLM-L6-v2, normalised vectors), in [-1, 1], in practice 0-0.9.  One
  model, one query vector: a chunk of notes and a history record score on the
  same scale.  The threshold is then a similarity floor: the history's search
  measured that wanted results score >= 0.297 and queries about nothing in the
  collection <= 0.195 with this model (:mod:`desktop.core.history.search`).
* ``word overlap`` (no embedder): the share of the question's distinct content
  words that occur in the chunk, in [0, 1]; the same threshold reads as
  "at least this share of what was asked is mentioned".
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from desktop.core.history.embedder import Embedder

SIMILARITY = "similarity"
WORD_OVERLAP = "word overlap"
EMBED_WAIT_S = 120.0  # a first load of the embedder reads ~90 MB; longer than this counts as unavailable

# Words that carry no topic; without them "what is the default port" overlaps on "default port".
STOPWORDS = frozenset(
    "a an and are as at be been but by can could did do does for from had has have how i if in into is it its "
    "me my not of on or our shall should so than that the their them then there these they this those to "
    "was we were what when where which who whom why will with would you your".split())


def content_words(text: str) -> set[str]:
    words = set(re.findall(r"\w+", text.lower()))
    kept = words - STOPWORDS
    return kept or words


def word_overlap(question: str, texts: list[str]) -> list[float]:
    wanted = content_words(question)
    if not wanted:
        return [0.0 for _ in texts]
    return [len(wanted & set(re.findall(r"\w+", t.lower()))) / len(wanted) for t in texts]


def ready_embedder(embedder: Embedder | None) -> Embedder | None:
    """The embedder once loaded, or None when there is none or it cannot load."""
    if embedder is None:
        return None
    return embedder if embedder.wait_ready(EMBED_WAIT_S) else None


def score(question: str, texts: list[str], embedder: Embedder | None) -> tuple[list[float], str]:
    """(one comparable score per text, which measure: SIMILARITY or WORD_OVERLAP)."""
    if not texts:
        return [], SIMILARITY if embedder is not None else WORD_OVERLAP
    embedder = ready_embedder(embedder)
    if embedder is None:
        return word_overlap(question, texts), WORD_OVERLAP
    vectors = embedder.encode([question, *texts])
    query = vectors[0]
    return [float(v @ query) for v in vectors[1:]], SIMILARITY
