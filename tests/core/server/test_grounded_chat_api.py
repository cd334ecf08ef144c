"""Grounded chat through the server: ``"genlab": {"knowledge": [...]}`` with the official openai client
(strict response validation) on the real SmolLM2, a real collection indexed with the real embedder."""

from __future__ import annotations

import openai
import pytest

from tests.core.server.conftest import SMOL

pytestmark = pytest.mark.slow

QUESTION = [{"role": "user", "content": "Why do sea otters hold hands?"}]
PAGES = {
    "otters.md": "# Otters\n\nSea otters hold hands while they sleep so they do not drift apart.\n",
    "bread.md": "# Baking\n\nSourdough needs a starter, flour, water and salt, and a long rise.\n",
}


@pytest.fixture(scope="module")
def grounded(served, module_home, embedder):
    """The module's server with a collection ``docs``; its backend opens the collections now, in the module's home."""
    from desktop.core.knowledge.store import Knowledge

    folder = module_home / "docs"
    folder.mkdir()
    for name, text in PAGES.items():
        (folder / name).write_text(text)
    knowledge = Knowledge(module_home / "knowledge", embedder=embedder)
    knowledge.add("docs", [folder])
    knowledge.index("docs")
    knowledge.close()
    assert served.server.backend.knowledge().root == module_home / "knowledge"
    return served


def _ask(served, **genlab):
    return served.client().chat.completions.create(model=SMOL, messages=QUESTION, max_tokens=24, temperature=0,
                                                   extra_body={"genlab": genlab})


def test_a_grounded_reply_carries_its_sources_and_is_recorded_with_the_chunk_ids(grounded):
    reply = _ask(grounded, knowledge=["docs"])
    field = reply.model_extra["genlab"]["knowledge"]
    assert field["outcome"] == "grounded" and field["score_kind"] == "similarity"
    first = field["sources"][0]
    assert (first["number"], first["title"], first["location"]) == (1, "otters.md", "Otters")
    assert first["score"] >= 0.30 and "hold hands" in first["text"]
    assert reply.choices[0].message.content and reply.usage.prompt_tokens > 40  # the sources were in the prompt
    store = grounded.shared.history_store
    store.flush(timeout=60)
    record = next(r for r in store.iter_records("origin = 'api'") if r.output_text == reply.choices[0].message.content)
    assert record.prompt == "Why do sea otters hold hands?" and record.system_prompt == ""
    knowledge = record.parameters["knowledge"]
    assert [c["id"] for c in knowledge["chunks"]] == [s["chunk_id"] for s in field["sources"]]
    assert knowledge["collections"] == ["docs"] and knowledge["threshold"] == 0.30


def test_a_stream_sends_the_sources_in_its_first_chunk_before_any_token(grounded):
    whole = _ask(grounded, knowledge=["docs"], k=1)
    chunks = list(grounded.client().chat.completions.create(
        model=SMOL, messages=QUESTION, max_tokens=24, temperature=0, stream=True,
        extra_body={"genlab": {"knowledge": ["docs"], "k": 1}}))
    first = chunks[0]
    assert first.choices[0].delta.role == "assistant" and not first.choices[0].delta.content
    assert [s["title"] for s in first.model_extra["genlab"]["knowledge"]["sources"]] == ["otters.md"]
    assert all("genlab" not in (c.model_extra or {}) for c in chunks[1:])
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content


def test_nothing_relevant_answers_without_context_or_refuses(grounded):
    reply = _ask(grounded, knowledge=["docs"], threshold=0.95)
    field = reply.model_extra["genlab"]["knowledge"]
    assert field["outcome"] == "nothing_relevant" and field["sources"] == []
    assert "answering without them" in field["message"] and reply.choices[0].message.content
    with pytest.raises(openai.UnprocessableEntityError) as caught:
        _ask(grounded, knowledge=["docs"], threshold=0.95, no_context="stop")
    assert "Nothing relevant was found in 'docs'" in caught.value.message
    assert caught.value.code == "nothing_relevant"


def test_a_context_too_small_for_one_chunk_is_a_422_naming_its_size(grounded):
    with pytest.raises(openai.UnprocessableEntityError) as caught:
        grounded.client().chat.completions.create(model=SMOL, messages=QUESTION, max_tokens=8192 - 60,
                                                  extra_body={"genlab": {"knowledge": ["docs"]}})
    assert "context of 8,192 tokens is too small for even one relevant chunk" in caught.value.message
    assert caught.value.code == "context_length_exceeded"


def test_bad_grounding_requests_are_refused_naming_the_field(grounded):
    with pytest.raises(openai.NotFoundError) as caught:
        _ask(grounded, knowledge=["docs", "nope"])
    assert "no collection named 'nope'" in caught.value.message and caught.value.param == "genlab.knowledge"
    with pytest.raises(openai.BadRequestError) as caught:
        _ask(grounded, knowledge=["docs"], threshold=2)
    assert caught.value.param == "genlab.threshold"
    with pytest.raises(openai.BadRequestError) as caught:
        _ask(grounded, knowledge=["docs"], colour="blue")
    assert caught.value.param == "genlab.colour"
    with pytest.raises(openai.BadRequestError) as caught:
        grounded.client().completions.create(model=SMOL, prompt="Otters", max_tokens=2,
                                             extra_body={"genlab": {"knowledge": ["docs"]}})
    assert "chat completions only" in caught.value.message
