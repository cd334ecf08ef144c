"""Dropping duplicate rows on export: exact (normalised text) and near (cosine of stored vectors).

Exact: two rows are duplicates when their texts are equal after Unicode NFKC,
case folding and collapsing every run of whitespace to one space (leading and
trailing whitespace removed).  The first row is kept.

Near: with a threshold, a row is dropped when the cosine similarity of its
vector to a row already kept is at least the threshold.  The vectors are the
history's own (``vector`` column, made from the record's prompt and output);
a record without one is embedded by the ``embed`` callable when one is given,
and otherwise kept and counted in ``unembedded`` (it could not be compared).

The exports hand the rows over a batch at a time (:meth:`Deduper.new_meanings`):
the batch's normalised vectors are compared with every kept vector as a few
matrix products over blocks of ``BLOCK`` kept rows (one BLAS call per block,
memory bounded by the block), and only the batch's survivors are then
compared with one another, in order.  The outcome is that of comparing each
row with every row kept before it, one at a time (what a reader expects, and
what the tests check on thousands of rows); only the arithmetic is grouped.
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
BLOCK = 4096  # kept vectors compared with a batch in one matrix product (4096 x 500 floats: 8 MB)


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
        return self.new_meanings([vector], [text])[0]

    def new_meanings(self, vectors: Sequence[Any], texts: Sequence[str]) -> list[bool]:
        """:meth:`is_new_meaning` for a batch of rows, in order, with the arithmetic grouped (see the module
        docstring); the rows without a vector are embedded together, in one call."""
        if self.threshold is None:
            return [True] * len(vectors)
        vectors = list(vectors)
        missing = [i for i, v in enumerate(vectors) if v is None]
        if missing and self.embed is not None:
            for i, v in zip(missing, self.embed([texts[i] for i in missing]), strict=True):
                vectors[i] = v
        new = [True] * len(vectors)
        rows, unit = self._unit_rows(vectors)
        if not rows:
            return new
        threshold = self.threshold
        best = np.full(len(rows), -np.inf, dtype=np.float32)
        for start in range(0, self._n, BLOCK):
            block = self._kept[start:min(start + BLOCK, self._n)]
            best = np.maximum(best, (unit @ block.T).max(axis=1))
        within = unit @ unit.T
        kept: list[int] = []
        for j, row in enumerate(rows):
            if best[j] >= threshold or (kept and float(within[j, kept].max()) >= threshold):
                new[row] = False
                self.counts.near += 1
            else:
                kept.append(j)
        self._keep(unit[kept])
        return new

    def _unit_rows(self, vectors: Sequence[Any]) -> tuple[list[int], np.ndarray]:
        """The positions of the rows that have a usable vector, and those vectors scaled to length 1."""
        rows: list[int] = []
        units: list[np.ndarray] = []
        for i, vector in enumerate(vectors):
            if vector is None:
                self.counts.unembedded += 1
                continue
            v = np.asarray(vector, dtype=np.float32).ravel()
            norm = float(np.linalg.norm(v))
            if norm == 0.0:  # an all-zero vector compares equal to nothing
                self.counts.unembedded += 1
                continue
            rows.append(i)
            units.append(v / norm)
        if not rows:
            return rows, np.zeros((0, 0), dtype=np.float32)
        width = {len(u) for u in units} | ({self._kept.shape[1]} if self._n else set())
        if len(width) > 1:
            from desktop.core.datasets.errors import DatasetError

            raise DatasetError(f"The records' vectors have different sizes ({', '.join(map(str, sorted(width)))}), "
                               "so they cannot be compared for near duplicates.",
                               "Re-embed the history with one embedding model, or leave out the near-duplicate "
                               "threshold.")
        return rows, np.stack(units)

    def _keep(self, units: np.ndarray) -> None:
        if not len(units):
            return
        if self._n + len(units) > len(self._kept):
            grown = np.zeros((max(64, 2 * (self._n + len(units))), units.shape[1]), dtype=np.float32)
            if self._n:
                grown[:self._n] = self._kept[:self._n]
            self._kept = grown
        self._kept[self._n:self._n + len(units)] = units
        self._n += len(units)
