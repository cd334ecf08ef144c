"""Search highlights mark whole words: not "art" inside "start", but "bake" in "baked" (the index stems)."""

from __future__ import annotations

import re

from desktop.core.history.record_text import whole_word_spans


def marked(text: str, word: str) -> list[str]:
    spans = [m.span() for m in re.finditer(re.escape(word), text, re.I)]  # what the snippet search finds
    return [text[a:b] for a, b in whole_word_spans(text, spans)]


def test_a_word_inside_another_word_is_not_marked():
    assert marked("Start the art show; the artist departs", "art") == ["art"]


def test_inflections_the_index_folds_are_marked_whole():
    assert marked("I baked bread, she bakes, we bake", "bake") == ["baked", "bakes", "bake"]
    assert marked("Boat's sail", "boat") == ["Boat"]


def test_tokens_with_digits_and_underscores_and_the_ends_of_the_text():
    assert marked("sdxl_turbo beats sdxl", "sdxl") == ["sdxl"]
    assert marked("v3 and 3", "3") == ["3"]
    assert whole_word_spans("art", [(0, 3), (2, 9), (-1, 2)]) == [(0, 3)]  # bad spans are dropped
