"""Grounding a reply: retrieval across collections, the threshold, both no-context policies, packing
into the context budget, the recorded chunk ids and a re-run after a chunk was deleted.

Real LanceDB collections from small real files; keyword-only (word-overlap scores) unless a test
takes the real embedder.
"""

from __future__ import annotations

import pytest

from desktop.core.knowledge.budget import EstimatedBudget
from desktop.core.knowledge.errors import CollectionNotFound, KnowledgeError
from desktop.core.knowledge.grounding import (
    PARAMETERS_KEY,
    GroundingOptions,
    Outcome,
    annotate_record,
    ground,
    recorded_knowledge,
    reground,
)
from desktop.core.knowledge.packing import SYSTEM_INSTRUCTION
from desktop.core.knowledge.relevance import SIMILARITY, WORD_OVERLAP
from desktop.core.knowledge.store import Knowledge
from desktop.core.text.params import SamplingParams
from desktop.core.text.prompt import TextRequest
from tests.support.history import make_record

PAGES = {
    "otters.md": "# Otters\n\nSea otters hold hands while they sleep so they do not drift apart.\n",
    "bread.md": "# Baking\n\nSourdough needs a starter, flour, water and salt, and a long rise.\n",
    "rust.md": "# Borrowing\n\nThe borrow checker rejects two mutable references to one value.\n",
}
WIDE = EstimatedBudget(4096)


def _folder(tmp_path, name, pages):
    folder = tmp_path / name
    folder.mkdir()
    for file, text in pages.items():
        (folder / file).write_text(text)
    return folder


@pytest.fixture
def indexed(knowledge, tmp_path):
    knowledge.add("docs", [_folder(tmp_path, "docs", PAGES)])
    knowledge.index("docs")
    return knowledge


def _ask(question, *, max_tokens=64, system=""):
    return TextRequest(question, system_prompt=system, sampling=SamplingParams(max_tokens=max_tokens))


def test_sources_are_numbered_packed_before_the_question_and_recorded_by_id(indexed):
    g = ground(_ask("Why do sea otters hold hands?", system="Be brief."), GroundingOptions(("docs",)), indexed, WIDE)
    assert g.outcome is Outcome.GROUNDED and g.generate and g.score_kind == WORD_OVERLAP
    first = g.sources[0]
    assert (first.number, first.title, first.location, first.collection) == (1, "otters.md", "Otters", "docs")
    assert "hold hands" in first.snippet and first.score == pytest.approx(1.0)
    assert first.snippet.startswith("Sea otters") and first.text.startswith("# Otters")  # the location names it
    assert all(s.score >= 0.30 for s in g.sources)
    assert g.request is not None
    assert g.request.system_prompt.startswith(SYSTEM_INSTRUCTION) and g.request.system_prompt.endswith("Be brief.")
    assert g.request.prompt.startswith("Sources:\n\n[1] otters.md (Otters)\n")
    assert g.request.prompt.endswith("Question: Why do sea otters hold hands?")
    recorded = g.parameters()
    assert recorded["collections"] == ["docs"] and recorded["k"] == 5 and recorded["threshold"] == 0.30
    assert [c["id"] for c in recorded["chunks"]] == [s.chunk_id for s in g.sources]
    record = annotate_record(make_record(g.request.prompt, system_prompt=g.request.system_prompt), g)
    assert (record.prompt, record.system_prompt) == ("Why do sea otters hold hands?", "Be brief.")
    assert recorded_knowledge(record) == recorded and record.parameters["temperature"] == 0.7


def test_nothing_above_the_threshold_answers_without_context_or_stops(indexed):
    question = _ask("Which otters bake sourdough with a borrow checker?")
    strict = GroundingOptions(("docs",), threshold=0.9)
    g = ground(question, strict, indexed, WIDE)
    assert g.outcome is Outcome.NOTHING_RELEVANT and g.sources == [] and g.below_threshold == g.candidates > 0
    assert g.request is question and "Nothing relevant was found in 'docs'" in g.message
    assert "answering without them" in g.message and "0.90" in g.message
    assert g.parameters()["chunks"] == [] and g.parameters()["outcome"] == "nothing_relevant"
    stopped = ground(question, GroundingOptions(("docs",), threshold=0.9, no_context="stop"), indexed, WIDE)
    assert stopped.outcome is Outcome.NOTHING_RELEVANT and not stopped.generate and stopped.request is None
    assert "there is no answer" in stopped.message and "Lower the threshold" in stopped.hint
    unmatched = ground(_ask("quantum chromodynamics"), GroundingOptions(("docs",), no_context="stop"), indexed, WIDE)
    assert unmatched.candidates == 0 and "nothing matched" in unmatched.message


