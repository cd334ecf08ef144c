"""Export to JSONL / zip / Parquet and import back: round trips, duplicates, broken lines."""

from __future__ import annotations

import json
import zipfile

import pytest

from desktop.core import paths
from desktop.core.history.errors import ImportFormatError
from desktop.core.history.export import export_history, import_history
from desktop.core.history.store import HistoryStore
from desktop.core.jobs import CancelToken, JobCancelled
from tests.core.history.conftest import make_record


def _comparable(record):
    data = record.to_dict()
    data.pop("origin")  # imported records are marked as such
    return data


def _fresh_store(tmp_path, name):
    return HistoryStore(tmp_path / name, embedder=None)


@pytest.mark.parametrize("fmt, suffix", [("jsonl", ".jsonl"), ("parquet", ".parquet")])
def test_round_trip_is_equal(store, tmp_path, fmt, suffix):
    records = [make_record(f"prompt {i} ünïcode ✓", rating=i % 6, tags=["t"] if i % 2 else [],
                           parameters={"temperature": 0.1 * i, "nested": {"a": [1, 2]}}, seed=None if i == 3 else i)
               for i in range(7)]
    store.save_many(records)
    out = export_history(store, tmp_path / f"out{suffix}", fmt=fmt)
    assert out.records == 7
    other = _fresh_store(tmp_path, "other")
    try:
        result = import_history(other, out.path)
        assert (result.imported, result.duplicates, result.broken) == (7, 0, 0)
        back = {r.id: r for r in other.iter_records()}
        assert {i: _comparable(r) for i, r in back.items()} == {r.id: _comparable(r) for r in records}
        assert {r.origin for r in back.values()} == {"imported"}
        again = import_history(other, out.path)
        assert (again.imported, again.duplicates) == (0, 7)
        assert other.count() == 7
    finally:
        other.close()


def test_zip_export_carries_images(store, tmp_path):
    image = paths.outputs_dir() / "a.png"
    image.parent.mkdir(parents=True)
    image.write_bytes(b"\x89PNG image bytes")
    thumb = paths.outputs_dir() / "a.thumb.png"
    thumb.write_bytes(b"\x89PNG thumb bytes")
    record = make_record("an image", kind="image", image_path=str(image), thumbnail_path=str(thumb))
    store.save_many([record, make_record("a text")])
    out = export_history(store, tmp_path / "out.zip", fmt="jsonl", images=True)
    assert (out.records, out.images) == (2, 2)
    with zipfile.ZipFile(out.path) as zf:
        lines = [json.loads(x) for x in zf.read("history.jsonl").decode().splitlines()]
        exported = next(x for x in lines if x["kind"] == "image")
        assert exported["image_path"] == f"images/{record.id}.png"  # relative inside the zip
        assert zf.read(exported["image_path"]) == b"\x89PNG image bytes"
    other = _fresh_store(tmp_path, "other")
    try:
        assert import_history(other, out.path).imported == 2
        back = other.get(record.id)
        assert back.image_path != str(image)
        assert open(back.image_path, "rb").read() == b"\x89PNG image bytes"
        assert open(back.thumbnail_path, "rb").read() == b"\x89PNG thumb bytes"
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
