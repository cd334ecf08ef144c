"""The knowledge evaluation set in bench/data/knowledge is well formed: every answer span is in its document."""

from __future__ import annotations

import json
from collections import Counter

from tests.support.history_data import REPO

KNOWLEDGE = REPO / "bench" / "data" / "knowledge"


def test_every_question_names_a_shipped_document_containing_its_span():
    questions = [json.loads(line) for line in (KNOWLEDGE / "questions.jsonl").read_text(encoding="utf-8").splitlines()]
    docs = {p.name: p.read_text(encoding="utf-8") for p in (KNOWLEDGE / "docs").iterdir()}
    assert len(questions) >= 60 and len({q["id"] for q in questions}) == len(questions)
    kinds = Counter(q["kind"] for q in questions)
    assert set(kinds) == {"paraphrase", "keyword", "rare"} and min(kinds.values()) >= len(questions) // 4, kinds
    for q in questions:
        assert set(q) == {"id", "kind", "question", "doc", "span", "short_fact"}, q
        assert q["span"] in docs[q["doc"]], q["id"]
        assert q["short_fact"] is None or q["short_fact"] in docs[q["doc"]], q["id"]
    sources = (KNOWLEDGE / "SOURCES.md").read_text(encoding="utf-8")
    assert all(f"| {name} |" in sources for name in docs)  # every document names its package and licence
    assert sum(len(text.encode()) for text in docs.values()) < 2_000_000