def test_a_context_too_small_for_one_chunk_says_its_size_and_what_to_do(indexed):
    g = ground(_ask("Why do sea otters hold hands?", max_tokens=500), GroundingOptions(("docs",)), indexed,
               EstimatedBudget(540))
    assert g.outcome is Outcome.CONTEXT_TOO_SMALL and not g.generate
    assert "context of 540 tokens is too small for even one relevant chunk" in g.message
    assert "otters.md" in g.message and "larger context" in g.hint and "max tokens" in g.hint


def test_chunks_that_do_not_fit_are_left_out_and_said(indexed):
    question = _ask("otters sourdough borrow checker", max_tokens=64)
    everything = ground(question, GroundingOptions(("docs",), threshold=0.0), indexed, WIDE)
    assert len(everything.sources) == 3
    one_fits = everything.prompt_tokens
    assert one_fits is not None
    tight = EstimatedBudget(one_fits + 64 - 20)  # room for two of the three short chunks
    g = ground(question, GroundingOptions(("docs",), threshold=0.0), indexed, tight)
    assert g.outcome is Outcome.GROUNDED and 1 <= len(g.sources) < 3
    assert [s.number for s in g.sources] == list(range(1, len(g.sources) + 1))
    assert g.not_fitted == 3 - len(g.sources) and "left out" in g.message


def test_k_bounds_the_sources_across_collections(indexed, tmp_path):
    indexed.add("more", [_folder(tmp_path, "more", {"otters2.md": "# Otters\n\nOtters use stones as tools.\n"})])
    indexed.index("more")
    g = ground(_ask("otters"), GroundingOptions(("docs", "more"), k=1, threshold=0.0), indexed, WIDE)
    assert len(g.sources) == 1
    both = ground(_ask("otters"), GroundingOptions(("docs", "more"), k=5, threshold=0.5), indexed, WIDE)
    assert {s.collection for s in both.sources} == {"docs", "more"}
    assert [s.score for s in both.sources] == sorted((s.score for s in both.sources), reverse=True)


def test_bad_collections_and_options_are_refused_with_the_reason(indexed, tmp_path):
    with pytest.raises(CollectionNotFound, match="no collection named 'nope'"):
        ground(_ask("otters"), GroundingOptions(("docs", "nope")), indexed, WIDE)
    indexed.add("fresh", [_folder(tmp_path, "fresh", PAGES)])
    with pytest.raises(KnowledgeError, match="has not been indexed yet"):
        ground(_ask("otters"), GroundingOptions(("fresh",)), indexed, WIDE)
    with pytest.raises(KnowledgeError, match="No collection was chosen"):
        ground(_ask("otters"), GroundingOptions(()), indexed, WIDE)
    with pytest.raises(KnowledgeError, match="between 1 and 50"):
        ground(_ask("otters"), GroundingOptions(("docs",), k=0), indexed, WIDE)
    with pytest.raises(KnowledgeError, match="between 0 and 1"):
        ground(_ask("otters"), GroundingOptions(("docs",), threshold=1.5), indexed, WIDE)
    with pytest.raises(KnowledgeError, match="Unknown choice 'maybe'"):
        ground(_ask("otters"), GroundingOptions(("docs",), no_context="maybe"), indexed, WIDE)
    with pytest.raises(KnowledgeError, match="history is not open"):
        ground(_ask("otters"), GroundingOptions(("history",)), indexed, WIDE)


