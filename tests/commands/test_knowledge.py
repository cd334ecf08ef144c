"""``genlab knowledge ...`` end to end on a real data root (in-process, through desktop.cli.main)."""

from __future__ import annotations

import json

import pytest

from desktop.cli import main


@pytest.fixture
def docs(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "otters.md").write_text("# Otters\n\nSea otters hold hands while they sleep.\n")
    (folder / "bread.txt").write_text("Sourdough needs a starter and a long rise.\n")
    (folder / "photo.txt").write_bytes(b"\x00\x01\x02binary")
    return folder


@pytest.fixture
def indexed(docs):
    from desktop.core.knowledge.store import Knowledge

    knowledge = Knowledge(embedder=None)
    knowledge.add("docs", [docs])
    knowledge.index("docs")
    knowledge.close()
    return docs


def test_search_prints_file_location_score_and_text(indexed, capsys):
    assert main(["knowledge", "search", "docs", "otters", "--mode", "keyword"]) == 0
    out = capsys.readouterr().out
    assert f"[1] {indexed / 'otters.md'}  Otters  score " in out and "hold hands while they sleep" in out


def test_search_json_has_the_documented_fields(indexed, capsys):
    assert main(["knowledge", "search", "docs", "sourdough", "--mode", "keyword", "--limit", "1", "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert len(hits) == 1
    assert {"chunk_id", "path", "location", "char_start", "char_end", "score", "text"} <= set(hits[0])
    assert hits[0]["path"].endswith("bread.txt")


def test_list_shows_history_folders_and_what_was_passed_over(indexed, capsys):
    assert main(["knowledge", "list"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("history") and "docs  3 files, 2 chunks" in out and "1 passed over" in out
    assert main(["knowledge", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert "binary data" in listed[1]["state"]["problems"][0]["reason"]


def test_add_without_indexing_then_delete(docs, capsys):
    assert main(["knowledge", "add", "later", str(docs), "--no-index"]) == 0
    assert main(["knowledge", "search", "later", "otters", "--mode", "keyword"]) == 2
    assert "has not been indexed yet" in capsys.readouterr().err
    assert main(["knowledge", "delete", "later"]) == 0
    assert main(["knowledge", "delete", "later"]) == 2
    assert "no collection named 'later'" in capsys.readouterr().err


def test_bad_arguments_say_what_was_wrong(docs, tmp_path, capsys):
    assert main(["knowledge", "add", "x", str(tmp_path / "nowhere"), "--no-index"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["knowledge", "add", "history", str(docs), "--no-index"]) == 2
    assert "history's own collection" in capsys.readouterr().err


@pytest.mark.slow
def test_add_indexes_with_the_embedder_and_reindex_reads_only_changes(docs, capsys):
    assert main(["knowledge", "add", "docs", str(docs)]) == 0
    captured = capsys.readouterr()
    assert "docs: 3 files, 2 read" in captured.out and "passed over" in captured.out
    assert main(["knowledge", "search", "docs", "marine animals holding paws", "--limit", "1"]) == 0
    assert "otters.md" in capsys.readouterr().out
    (docs / "bread.txt").write_text("Rye bread is dense.\n")
    assert main(["knowledge", "reindex", "docs"]) == 0
    assert "1 read, 1 unchanged" in capsys.readouterr().out
