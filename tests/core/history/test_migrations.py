"""Schema versions: a first-schema database opens; a newer one is refused untouched."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from desktop.core.history.errors import HistoryVersionError
from desktop.core.history.schema import SCHEMA_VERSION
from desktop.core.history.search import SearchQuery
from desktop.core.history.store import HistoryStore

FIXTURE = Path(__file__).parent / "data" / "schema1"


@pytest.fixture
def schema1_root(tmp_path) -> Path:
    root = tmp_path / "history"
    shutil.copytree(FIXTURE, root)
    return root


def test_schema1_database_opens_and_upgrades(schema1_root):
    store = HistoryStore(schema1_root, embedder=None)
    try:
        assert json.loads((schema1_root / "meta.json").read_text())["schema_version"] == SCHEMA_VERSION
        assert store.count() == 4
        old = store.get("v1-0")
        assert old.prompt == "schema one prompt number 0 about lighthouses"
        assert old.parameters == {"temperature": 0.7}
        assert (old.seed, old.rating, old.tags, old.model.file) == (42, 0, ["old"], "tiny.gguf")
        assert store.get("v1-img").negative_prompt == "blurry"
        # vectors written by schema 1 are kept; rows without one await the backfill
        assert store.vector_of("v1-1") is not None
        assert store.unembedded == 2
        hits = store.search(SearchQuery("lighthouses", mode="keyword")).hits
        assert {h.record.id for h in hits} == {"v1-0", "v1-1", "v1-2", "v1-img"}  # stemmed: lighthouse(s)
        assert "generations" not in store._table_names()
    finally:
        store.close()
    again = HistoryStore(schema1_root, embedder=None)  # opening twice is a no-op
    try:
        assert again.count() == 4
    finally:
        again.close()


def test_newer_database_is_refused_and_left_alone(schema1_root):
    meta = schema1_root / "meta.json"
    meta.write_text(json.dumps({"schema_version": SCHEMA_VERSION + 1, "table": "generations_v9"}))
    before = sorted(p.relative_to(schema1_root) for p in schema1_root.rglob("*"))
    with pytest.raises(HistoryVersionError, match="newer GenLab") as info:
        HistoryStore(schema1_root, embedder=None)
    assert "Update GenLab" in str(info.value)
    assert sorted(p.relative_to(schema1_root) for p in schema1_root.rglob("*")) == before


def test_damaged_meta_file_is_a_clear_error(schema1_root):
    (schema1_root / "meta.json").write_text("{not json")
    with pytest.raises(HistoryVersionError, match="unreadable"):
        HistoryStore(schema1_root, embedder=None)


def test_a_newer_history_is_refused_before_anything_is_created_in_it(tmp_path):
    root = tmp_path / "history"
    root.mkdir()
    (root / "meta.json").write_text(json.dumps({"schema_version": SCHEMA_VERSION + 1}))
    with pytest.raises(HistoryVersionError, match="newer GenLab"):
        HistoryStore(root, embedder=None)
    assert [p.name for p in root.iterdir()] == ["meta.json"]
