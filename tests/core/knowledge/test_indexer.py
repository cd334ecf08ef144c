"""Indexing a collection: what changed is read, what vanished is removed, bad input is listed, never fatal."""

from __future__ import annotations

import os
import time

import pytest

from desktop.core.errors import DataRootError
from desktop.core.jobs import CancelToken, JobCancelled
from desktop.core.knowledge.errors import CollectionNotFound, KnowledgeError


def _paths(knowledge, name, query):
    return sorted({os.path.basename(h.path) for h in knowledge.search(name, query, 10, mode="keyword")})


def test_index_then_search_by_keyword_with_locations(knowledge, docs):
    knowledge.add("docs", [docs])
    reports = []
    report = knowledge.index("docs", progress=reports.append)
    assert (report.files, report.read, report.problems) == (3, 3, [])
    payloads = [r.payload for r in reports if r.payload is not None]
    assert [p.files_done for p in payloads] == [0, 1, 2, 3] and {p.files_total for p in payloads} == {3}
    assert payloads[-1].chunks_written == report.chunks_written == 4 and reports[-1].fraction == 1.0
    assert payloads[0].eta_s is None and payloads[-1].eta_s == 0.0  # nothing left
    hit = knowledge.search("docs", "crabs", 1, mode="keyword")[0]
    assert hit.path == str(docs / "otters.md") and hit.location == "Otters › Food"
    text = (docs / "otters.md").read_text()
    assert text[hit.char_start:hit.char_end] == hit.text
    assert [h.text for h in knowledge.chunks("docs", [hit.chunk_id, "no-such-id"])] == [hit.text]
    assert knowledge.collections()[1].state.files == 3


def test_second_run_reads_only_changed_added_and_deleted_files(knowledge, docs):
    knowledge.add("docs", [docs])
    knowledge.index("docs")
    (docs / "notes.txt").write_text("Lighthouses are now painted red.\n")
    (docs / "new.md").write_text("# New\n\nA page about walruses.\n")
    (docs / "sub" / "tool.py").unlink()
    os.utime(docs / "otters.md", ns=(time.time_ns(), time.time_ns() + 10**9))  # touched, same content
    report = knowledge.index("docs")
    assert (report.read, report.removed, report.unchanged) == (2, 1, 1)
    assert _paths(knowledge, "docs", "walruses") == ["new.md"]
    assert _paths(knowledge, "docs", "lamps") == []  # the old text of notes.txt is gone
    assert _paths(knowledge, "docs", "espresso") == []
    assert knowledge.index("docs").read == 0  # the touched file's new time was remembered


def test_empty_folder_indexes_nothing_and_says_so(knowledge, tmp_path):
    (tmp_path / "empty").mkdir()
    knowledge.add("empty", [tmp_path / "empty"])
    report = knowledge.index("empty")
    assert (report.files, report.chunks_total, report.problems) == (0, 0, [])
    assert knowledge.search("empty", "anything", 5, mode="keyword") == []


def test_bad_files_are_listed_with_reasons_and_the_rest_is_indexed(knowledge, docs):
    from tests.core.knowledge.files import make_docx, make_pdf

    (docs / "photo.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00" + bytes(range(256)) * 4)
    (docs / "locked.pdf").write_bytes(make_pdf(["secret"], password="pw"))
    (docs / "huge.pdf").write_bytes(make_pdf(["big " * 2000]))
    (docs / "latin.txt").write_bytes("Déjà vu at the café".encode("cp1252"))
    (docs / "blank.md").write_text("\n\n   \n")
    (docs / "report.odt").write_bytes(b"PK\x03\x04")
    (docs / "word.docx").write_bytes(make_docx([("Heading1", "Walruses"), ("", "Walruses have tusks.")]))
    (docs / "picture.jpg").write_bytes(b"\xff\xd8")
    (docs / "loop").symlink_to(docs, target_is_directory=True)
    (docs / "dangling").symlink_to(docs / "nowhere.txt")
    knowledge.add("docs", [docs])
    report = knowledge.index("docs", max_file_bytes=3000)
    reasons = {os.path.basename(p.path): p.reason for p in report.problems}
    assert "binary data" in reasons["photo.txt"]
    assert "encrypted" in reasons["locked.pdf"]
    assert "limit" in reasons["huge.pdf"]
    assert "no text" in reasons["blank.md"]
    assert "not read yet" in reasons["report.odt"]
    assert "link loop" in reasons["loop"] and "broken link" in reasons["dangling"]
    assert report.unsupported == {".jpg": 1, ".odt": 1}
    assert knowledge.search("docs", "tusks", 1, mode="keyword")[0].location == "Walruses"
    assert _paths(knowledge, "docs", "café") == ["latin.txt"]
    assert _paths(knowledge, "docs", "otters") == ["otters.md"]  # once, not again through the loop
    listed = knowledge.collections()[1].state.problems
    assert {os.path.basename(p.path) for p in listed} == set(reasons)


