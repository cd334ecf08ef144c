"""Export to JSONL / zip / Parquet and import back: round trips, duplicates, broken lines."""

from __future__ import annotations

import json
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest

from desktop.core import paths
from desktop.core.history.errors import ImportFormatError
from desktop.core.history.export import export_history
from desktop.core.history.imports import import_history
from desktop.core.history.store import HistoryStore
from desktop.core.jobs import CancelToken, JobCancelled
from desktop.core.records import GenerationRecord, ModelIdentity
from tests.support.history import make_record

# the slow set: most tests here load a real model or pipeline, or spawn processes
pytestmark = pytest.mark.slow


def _full_record(i: int, **kw):
    """A record with every field set to something other than its default."""
    values = dict(kind="text", session_id=f"session-{i % 2}", parent_id=f"parent-{i}", negative_prompt=f"no {i}",
                  system_prompt=f"system ✓ {i}", output_text=f"answer {i}\nwith a second line",
                  image_sha256="cd" * 32, created_at=datetime(2026, 5, 1, 12, 30, 15, 123456 + i, timezone.utc),
                  model=ModelIdentity(name=f"model {i}", file="m.gguf", sha256="ab" * 32, size=10 ** 9 + i,
                                      quantization="Q4_K_M", files=["m.gguf", "extra.bin"]),
                  parameters={"temperature": 0.1 * i, "nested": {"a": [1, 2.5, None, "x"]}, "flag": True},
                  seed=None if i == 3 else 2 ** 40 + i, timings={"total": 1.25 + i, "ttft": 0.125},
                  device="cuda:0", versions={"genlab": "0.1.0", "torch": "2.4"}, rating=i % 6,
                  tags=["b", "a"] if i % 2 else [], note=f"a note ünïcode {i}", origin="generated")
    values.update(kw)
    return make_record(f"prompt {i} ünïcode ✓", **values)


def _as_imported(record):
    """Every field of ``record`` as an import must give it back: the same, marked as imported."""
    data = record.to_dict()
    data["origin"] = "imported"
    return data


def _fresh_store(tmp_path, name):
    return HistoryStore(tmp_path / name, embedder=None)


@pytest.mark.parametrize("fmt, suffix", [("jsonl", ".jsonl"), ("parquet", ".parquet")])
def test_round_trip_is_equal(store, tmp_path, fmt, suffix):
    records = [_full_record(i) for i in range(7)]
    records[4].origin = "imported"  # stays imported
    store.save_many(records)
    out = export_history(store, tmp_path / f"out{suffix}", fmt=fmt)
    assert out.records == 7
    other = _fresh_store(tmp_path, "other")
    try:
        result = import_history(other, out.path)
        assert (result.imported, result.duplicates, result.broken, result.conflicts) == (7, 0, 0, 0)
        back = {r.id: r.to_dict() for r in other.iter_records()}
        assert back == {r.id: _as_imported(r) for r in records}  # every field, origin included
        again = import_history(other, out.path)
        assert (again.imported, again.duplicates) == (0, 7)
        assert other.count() == 7
    finally:
        other.close()


