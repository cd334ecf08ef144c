"""Dropping duplicate rows on export: exact (normalised text) and near (cosine of stored vectors).

Exact: two rows are duplicates when their texts are equal after Unicode NFKC,
case folding and collapsing every run of whitespace to one space (leading and
trailing whitespace removed).  The first row is kept.

Near: with a threshold, a row is dropped when the cosine similarity of its
vector to a row already kept is at least the threshold.  The vectors are the
history's own (``vector`` column, made from the record's prompt and output);
a record without one is embedded by the ``embed`` callable when one is given,
and otherwise kept and counted in ``unembedded`` (it could not be compared).
Each new row is compared with every kept row: fine for the thousands of rows
a rated set holds, quadratic beyond.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

_SPACES = re.compile(r"\s+")
Embed = Callable[[list[str]], Any]  # texts -> one vector per text


def normalise(text: str) -> str:
    """``text`` for the exact-duplicate check: NFKC, case-folded, whitespace collapsed."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def exact_key(parts: Sequence[str]) -> bytes:
    """A digest of the normalised ``parts``; the separator cannot come out of normalise()."""
    joined = "\x00".join(normalise(p) for p in parts)
    return hashlib.sha256(joined.encode("utf-8", "surrogatepass")).digest()


@dataclass
class DedupeCounts:
    exact: int = 0  # rows dropped as exact duplicates
    near: int = 0  # rows dropped as near duplicates
    unembedded: int = 0  # rows kept without a near-duplicate check: no vector and nothing to embed with


class Deduper:
    """Decides, row by row, whether a row repeats one kept before (see the module docstring)."""

    def __init__(self, near_threshold: float | None = None, embed: Embed | None = None) -> None:
        if near_threshold is not None and not (isinstance(near_threshold, (int, float))
                                               and 0.0 < float(near_threshold) <= 1.0):
            from desktop.core.datasets.errors import DatasetError

            raise DatasetError(f"The near-duplicate threshold must be a cosine similarity above 0 and at most 1, "
                               f"not {near_threshold!r}.", "0.95 drops only close paraphrases.")
        self.threshold = None if near_threshold is None else float(near_threshold)
        self.embed = embed
        self.counts = DedupeCounts()
        self._seen: set[bytes] = set()
        self._kept = np.zeros((0, 0), dtype=np.float32)
        self._n = 0

    def is_new_text(self, parts: Sequence[str]) -> bool:
        """False (and counted) when the normalised ``parts`` were seen before; the first time, remembered."""
        key = exact_key(parts)
        if key in self._seen:
            self.counts.exact += 1
            return False
        self._seen.add(key)
        return True

    def is_new_meaning(self, vector, text: str) -> bool:
        """False (and counted) when ``vector`` (None: embed ``text`` if an embedder was given) is within
        the threshold of a kept row's; otherwise the vector is kept.  Always True without a threshold."""
        if self.threshold is None:
            return True
        if vector is None:
            if self.embed is None:
                self.counts.unembedded += 1
                return True
            vector = self.embed([text])[0]
        v = np.asarray(vector, dtype=np.float32).ravel()
        norm = float(np.linalg.norm(v))
        if norm == 0.0:  # an all-zero vector compares equal to nothing
            self.counts.unembedded += 1
            return True
        v = v / norm
        if self._n and float(np.max(self._kept[:self._n] @ v)) >= self.threshold:
            self.counts.near += 1
            return False
        self._keep(v)
        return True

    def _keep(self, v: np.ndarray) -> None:
        if self._n == len(self._kept) or self._kept.shape[1] != len(v):
            grown = np.zeros((max(64, 2 * len(self._kept)), len(v)), dtype=np.float32)
            if self._n and self._kept.shape[1] == len(v):
                grown[:self._n] = self._kept[:self._n]
            self._kept = grown
        self._kept[self._n] = v
        self._n += 1
