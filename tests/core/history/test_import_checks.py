"""Import checks every field: bad lines and rows are skipped and counted, the rest is imported.

Also the safety net (a record that would fail in the writer is counted as
broken, never sinking the others) and the one failure that must stop an
import: a full disk, reported as such.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import datetime, timezone

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from desktop.core.history.export import export_history
from desktop.core.history.fields import record_from_dict
from desktop.core.history.imports import import_history, save_records
from desktop.core.history.store import HistoryStore
from desktop.core.records import GenerationRecord
from tests.conftest import REPO_ROOT


def _jsonl(path, objects_or_lines):
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in objects_or_lines))
    return path


def test_bad_values_no_longer_stop_the_import_every_good_line_is_saved(store, tmp_path):
    # The reviewer's file: a bad seed, a plain-text line, then 250 good lines (more than two chunks).
    good = [{"kind": "text", "prompt": f"good line {i}"} for i in range(250)]
    src = _jsonl(tmp_path / "badseed.jsonl",
                 [{"kind": "text", "prompt": "bad seed line", "seed": "abc"}, "this line is broken", *good])
    result = import_history(store, src)
    assert (result.imported, result.duplicates, result.broken) == (250, 0, 2)
    assert result.problems == ["line 1: 'seed' must be a whole number, not 'abc'",
                               "line 2: not valid JSON (Expecting value: line 1 column 1 (char 0))"]
    assert store.count() == 250
    assert "bad seed line" not in {r.prompt for r in store.iter_records()}


BAD_VALUES = [
    ({"seed": "abc"}, "'seed' must be a whole number"),
    ({"seed": 1.5}, "'seed' must be a whole number"),
    ({"seed": 2 ** 70}, "'seed' must be between"),
    ({"seed": True}, "'seed' must be a whole number"),
    ({"rating": 9}, "'rating' must be between 0 and 5"),
    ({"rating": "lots"}, "'rating' must be a whole number"),
    ({"created_at": "yesterday"}, "'created_at' must be an ISO 8601 date-time"),
    ({"created_at": 1714557600}, "'created_at' must be an ISO 8601 date-time string, not int"),
    ({"created_at": "0001-01-01T00:00:00+05:00"}, "'created_at' 0001-01-01T00:00:00+05:00 is out of range"),
    ({"tags": "a, b"}, "'tags' must be a list of strings"),
    ({"tags": ["ok", {"no": 1}]}, "'tags[1]' must be a string"),
    ({"model": {"size": -3}}, "'model.size' must be between 0"),
    ({"model": {"files": "one.gguf"}}, "'model.files' must be a list of strings"),
    ({"model": [1]}, "'model' must be a JSON object"),
    ({"parameters": [1, 2]}, "'parameters' must be a JSON object"),
    ({"timings": "fast"}, "'timings' must be a JSON object"),
    ({"session_id": ["s"]}, "'session_id' must be a string"),
    ({"output_text": "\ud800"}, "'output_text' holds characters that are not valid Unicode"),
    ({"id": ""}, "'id' must be a non-empty string"),
    ({"id": 17}, "'id' must be a non-empty string"),
    ({"kind": "video"}, "'kind' must be 'text' or 'image', not 'video'"),
    ({"prompt": None}, "'prompt' must be a string"),
]


@pytest.mark.parametrize("bad, message", BAD_VALUES, ids=[m.split(" must")[0] for _, m in BAD_VALUES])
def test_each_bad_field_is_named_and_only_its_line_is_skipped(store, tmp_path, bad, message):
    src = _jsonl(tmp_path / "one-bad.jsonl", [{"kind": "text", "prompt": "before"},
                                              {"kind": "text", "prompt": "the bad one", **bad},
                                              {"kind": "text", "prompt": "after"}])
    result = import_history(store, src)
    assert (result.imported, result.broken) == (2, 1)
    assert result.problems[0].startswith("line 2: " + message), result.problems
    assert sorted(r.prompt for r in store.iter_records()) == ["after", "before"]


def test_unambiguous_values_are_coerced():
    record = record_from_dict({"kind": "text", "prompt": "p", "seed": "42", "rating": 3.0, "session_id": 7,
                               "created_at": "2026-05-01T12:00:00Z", "model": "tiny-llama",
                               "tags": ["a"], "unknown_field": {"ignored": True}, "note": None})
    assert (record.seed, record.rating, record.session_id) == (42, 3, "7")
    assert record.created_at == datetime(2026, 5, 1, 12, tzinfo=timezone.utc)
    assert record.model.name == "tiny-llama"
    naive = record_from_dict({"kind": "image", "prompt": "p", "created_at": "2026-05-01T12:00:00"})
    assert naive.created_at.tzinfo == timezone.utc


def test_the_report_keeps_a_few_examples_and_counts_the_rest(store, tmp_path):
    src = _jsonl(tmp_path / "many-bad.jsonl", [f"garbage {i}" for i in range(12)] + [{"kind": "text", "prompt": "ok"}])
    result = import_history(store, src)
    assert (result.imported, result.broken) == (1, 12)
    lines = result.problem_lines()
    assert [x.split(":")[0] for x in lines[:-1]] == [f"line {i}" for i in range(1, 6)]
    assert lines[-1] == "... and 7 more"
    assert result.summary() == "imported 1, skipped 0 duplicates, 12 broken lines"


def test_records_that_would_fail_in_the_writer_are_counted_not_fatal(store):
    """The safety net: records built without record_from_dict (a script, a future field) that Arrow rejects."""
    reported = []
    store.add_error_listener(reported.append)
    records = [GenerationRecord(kind="text", prompt=f"fine {i}") for i in range(150)]
    records.insert(3, GenerationRecord(kind="text", prompt="bad seed", seed="abc"))
    records.insert(120, GenerationRecord(kind="text", prompt="bad tags", tags=[1, 2]))
    result = save_records(store, records)
    assert (result.imported, result.broken) == (150, 2)
    assert result.problems[0].startswith("record 4: cannot be stored (")
    assert result.problems[1].startswith("record 121: cannot be stored (")
    assert store.count() == 150
    assert reported == []  # nothing reached the writer, so no "could not be saved" alarm either


def _parquet(path, columns: dict):
    pq.write_table(pa.table(columns), path)
    return path


def test_minimal_parquet_round_trips_like_minimal_jsonl(store, tmp_path):
    src = _parquet(tmp_path / "min.parquet", {"kind": ["text", "image"], "prompt": ["minimal one", "a cat"]})
    result = import_history(store, src)
    assert (result.imported, result.broken) == (2, 0)
    back = {r.prompt: r for r in store.iter_records()}
    assert set(back) == {"minimal one", "a cat"}
    assert back["a cat"].kind == "image" and back["a cat"].origin == "imported" and back["a cat"].seed is None
    # The same minimal records as JSONL get the same content ids: nothing is added twice.
    jsonl = _jsonl(tmp_path / "min.jsonl", [{"kind": "text", "prompt": "minimal one"},
                                            {"kind": "image", "prompt": "a cat"}])
    assert (import_history(store, jsonl).duplicates, import_history(store, src).duplicates) == (2, 2)
    for fmt in ("jsonl", "parquet"):
        out = export_history(store, tmp_path / f"again.{fmt}", fmt=fmt)
        other = HistoryStore(tmp_path / f"other-{fmt}", embedder=None)
        try:
            assert import_history(other, out.path).imported == 2
            assert ({r.id: r.to_dict() for r in other.iter_records()}
                    == {r.id: r.to_dict() for r in store.iter_records()})
        finally:
            other.close()


def test_minimal_jsonl_round_trips(store, tmp_path):
    src = _jsonl(tmp_path / "min.jsonl", [{"kind": "text", "prompt": "only a prompt"}])
    assert import_history(store, src).imported == 1
    out = export_history(store, tmp_path / "out.jsonl")
    exported = json.loads(out.path.read_text())
    assert exported["prompt"] == "only a prompt" and exported["seed"] is None and exported["rating"] == 0
    other = HistoryStore(tmp_path / "other", embedder=None)
    try:
        assert import_history(other, out.path).imported == 1
        assert [r.to_dict() for r in other.iter_records()] == [r.to_dict() for r in store.iter_records()]
    finally:
        other.close()


def test_broken_parquet_rows_are_skipped_and_counted(store, tmp_path):
    src = _parquet(tmp_path / "rows.parquet", {
        "kind": ["text", "video", "text", "text", "text", "image"],
        "prompt": ["ok 1", "bad kind", None, "bad seed", "bad params", "ok 2"],
        "seed": ["5", None, None, "abc", None, None],  # a string column: coerced where it can be
        "parameters_json": [None, None, None, None, "{not json", '{"steps": 4}'],
    })
    result = import_history(store, src)
    assert (result.imported, result.broken) == (2, 4)
    assert [p.split(":")[0] for p in result.problems] == ["row 2", "row 3", "row 4", "row 5"]
    assert "'parameters_json' is not valid JSON" in result.problems[3]
    back = {r.prompt: r for r in store.iter_records()}
    assert back["ok 1"].seed == 5 and back["ok 2"].parameters == {"steps": 4}


def test_a_parquet_that_cannot_be_read_is_a_clear_error(store, tmp_path):
    from desktop.core.history.errors import ImportFormatError

    fake = tmp_path / "fake.parquet"
    fake.write_bytes(b"PAR1" + b"\0" * 64)
    with pytest.raises(ImportFormatError, match="not a readable Parquet file"):
        import_history(store, fake)


FULL_DISK_IMPORT = textwrap.dedent("""
    import base64, json, os, resource, signal, sys
    from desktop.core.history.imports import import_history
    from desktop.core.history.store import HistoryStore
    root, first, second = sys.argv[1:4]
    store = HistoryStore(root, embedder=None)
    print("FIRST", import_history(store, first).imported)
    # From here no file may grow past 256 KiB: the big record's write fails like a full disk.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, resource.RLIM_INFINITY))
    try:
        result = import_history(store, second)
        print("NO ERROR", result)
    except Exception as exc:
        print("ERROR", type(exc).__name__, exc)
    store.close()
""")


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="uses RLIMIT_FSIZE (POSIX only)")
def test_a_full_disk_during_import_is_reported_as_such_and_keeps_what_was_saved(tmp_path):
    import base64
    import os

    first = _jsonl(tmp_path / "first.jsonl", [{"kind": "text", "prompt": f"kept {i}"} for i in range(5)])
    noise = base64.b64encode(os.urandom(2 * 1024 * 1024)).decode()  # incompressible
    second = _jsonl(tmp_path / "second.jsonl", [{"kind": "text", "prompt": "huge", "output_text": noise}])
    root = tmp_path / "history"
    proc = subprocess.run([sys.executable, "-c", FULL_DISK_IMPORT, str(root), str(first), str(second)],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    out = proc.stdout + proc.stderr
    assert "FIRST 5" in proc.stdout, out
    assert "ERROR HistoryWriteError The history could not be saved: the disk is full." in proc.stdout, out
    assert "The import stopped after 0 records." in proc.stdout, out
    store = HistoryStore(root, embedder=None)
    try:
        assert sorted(store.scan(["prompt"])["prompt"].to_pylist()) == [f"kept {i}" for i in range(5)]
    finally:
        store.close()
