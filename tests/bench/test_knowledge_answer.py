"""bench knowledge_answer: which replies count as containing the fact, and the questions it asks."""

from __future__ import annotations

from bench.knowledge_answer import contains
from bench.knowledge_eval import load_questions


def test_a_fact_counts_whatever_its_case_and_line_breaks():
    assert contains("It is built on AnyIO, which...", "anyio")
    assert contains("gzip, deflate,\n  brotli, and zstd", "gzip, deflate, brotli, and zstd")
    assert not contains("HTTP/1.1 only", "HTTP/1.1, HTTP/2 and WebSockets")


def test_the_short_fact_questions_are_the_ones_asked():
    asked = [q for q in load_questions() if q.get("short_fact")]
    assert len(asked) == 44 and all(isinstance(q["short_fact"], str) and q["short_fact"].strip() for q in asked)