def test_an_empty_collection_is_a_note_and_nothing_relevant(indexed, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    indexed.add("empty", [empty])
    indexed.index("empty")
    g = ground(_ask("otters"), GroundingOptions(("empty",), no_context="stop"), indexed, WIDE)
    assert g.outcome is Outcome.NOTHING_RELEVANT and not g.generate
    assert g.notes == ["The collection 'empty' has no chunks: its folders hold no readable documents."]
    mixed = ground(_ask("otters hold hands"), GroundingOptions(("empty", "docs")), indexed, WIDE)
    assert mixed.outcome is Outcome.GROUNDED and mixed.sources[0].title == "otters.md"


def test_the_history_collection_grounds_in_past_records(genlab_home, store):
    record = make_record("How long should sourdough rise?", output_text="Let it rise overnight in the fridge.")
    store.save_and_wait(record)
    knowledge = Knowledge(embedder=None, history=store)
    try:
        g = ground(_ask("how long does sourdough rise"), GroundingOptions(("history",)), knowledge, WIDE)
        source = g.sources[0]
        assert source.is_history and source.chunk_id == record.id and source.path == ""
        assert source.title == "How long should sourdough rise?" and "overnight" in source.text
    finally:
        knowledge.close()


def test_a_rerun_uses_the_same_chunks_and_says_which_were_deleted(indexed, tmp_path):
    question = _ask("otters sourdough borrow checker")
    g = ground(question, GroundingOptions(("docs",), threshold=0.0), indexed, WIDE)
    record = annotate_record(make_record(g.request.prompt), g)
    again = reground(record, question, indexed, WIDE)
    assert again.outcome is Outcome.GROUNDED and again.missing == [] and again.message == ""
    assert again.request == g.request and [s.score for s in again.sources] == [s.score for s in g.sources]
    gone = next(s for s in g.sources if s.title == "bread.md")
    (tmp_path / "docs" / "bread.md").unlink()
    indexed.index("docs")
    after = reground(record, question, indexed, WIDE)
    assert [m.chunk_id for m in after.missing] == [gone.chunk_id] and after.missing[0].number == gone.number
    assert "1 of the 3 chunks this reply was based on has been deleted since" in after.message
    assert [s.number for s in after.sources] == [1, 2] and "bread" not in after.request.prompt
    indexed.delete("docs")
    none_left = reground(record, question, indexed, WIDE)
    assert none_left.outcome is Outcome.NOTHING_RELEVANT and len(none_left.missing) == 3
    assert none_left.request == question  # the re-run answers without context, and the message says why


def test_a_record_without_knowledge_cannot_be_regrounded(indexed):
    with pytest.raises(KnowledgeError, match="not grounded"):
        reground(make_record("plain"), _ask("plain"), indexed, WIDE)
    assert PARAMETERS_KEY not in make_record("plain").parameters


@pytest.mark.slow
def test_with_the_embedder_scores_are_similarities_comparable_across_collections(genlab_home, embedder, tmp_path,
                                                                                 store):
    store.save_and_wait(make_record("What is a good name for a cat?", output_text="Try Miso or Pepper."))
    knowledge = Knowledge(embedder=embedder, history=store)
    try:
        knowledge.add("docs", [_folder(tmp_path, "docs", PAGES)])
        knowledge.index("docs")
        g = ground(_ask("why do marine mammals link paws at night"), GroundingOptions(("history", "docs")),
                   knowledge, WIDE)
        assert g.score_kind == SIMILARITY and g.sources[0].title == "otters.md"
        assert all(s.title != "What is a good name for a cat?" for s in g.sources)  # under 0.30 similarity
        assert g.below_threshold >= 1
        cats = ground(_ask("naming my new kitten"), GroundingOptions(("docs", "history")), knowledge, WIDE)
        assert cats.sources[0].is_history
    finally:
        knowledge.close()


@pytest.mark.parametrize(("text", "heading", "body"), [
    ("The Fresnel lens\n\nThe Fresnel lens was invented in 1822.", "Lighthouses › The Fresnel lens",
     "The Fresnel lens was invented in 1822."),
    ("## Food\n\nOtters eat urchins.", "Otters › Food", "Otters eat urchins."),
    ("Foodstuff is kept dry.", "Food", "Foodstuff is kept dry."),  # a longer word, not the heading
    ("Otters eat urchins.", "", "Otters eat urchins."),
])
def test_a_snippet_leaves_out_the_heading_its_location_names(text, heading, body):
    from desktop.core.knowledge.chunking import body_text

    assert body_text(text, heading) == body

