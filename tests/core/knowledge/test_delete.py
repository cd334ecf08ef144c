"""Deleting a document or a whole collection leaves no trace of its text under the data root."""

from __future__ import annotations

import pytest

from desktop.core.knowledge.store import Knowledge
from tests.support.traces import traces

SECRET = "zqxjvortexpalimpsest"


def _fill(folder, secret_files: int = 1) -> None:
    folder.mkdir()
    for i in range(30):
        (folder / f"keep{i}.md").write_text(f"# Gardens {i}\n\nNotes about gardens and roses, part {i}.\n")
    for i in range(secret_files):
        (folder / f"secret{i}.md").write_text(f"# {SECRET}\n\nThe word {SECRET} is made up.\n\n"
                                              + "More about it. " * 100 + f"\n\n{SECRET} again.\n")


@pytest.mark.slow
def test_a_deleted_and_a_changed_file_leave_no_trace(genlab_home, embedder, tmp_path):
    docs = tmp_path / "docs"
    _fill(docs, secret_files=2)
    knowledge = Knowledge(embedder=embedder)
    try:
        knowledge.add("docs", [docs])
        knowledge.index("docs", batch_chunks=8)  # several versions and fragments
        assert traces(genlab_home, [SECRET.encode()])
        assert len(knowledge.search("docs", SECRET, 10, mode="keyword")) >= 2
        (docs / "secret0.md").unlink()
        (docs / "secret1.md").write_text("# Roses\n\nNothing to hide here.\n")
        report = knowledge.index("docs")
        assert (report.removed, report.read) == (1, 1)
        assert traces(genlab_home, [SECRET.encode()]) == []
        assert knowledge.search("docs", SECRET, 10, mode="keyword") == []
        assert knowledge.search("docs", "gardens with roses", 3)  # indexes still work, hybrid too
        assert knowledge.search("docs", "hide", 3, mode="keyword")[0].path.endswith("secret1.md")
    finally:
        knowledge.close()


def test_a_deleted_collection_leaves_no_trace_and_others_stay(genlab_home, tmp_path):
    _fill(tmp_path / "secret")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "a.txt").write_text("Lighthouses at night.\n")
    knowledge = Knowledge(embedder=None)
    try:
        knowledge.add(f"private {SECRET}", [tmp_path / "secret"])
        knowledge.add("other", [tmp_path / "other"])
        knowledge.index(f"private {SECRET}")
        knowledge.index("other")
        assert traces(genlab_home, [SECRET.encode()])
        knowledge.delete(f"private {SECRET}")
        assert traces(genlab_home, [SECRET.encode(), b"gardens and roses"]) == []
        assert [c.name for c in knowledge.collections()] == ["history", "other"]
        assert knowledge.search("other", "lighthouses", 1, mode="keyword")
        assert (tmp_path / "secret" / "secret0.md").exists()  # the documents themselves stay
    finally:
        knowledge.close()