def test_zip_round_trip_is_equal_field_by_field_and_byte_by_byte(store, tmp_path):
    images = {}
    for i in range(3):
        image = paths.outputs_dir() / f"{i}.png"
        thumb = paths.outputs_dir() / "thumbs" / f"{i}.jpg"
        thumb.parent.mkdir(parents=True, exist_ok=True)
        image.write_bytes(b"\x89PNG image bytes " + bytes([i]) * 50)
        thumb.write_bytes(b"\xff\xd8 thumb bytes " + bytes([i]) * 20)
        images[i] = (image, thumb)
    records = [_full_record(i, kind="image", image_path=str(images[i][0]), thumbnail_path=str(images[i][1]))
               for i in range(3)] + [_full_record(3)]
    store.save_many(records)
    out = export_history(store, tmp_path / "out.zip", fmt="jsonl", images=True)
    assert (out.records, out.images) == (4, 6)
    with zipfile.ZipFile(out.path) as zf:
        lines = {x["id"]: x for x in map(json.loads, zf.read("history.jsonl").decode().splitlines())}
        assert lines[records[0].id]["image_path"] == f"images/{records[0].id}.png"  # relative inside the zip
        assert zf.read(lines[records[0].id]["image_path"]) == images[0][0].read_bytes()
    other = _fresh_store(tmp_path, "other")
    try:
        assert import_history(other, out.path).imported == 4
        back = {r.id: r.to_dict() for r in other.iter_records()}
        assert set(back) == {r.id for r in records}
        for original in records:
            got, expected = back[original.id], _as_imported(original)
            for key in ("image_path", "thumbnail_path"):  # moved into the store's folder: compare the bytes
                if getattr(original, key):
                    copy = Path(got[key])
                    assert copy.parent == other.root / "images"
                    assert copy.read_bytes() == Path(getattr(original, key)).read_bytes()
                    got[key] = expected[key]
            assert got == expected  # every other field, origin included
        assert back[records[3].id]["image_path"] == ""  # a text record gets no image
        again = import_history(other, out.path)
        assert (again.imported, again.duplicates) == (0, 4)
    finally:
        other.close()


def test_export_selected_records_only(store, tmp_path):
    a, b, c = (make_record(p) for p in "abc")
    store.save_many([a, b, c])
    out = export_history(store, tmp_path / "some.jsonl", ids=[a.id, c.id])
    assert [json.loads(x)["prompt"] for x in out.path.read_text().splitlines()] == ["a", "c"]
    assert export_history(store, tmp_path / "none.jsonl", ids=[]).records == 0  # an empty choice is not "all"
    assert export_history(store, tmp_path / "none.parquet", fmt="parquet", ids=[]).records == 0


def test_export_with_search_filters(store, tmp_path):
    text, image = make_record("a text"), make_record("an image", kind="image", rating=4)
    store.save_many([text, image, make_record("another text", rating=2)])
    assert export_history(store, tmp_path / "img.jsonl", filters={"kind": "image"}).records == 1
    out = export_history(store, tmp_path / "rated.jsonl", ids=[text.id, image.id], filters={"rating": 3})
    assert [json.loads(x)["id"] for x in out.path.read_text().splitlines()] == [image.id]


def test_minimal_records_import_and_reimport_adds_nothing(store, tmp_path):
    src = tmp_path / "min.jsonl"
    src.write_text('{"kind": "text", "prompt": "just a prompt"}\n{"kind": "image", "prompt": "a cat"}\n')
    assert import_history(store, src).imported == 2
    assert sorted(r.prompt for r in store.iter_records()) == ["a cat", "just a prompt"]
    again = import_history(store, src)
    assert (again.imported, again.duplicates) == (0, 2)


def test_broken_lines_are_skipped_and_counted(store, tmp_path):
    src = tmp_path / "broken.jsonl"
    src.write_text("\n".join([
        '{"kind": "text", "prompt": "good one"}',
        '{"kind": "text", "prompt": ',            # truncated JSON
        '[1, 2, 3]',                             # not an object
        '{"kind": "video", "prompt": "x"}',      # bad kind
        '{"kind": "text"}',                      # no prompt
        '{"kind": "text", "prompt": "bad date", "created_at": "last tuesday"}',
        '{"kind": "text", "prompt": "good two", "tags": ["x"]}',
        '',
    ]))
    result = import_history(store, src)
    assert (result.imported, result.broken) == (2, 5)
    assert result.problems[0].startswith("line 2:")
    assert any("'kind'" in p for p in result.problems)
    assert sorted(r.prompt for r in store.iter_records()) == ["good one", "good two"]


