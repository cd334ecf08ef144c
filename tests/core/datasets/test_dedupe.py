"""Normalisation for the exact-duplicate check."""

from __future__ import annotations

from desktop.core.datasets.dedupe import Deduper, normalise


def test_normalise_folds_case_width_and_whitespace():
    assert normalise("  Ｈｅｌｌｏ\tWORLD\n\n ok ") == "hello world ok"
    assert normalise("Straße") == normalise("STRASSE")


def test_exact_duplicates_are_counted_and_parts_stay_apart():
    d = Deduper()
    assert d.is_new_text(["user", "a b", "assistant", "c"])
    assert not d.is_new_text(["user", " A  b", "assistant", "c "])
    assert d.is_new_text(["user", "a", "b assistant", "c"])  # the same words split differently is another row
    assert d.counts.exact == 1
