"""What is embedded: a long prompt must not push a text record's output out of the embedder's window."""

from __future__ import annotations

import numpy as np
import pytest

from desktop.core.history.schema import EMBED_PROMPT_CHARS, EMBED_WINDOW_CHARS, MAX_EMBED_CHARS, embed_text_of
from desktop.core.records import GenerationRecord

# About 1,900 characters of an ordinary long prompt (MiniLM would read nothing after its first ~1,000).
LONG_PROMPT = ("I want you to act as a careful assistant. Read the request below, think about who is asking, "
               "and answer in plain words with short paragraphs and no lists unless they help. ") * 11


def _text(prompt: str, output: str = "", kind: str = "text") -> str:
    return embed_text_of(GenerationRecord(kind=kind, prompt=prompt, output_text=output))


def test_a_long_prompt_leaves_the_output_in_the_embedded_text():
    output = "Feed the sourdough starter the night before, then fold the dough every half hour. " * 8
    text = _text(LONG_PROMPT, output)
    prompt_part, _, output_part = text.partition("\n")
    assert len(prompt_part) <= EMBED_PROMPT_CHARS and LONG_PROMPT.startswith(prompt_part)
    assert not prompt_part.endswith("careful assis")  # cut at a space, not inside a word
    assert output_part.startswith("Feed the sourdough starter")
    assert len(text) - len(prompt_part) >= EMBED_WINDOW_CHARS - EMBED_PROMPT_CHARS  # a fair share of the window


def test_a_short_output_lets_the_prompt_use_the_rest_of_the_window():
    text = _text(LONG_PROMPT, "Yes.")
    assert text.endswith("\nYes.")
    assert EMBED_WINDOW_CHARS - 60 <= len(text) <= EMBED_WINDOW_CHARS


def test_short_records_and_prompt_only_records_are_embedded_as_before():
    assert _text("How do I bake bread?", "Feed the starter.") == "How do I bake bread?\nFeed the starter."
    assert _text(LONG_PROMPT) == LONG_PROMPT[:MAX_EMBED_CHARS]
    assert _text("a lighthouse", kind="image") == "a lighthouse"
    image = GenerationRecord(kind="image", prompt="a lighthouse at dusk", negative_prompt="blurry")
    assert embed_text_of(image) == "a lighthouse at dusk\nnot: blurry"


@pytest.mark.slow
def test_the_embedder_sees_the_output_of_a_record_with_a_long_prompt(embedder):
    """Two records share a long prompt and differ in their output: each is found by its own output's topic.

    With the prompt filling the 256-token window both records embedded the same (the output was cut off).
    """
    bread = GenerationRecord(kind="text", prompt=LONG_PROMPT,
                             output_text="Mix flour, water and a lively sourdough starter, let the dough rise "
                                         "overnight and bake the loaf in a hot dutch oven.")
    taxes = GenerationRecord(kind="text", prompt=LONG_PROMPT,
                             output_text="File the income tax return before the deadline and keep receipts "
                                         "for every deductible business expense.")
    vectors = embedder.encode([embed_text_of(bread), embed_text_of(taxes)])
    queries = embedder.encode(["how to bake bread at home", "paying my taxes on time"])
    scores = queries @ vectors.T  # unit vectors: cosine similarity
    assert not np.allclose(vectors[0], vectors[1], atol=1e-3)
    assert scores[0, 0] > scores[0, 1] + 0.02
    assert scores[1, 1] > scores[1, 0] + 0.02
