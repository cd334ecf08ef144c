"""Normalisation for the exact-duplicate check."""

from __future__ import annotations

import numpy as np
import pytest

from desktop.core.datasets.dedupe import Deduper, normalise
from desktop.core.datasets.errors import DatasetError


def test_normalise_folds_case_width_and_whitespace():
    assert normalise("  Ｈｅｌｌｏ\tWORLD\n\n ok ") == "hello world ok"
    assert normalise("Straße") == normalise("STRASSE")


def test_exact_duplicates_are_counted_and_parts_stay_apart():
    d = Deduper()
    assert d.is_new_text(["user", "a b", "assistant", "c"])
    assert not d.is_new_text(["user", " A  b", "assistant", "c "])
    assert d.is_new_text(["user", "a", "b assistant", "c"])  # the same words split differently is another row
    assert d.counts.exact == 1


def _exact_near_check(vectors: np.ndarray, threshold: float) -> list[bool]:
    """The definition, one row at a time in float64: kept when no earlier kept row is within the threshold."""
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    kept = np.zeros((0, vectors.shape[1]))
    new = []
    for v in unit:
        close = bool(len(kept)) and float((kept @ v).max()) >= threshold
        new.append(not close)
        if not close:
            kept = np.vstack([kept, v])
    return new


def _unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _clustered(rng: np.random.Generator, n: int, dim: int = 64, centres: int = 400) -> np.ndarray:
    """Rows around ``centres`` random directions: half close to theirs (cosine > 0.99 with each other, near
    duplicates), half far (cosine < 0.9), so no pair sits near a threshold of 0.95."""
    centre = rng.normal(size=(centres, dim))
    noise = np.where(rng.random((n, 1)) < 0.5, 0.05, 0.6)
    return centre[rng.integers(0, centres, n)] + noise * rng.normal(size=(n, dim))


@pytest.mark.slow
def test_batched_near_check_equals_the_row_by_row_definition_on_thousands_of_rows(monkeypatch):
    from desktop.core.datasets import dedupe

    monkeypatch.setattr(dedupe, "BLOCK", 256)  # several blocks of kept rows per batch
    rng = np.random.default_rng(7)
    vectors = _clustered(rng, 3000)
    threshold = 0.95
    expected = _exact_near_check(vectors.astype(np.float64), threshold)
    d = Deduper(threshold)
    gaps = np.abs(_unit(vectors) @ _unit(vectors).T - threshold)
    assert gaps.min() > 1e-3  # no pair so close to the threshold that float32 rounding could decide it
    got: list[bool] = []
    for start in range(0, len(vectors), 500):
        got += d.new_meanings(list(vectors[start:start + 500]), [""] * 500)
    assert 300 < expected.count(False) < 2700  # the data holds both kinds of rows
    assert got == expected
    assert d.counts.near == expected.count(False)
    one_by_one = Deduper(threshold)
    assert [one_by_one.is_new_meaning(v, "") for v in vectors[:400]] == expected[:400]


def test_rows_without_vectors_are_embedded_in_one_call_or_counted():
    calls: list[list[str]] = []

    def embed(texts):
        calls.append(list(texts))
        return [np.ones(4) if t == "same" else np.array([1.0, -1.0, 0, 0]) for t in texts]

    d = Deduper(0.9, embed)
    assert d.new_meanings([None, np.ones(4), None, np.zeros(4)], ["other", "", "same", "zero"]) == [
        True, True, False, True]
    assert calls == [["other", "same"]]
    assert (d.counts.near, d.counts.unembedded) == (1, 1)
    counted = Deduper(0.9)
    assert counted.new_meanings([None, np.ones(3)], ["a", "b"]) == [True, True] and counted.counts.unembedded == 1


def test_vectors_of_different_sizes_are_refused_plainly():
    d = Deduper(0.9)
    d.new_meanings([np.ones(4)], [""])
    with pytest.raises(DatasetError, match="different sizes"):
        d.new_meanings([np.ones(3)], [""])