def test_import_of_missing_or_foreign_files_is_a_clear_error(store, tmp_path):
    with pytest.raises(ImportFormatError, match="does not exist"):
        import_history(store, tmp_path / "nope.jsonl")
    fake_zip = tmp_path / "x.zip"
    with zipfile.ZipFile(fake_zip, "w") as zf:
        zf.writestr("other.txt", "hi")
    with pytest.raises(ImportFormatError, match="history.jsonl"):
        import_history(store, fake_zip)
    binary = tmp_path / "x.bin"
    binary.write_bytes(bytes(range(256)) * 4)
    assert import_history(store, binary).imported == 0


def test_import_can_be_cancelled(store, tmp_path):
    src = tmp_path / "many.jsonl"
    src.write_text("".join(json.dumps({"kind": "text", "prompt": f"p{i}"}) + "\n" for i in range(250)))
    token = CancelToken()
    token.cancel()
    with pytest.raises(JobCancelled):
        import_history(store, src, cancel=token)
    assert store.count() == 0


def _write_jsonl(path, objects):
    path.write_text("".join(json.dumps(o) + "\n" for o in objects))
    return path


def test_same_id_and_content_is_skipped_other_content_is_kept_as_a_new_record(store, tmp_path):
    original = _full_record(1)
    store.save_and_wait(original)
    before = store.get(original.id).to_dict()
    changed = dict(original.to_dict(), prompt="a different prompt", origin="imported")
    src = _write_jsonl(tmp_path / "mixed.jsonl", [
        original.to_dict(),                                                    # exact duplicate
        {"id": original.id, "kind": "text", "prompt": original.prompt},       # states less, all of it agrees
        changed,                                                               # same id, other content
        changed,                                                               # ... twice in the file
        dict(original.to_dict(), note="another note"),                         # same id, other note
    ])
    result = import_history(store, src)
    assert (result.imported, result.duplicates, result.conflicts, result.broken) == (2, 3, 2, 0)
    assert "imported 2 (kept as new records: 2, ids conflicted), skipped 3 duplicates" in result.summary()
    assert store.get(original.id).to_dict() == before  # never overwritten
    kept = {r.prompt + "|" + r.note: r for r in store.iter_records() if r.id != original.id}
    assert set(kept) == {f"a different prompt|{original.note}", f"{original.prompt}|another note"}
    assert all(r.origin == "imported" and r.id != original.id for r in kept.values())
    again = import_history(store, src)  # the new ids come from the content: nothing is added twice
    assert (again.imported, again.duplicates, again.conflicts) == (0, 5, 0)
    assert store.count() == 3


def test_a_conflicting_zip_record_never_touches_the_image_of_the_record_there(store, tmp_path):
    def zip_with(path, prompt, image_bytes):
        record = {"id": "shared-id", "kind": "image", "prompt": prompt, "image_path": "images/shared-id.png"}
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("history.jsonl", json.dumps(record) + "\n")
            zf.writestr("images/shared-id.png", image_bytes)
        return path

    assert import_history(store, zip_with(tmp_path / "a.zip", "first", b"first image")).imported == 1
    first = store.get("shared-id")
    result = import_history(store, zip_with(tmp_path / "b.zip", "second", b"second image"))
    assert (result.imported, result.conflicts) == (1, 1)
    assert store.get("shared-id").to_dict() == first.to_dict()
    assert Path(first.image_path).read_bytes() == b"first image"
    second = next(r for r in store.iter_records() if r.id != "shared-id")
    assert second.prompt == "second" and Path(second.image_path).read_bytes() == b"second image"
    duplicate = import_history(store, zip_with(tmp_path / "c.zip", "first", b"first image"))
    assert (duplicate.imported, duplicate.duplicates) == (0, 1)
    assert sorted(p.name for p in (store.root / "images").iterdir()) == sorted(
        {Path(first.image_path).name, Path(second.image_path).name})  # no copy made for the duplicate