def test_a_file_deleted_while_being_indexed_is_listed_not_fatal(knowledge, docs):
    victim = docs / "sub" / "tool.py"

    def delete_soon(report):
        if report.payload is not None and report.payload.files_done == 1 and victim.exists():
            victim.unlink()

    knowledge.add("docs", [docs])
    report = knowledge.index("docs", progress=delete_soon)
    assert [(os.path.basename(p.path), p.reason) for p in report.problems] == [
        ("tool.py", "It disappeared while being indexed.")]
    assert report.read == 2


def test_a_missing_folder_is_marked_missing_and_its_chunks_kept(knowledge, docs, tmp_path):
    other = tmp_path / "drive"
    other.mkdir()
    (other / "far.txt").write_text("Notes from the external drive about glaciers.\n")
    knowledge.add("both", [docs, other])
    knowledge.index("both")
    moved = tmp_path / "unplugged"
    other.rename(moved)
    assert knowledge.collections()[1].state.missing_folders == [str(other)]
    report = knowledge.index("both")
    assert report.missing_folders == [str(other)] and report.removed == 0
    assert _paths(knowledge, "both", "glaciers") == ["far.txt"]
    moved.rename(other)
    assert knowledge.index("both").read == 0


def test_cancel_keeps_whole_files_and_the_next_run_resumes(knowledge, tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(40):
        (folder / f"f{i:02}.txt").write_text(f"document number {i} about topic{i}\n\n" + "filler text. " * 60)
    cancel = CancelToken()

    def stop_later(report):
        if report.payload is not None and report.payload.chunks_written >= 10:
            cancel.cancel()

    knowledge.add("many", [folder])
    with pytest.raises(JobCancelled):
        knowledge.index("many", cancel=cancel, progress=stop_later, batch_chunks=4)
    table = knowledge._table(knowledge.get("many"))
    written = table.manifest()
    assert 0 < len(written) < 40 and all(e.complete for e in written.values())
    assert not knowledge.get("many").state.complete
    report = knowledge.index("many")
    assert report.read == 40 - len(written) and report.unchanged == len(written)
    assert len(table.manifest()) == 40


@pytest.mark.slow
def test_two_thousand_small_files(knowledge, tmp_path):
    folder = tmp_path / "many"
    for d in range(20):
        (folder / f"d{d}").mkdir(parents=True)
        for i in range(100):
            (folder / f"d{d}" / f"n{i}.txt").write_text(f"note {d}-{i}: the word token{d}x{i} appears here.\n")
    knowledge.add("many", [folder])
    report = knowledge.index("many")
    assert (report.files, report.read, report.chunks_total, report.problems) == (2000, 2000, 2000, [])
    assert _paths(knowledge, "many", "token7x42") == ["n42.txt"]
    assert knowledge.index("many").unchanged == 2000


def test_registry_errors_name_what_was_wrong(knowledge, docs, tmp_path):
    with pytest.raises(KnowledgeError, match="does not exist"):
        knowledge.add("x", [tmp_path / "nope"])
    with pytest.raises(KnowledgeError, match="is a file, not a folder"):
        knowledge.add("x", [docs / "notes.txt"])
    with pytest.raises(KnowledgeError, match="history's own collection"):
        knowledge.add("History", [docs])
    knowledge.add("docs", [docs])
    with pytest.raises(KnowledgeError, match="exists already"):
        knowledge.add("docs", [docs])
    with pytest.raises(CollectionNotFound, match="Known collections: history, docs"):
        knowledge.search("nope", "x", 3)
    with pytest.raises(KnowledgeError, match="not been indexed yet"):
        knowledge.search("docs", "x", 3)


def test_a_read_only_data_folder_is_refused_with_a_clear_message(read_only_folder, monkeypatch):
    from desktop.core.knowledge.store import Knowledge

    monkeypatch.setenv("GENLAB_HOME", str(read_only_folder))
    with pytest.raises(DataRootError, match=r"(?is)the knowledge folder .*read-only.*GENLAB_HOME"):
        Knowledge(embedder=None)
