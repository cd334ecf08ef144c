"""Every file a history commit creates is flushed to the disk, data before manifests."""

from __future__ import annotations

from pathlib import Path

from desktop.core.history import durable
from desktop.core.history.search import SearchQuery
from tests.support.history import make_record


def _record_flushes(monkeypatch) -> list[tuple[str, bool]]:
    flushed: list[tuple[str, bool]] = []
    real = durable.fsync_path

    def recording(path, directory: bool = False) -> None:
        real(path, directory)  # the real fsync runs; we only note what was flushed
        flushed.append((str(path), directory))

    monkeypatch.setattr(durable, "fsync_path", recording)
    return flushed


def test_a_save_is_flushed_before_it_is_reported(store, monkeypatch):
    store.save_and_wait(make_record("warm up"))
    flushed = _record_flushes(monkeypatch)
    before = {str(p) for p in store.table_dir.rglob("*") if p.is_file()}

    store.save_and_wait(make_record("this one must survive a power cut"))

    created = {str(p) for p in store.table_dir.rglob("*") if p.is_file()} - before
    files = [path for path, is_dir in flushed if not is_dir]
    assert created and created <= set(files)  # nothing the commit left on disk was skipped
    kinds = [Path(p).parent.name for p in files]
    assert "data" in kinds and "_versions" in kinds
    assert max(i for i, k in enumerate(kinds) if k != "_versions") < min(
        i for i, k in enumerate(kinds) if k == "_versions")  # the manifest goes last
    folders = {path for path, is_dir in flushed if is_dir}
    assert str(store.table_dir / "data") in folders and str(store.table_dir / "_versions") in folders


def test_updates_deletes_and_upkeep_are_flushed_too(store, monkeypatch):
    record = make_record("rate, then delete me")
    store.save_and_wait(record)
    flushed = _record_flushes(monkeypatch)
    store.update(record.id, rating=3)
    assert any(Path(p).parent.name == "_versions" for p, _ in flushed)
    flushed.clear()
    store.maintain_now()
    assert flushed
    flushed.clear()
    assert store.delete([record.id]) == 1
    assert any(Path(p).parent.name == "_versions" for p, _ in flushed)
    assert store.search(SearchQuery("delete", mode="keyword")).hits == []