def test_progress_counts_records_read_of_the_total(store, tmp_path):
    lines = [json.dumps({"kind": "text", "prompt": f"p{i}"}) for i in range(250)] + ["", "broken", "{}", "  "]
    src = tmp_path / "many.jsonl"
    src.write_text("\n".join(lines) + "\n")
    reports = []
    result = import_history(store, src, progress=reports.append)
    assert (result.total, result.imported, result.broken) == (252, 250, 2)
    assert [(r.current, r.total) for r in reports] == [(100, 252), (200, 252), (252, 252)]
    assert reports[-1].fraction == 1.0 and reports[-1].message == "Read 252 of 252 records, imported 250"
    out = export_history(store, tmp_path / "all.parquet", fmt="parquet")
    other = _fresh_store(tmp_path, "other")
    try:
        reports.clear()
        import_history(other, out.path, progress=reports.append)
        assert reports[-1].message == "Read 250 of 250 records, imported 250"
    finally:
        other.close()


def test_a_reply_to_a_record_kept_under_a_new_id_points_at_the_new_id(store, tmp_path):
    original = GenerationRecord(kind="text", prompt="the question already in this history")
    store.save_and_wait(original)
    other_question = {"id": original.id, "kind": "text", "prompt": "another machine's question"}
    reply = {"id": "reply-1", "kind": "text", "prompt": "and a follow-up", "parent_id": original.id}
    src = _write_jsonl(tmp_path / "thread.jsonl", [other_question, reply])
    result = import_history(store, src)
    assert (result.imported, result.conflicts) == (2, 1)
    [kept] = [r for r in store.iter_records() if r.prompt == "another machine's question"]
    assert kept.id != original.id
    assert store.get("reply-1").parent_id == kept.id  # the thread stays whole, not grafted onto our record
    again = import_history(store, src)
    assert (again.imported, again.duplicates) == (0, 2) and store.count() == 3


def test_an_import_holds_no_record_it_has_already_saved(store):
    """Records of a long file are let go once saved: what is kept to spot duplicates is a short digest each."""
    import gc
    import weakref

    from desktop.core.history.imports import save_records

    made, alive = [], []

    def long_records():
        for i in range(350):
            if i == 300:  # three chunks saved
                gc.collect()
                alive.append(sum(ref() is not None for ref in made[:200]))
            record = make_record(f"prompt {i} " + "a long text " * 200)
            made.append(weakref.ref(record))
            yield record

    result = save_records(store, long_records())
    assert (result.imported, result.duplicates) == (350, 0)
    assert alive == [0]


def test_ids_already_in_the_history_are_looked_up_once_a_chunk(store, tmp_path, monkeypatch):
    ours = [make_record(f"ours {i}") for i in range(150)]
    store.save_many(ours)
    src = _write_jsonl(tmp_path / "theirs.jsonl",
                       [{"id": r.id, "kind": "text", "prompt": f"theirs {i}"} for i, r in enumerate(ours)])
    lookups = []
    real_has_ids = store.has_ids
    monkeypatch.setattr(store, "has_ids", lambda ids: lookups.append(len(ids)) or real_has_ids(ids))
    result = import_history(store, src)
    assert (result.imported, result.conflicts, result.duplicates) == (150, 150, 0)
    assert lookups == [100, 100, 50, 50]  # per chunk: the file's ids, then the new ids of the conflicts
    lookups.clear()
    again = import_history(store, src)
    assert (again.imported, again.duplicates) == (0, 150)
    assert len(lookups) == 4 and store.count() == 300


def test_a_later_line_that_states_part_of_an_earlier_one_is_a_duplicate(store, tmp_path):
    full = _full_record(1).to_dict()  # tags ["b", "a"]
    src = _write_jsonl(tmp_path / "repeats.jsonl", [
        full,
        {"id": full["id"], "kind": "text", "prompt": full["prompt"], "tags": ["a", "b"]},  # agrees, says less
        {"id": full["id"], "kind": "text", "prompt": full["prompt"], "seed": 1},           # disagrees
        dict(full, note="another note"),                                                     # disagrees
    ])
    result = import_history(store, src)
    assert (result.imported, result.duplicates, result.conflicts) == (3, 1, 2)
