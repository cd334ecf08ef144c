"""``genlab text --knowledge``: the reply then its sources, the recorded chunk ids and their re-run,
nothing relevant under both policies, a context too small for one chunk, bad arguments.

Real SmolLM2, a real collection indexed with the real embedder, in-process through desktop.cli.main.
"""

from __future__ import annotations

import json

import pytest

from desktop.cli import main

pytest.importorskip("llama_cpp")

QUESTION = "Why do sea otters hold hands?"
PAGES = {
    "otters.md": "# Otters\n\nSea otters hold hands while they sleep so they do not drift apart.\n",
    "bread.md": "# Baking\n\nSourdough needs a starter, flour, water and salt, and a long rise.\n",
}


@pytest.fixture
def docs(genlab_home, embedder, tmp_path):
    from desktop.core.knowledge.store import Knowledge

    folder = tmp_path / "docs"
    folder.mkdir()
    for name, text in PAGES.items():
        (folder / name).write_text(text)
    knowledge = Knowledge(embedder=embedder)
    knowledge.add("docs", [folder])
    knowledge.index("docs")
    knowledge.close()
    return folder


def text(capsys, model, *argv: str) -> tuple[int, str, str]:
    code = main(["text", "--model", str(model), "--prompt", QUESTION, "--temperature", "0", "--seed", "3",
                 "--max-tokens", "24", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.slow
def test_the_reply_is_followed_by_its_sources_and_a_rerun_uses_the_same_chunks(docs, smollm2, capsys):
    code, out, err = text(capsys, smollm2, "--knowledge", "docs", "--json")
    assert code == 0, err
    data = json.loads(out)
    sources = data["knowledge"]["sources"]
    assert data["knowledge"]["outcome"] == "grounded" and sources[0]["title"] == "otters.md"
    assert sources[0]["path"] == str(docs / "otters.md") and "text" not in sources[0]
    from desktop.core.history import open_history

    store = open_history(start_embedder=False)
    try:
        record = store.get(data["id"])
    finally:
        store.close()
    assert record.prompt == QUESTION and record.output_text == data["text"]
    assert [c["id"] for c in record.parameters["knowledge"]["chunks"]] == [s["chunk_id"] for s in sources]

    code, out, err = text(capsys, smollm2, "--knowledge", "docs")
    assert code == 0 and out.startswith(data["text"])
    assert f"Sources:\n[1] {docs / 'otters.md'}  Otters  similarity " in out
    assert "[1 source" in err or "sources from docs" in err

    assert main(["history", "rerun", data["id"], "--no-history"]) == 0
    assert "matches the recorded output" in capsys.readouterr().out
    (docs / "otters.md").unlink()
    assert main(["knowledge", "reindex", "docs"]) == 0
    capsys.readouterr()
    assert main(["history", "rerun", data["id"], "--no-history"]) in (0, 1)
    err = capsys.readouterr().err
    assert "chunks this reply was based on has been deleted since" in err and "Re-index or restore" in err


@pytest.mark.slow
def test_nothing_relevant_says_so_then_answers_or_stops(docs, smollm2, capsys):
    code, out, err = text(capsys, smollm2, "--knowledge", "docs", "--threshold", "0.99")
    assert code == 0 and "note: Nothing relevant was found in 'docs'" in err and "answering without them" in err
    assert "Sources: none (answered without context)" in out
    code, out, err = text(capsys, smollm2, "--knowledge", "docs", "--threshold", "0.99", "--no-context", "stop")
    assert code == 1 and out == ""
    assert "so there is no answer" in err and "Lower the threshold" in err


@pytest.mark.slow
def test_a_context_too_small_for_one_chunk_is_one_error_line(docs, smollm2, capsys):
    code, out, err = text(capsys, smollm2, "--knowledge", "docs", "--ctx", "256", "--max-tokens", "196")
    assert code == 2 and out == ""
    assert "error: The model's context of 256 tokens is too small for even one relevant chunk" in err
    assert "--ctx" in err


@pytest.mark.slow
def test_unknown_collections_and_bad_options_fail_before_the_model_loads(docs, capsys, tmp_path):
    missing_model = tmp_path / "never-read.gguf"
    for argv, wanted in ((["--knowledge", "nope"], "no collection named 'nope'"),
                         (["--knowledge", "docs", "--k", "0"], "between 1 and 50"),
                         (["--knowledge", "docs", "--threshold", "-1"], "between 0 and 1")):
        code, out, err = text(capsys, missing_model, *argv)
        assert code == 2 and wanted in err and err.startswith("error:"), err
        assert "never-read.gguf" not in err  # refused before looking for the model
