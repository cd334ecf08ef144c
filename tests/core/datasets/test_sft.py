"""The SFT export on a real history store, read back with pyarrow's JSON reader."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.json as pj
import pytest

from desktop.core.datasets.errors import DatasetError, NothingToExport
from desktop.core.datasets.sft import SftSelection, export_sft
from desktop.core.history.errors import InvalidFilter
from desktop.core.history.schema import VECTOR_DIM
from tests.support.history import make_record


def _vector(seed: int, nudge: float = 0.0) -> list[float]:
    v = np.random.default_rng(seed).normal(size=VECTOR_DIM)
    if nudge:
        v = v + nudge * np.random.default_rng(seed + 1000).normal(size=VECTOR_DIM)
    return list(v / np.linalg.norm(v))


@pytest.fixture
def rated(store):
    first = make_record("Name a colour", output_text="Blue.", rating=4, system_prompt="Be brief.",
                        session_id="t1", tags=["colours"])
    second = make_record("Another one?", output_text="Green.", rating=5, system_prompt="Be brief.",
                         session_id="t1", parent_id=first.id)
    unrated = make_record("Unrated question", output_text="whatever", rating=0)
    imported = make_record("What is 2+2?", output_text="4", rating=3, origin="imported")
    repeat = make_record("  what IS 2+2? ", output_text="4", rating=3, origin="generated")  # exact duplicate
    image = make_record("a lighthouse", kind="image", output_text="", rating=5)
    records = [first, second, unrated, imported, repeat, image]
    for i, r in enumerate(records):  # oldest first, in this order
        r.created_at = r.created_at.replace(year=2026, month=1, day=1 + i)
    store.save_many(records)
    return records


def _read(path):
    table = pj.read_json(path)
    return table, table.to_pylist()


def test_rows_are_chat_messages_with_earlier_turns_and_stable_types(store, rated, tmp_path):
    result = export_sft(store, tmp_path / "sft.jsonl", SftSelection())
    table, rows = _read(result.path)
    assert (result.rows, result.matched, result.dropped.exact) == (3, 4, 1)
    assert table.schema.field("messages").type == pa.list_(pa.struct([("role", pa.string()),
                                                                     ("content", pa.string())]))
    for name, kind in [("origin", pa.string()), ("record_id", pa.string()), ("rating", pa.int64())]:
        assert table.schema.field(name).type == kind
    assert [r["record_id"] for r in rows] == [rated[0].id, rated[1].id, rated[3].id]
    assert rows[1]["messages"] == [
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "Name a colour"},
        {"role": "assistant", "content": "Blue."}, {"role": "user", "content": "Another one?"},
        {"role": "assistant", "content": "Green."}]
    assert [r["origin"] for r in rows] == ["generated", "generated", "imported"]
    assert result.incomplete == 0


def test_filters_rating_model_tag_origin_and_search(store, rated, tmp_path):
    def ids(**kw):
        filters = {k: v for k, v in kw.items() if k != "search"}
        result = export_sft(store, tmp_path / "f.jsonl", SftSelection(filters=filters, search=kw.get("search", ""),
                                                                      mode="keyword"))
        return [r["record_id"] for r in _read(result.path)[1]]

    assert ids(rating=5) == [rated[1].id]
    assert ids(tag="colours") == [rated[0].id]
    assert ids(origin="imported") == [rated[3].id]
    assert ids(origin="generated", rating=3) == [rated[0].id, rated[1].id, rated[4].id]
    assert ids(rating=0, search="unrated") == [rated[2].id]
    assert ids(model="tiny", rating=4) == [rated[0].id, rated[1].id]


def test_a_filter_matching_nothing_says_so_and_leaves_no_file(store, rated, tmp_path):
    out = tmp_path / "none.jsonl"
    with pytest.raises(NothingToExport, match="model=nobody"):
        export_sft(store, out, SftSelection(filters={"model": "nobody"}))
    with pytest.raises(NothingToExport, match="matches the search"):
        export_sft(store, out, SftSelection(search="zebra", mode="keyword"))
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_filter_field_names_the_known_ones(store, rated, tmp_path):
    with pytest.raises(InvalidFilter, match="no history filter named 'colour'.*Known filters"):
        export_sft(store, tmp_path / "x.jsonl", SftSelection(filters={"colour": "blue"}))
    with pytest.raises(DatasetError, match="text records, not 'image'"):
        export_sft(store, tmp_path / "x.jsonl", SftSelection(filters={"kind": "image"}))
    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_path_is_a_clear_error(store, rated, read_only_folder):
    with pytest.raises(DatasetError, match="Cannot write the dataset"):
        export_sft(store, read_only_folder / "sft.jsonl", SftSelection())
    with pytest.raises(DatasetError, match="is a folder"):
        export_sft(store, read_only_folder, SftSelection())


def test_near_duplicates_use_the_stored_vectors(store, tmp_path):
    records = [make_record(f"question {i}", output_text=f"answer {i}", rating=4) for i in range(4)]
    for i, r in enumerate(records):
        r.created_at = r.created_at.replace(year=2026, month=2, day=1 + i)
    # 1 is a close neighbour of 0; 2 and 3 are unrelated
    vectors = [_vector(0), _vector(0, nudge=0.05), _vector(2), _vector(3)]
    store.save_embedded(records, vectors)
    store.flush()

    def no_embedding(texts):
        raise AssertionError("every record has a vector: nothing should be embedded")

    near = export_sft(store, tmp_path / "near.jsonl", SftSelection(near_duplicates=0.9), embed=no_embedding)
    assert (near.rows, near.dropped.exact, near.dropped.near) == (3, 0, 1)
    assert [r["record_id"] for r in _read(near.path)[1]] == [records[0].id, records[2].id, records[3].id]
    everything = export_sft(store, tmp_path / "all.jsonl", SftSelection())
    assert everything.rows == 4
    with pytest.raises(DatasetError, match="threshold"):
        export_sft(store, tmp_path / "bad.jsonl", SftSelection(near_duplicates=1.5))


def test_records_without_a_vector_are_counted_when_nothing_embeds_them(store, rated, tmp_path):
    result = export_sft(store, tmp_path / "n.jsonl", SftSelection(near_duplicates=0.95))
    assert result.rows == 3 and result.dropped.unembedded == 3
    assert "not checked for near duplicates" in " ".join(result.notes())
