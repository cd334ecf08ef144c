"""The history store: round trips, the single writer under concurrency, upkeep."""

from __future__ import annotations

import threading
from datetime import datetime, timezone

import pytest

from desktop.core.history.errors import HistoryError, HistoryWriteError, RecordNotFound
from desktop.core.history.search import SearchQuery
from desktop.core.history.store import HistoryStore
from tests.support.history import make_record


def test_saved_record_round_trips_every_field(store):
    record = make_record("write a haiku", negative_prompt="", system_prompt="be brief", parent_id="p0",
                         rating=3, tags=["poem"], note="keep", created_at=datetime(2026, 3, 1, tzinfo=timezone.utc))
    store.save_and_wait(record)
    assert store.get(record.id).to_dict() == record.to_dict()


def test_get_unknown_id_names_it(store):
    with pytest.raises(RecordNotFound, match="nope"):
        store.get("nope")


def test_four_threads_of_250_saves_make_exactly_1000_rows(store):
    errors: list[BaseException] = []

    def worker(t: int) -> None:
        futures = [store.save(make_record(f"thread {t} save {i}")) for i in range(250)]
        for f in futures:
            try:
                f.result(60)
            except BaseException as exc:
                errors.append(exc)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.count() == 1000
    ids = store.scan(["id"])["id"].to_pylist()
    assert len(set(ids)) == 1000
    # one writer batches: far fewer versions than saves
    assert store.table.version < 1000


@pytest.mark.slow
def test_idle_upkeep_compacts_many_small_appends(store):
    for i in range(40):
        store.save_and_wait(make_record(f"one by one {i}"))
    data = store.root / "lancedb" / "generations_v2.lance" / "data"
    before = len(list(data.iterdir()))
    store.maintain_now()
    assert store.count() == 40
    assert len(store.table.to_lance().get_fragments()) == 1
    assert before >= 40
    assert "search_text_idx" in store.stats()["indices"]


def test_update_rating_tags_note(store):
    record = make_record("rate me")
    store.save_and_wait(record)
    store.update(record.id, rating=5, tags=[" best ", "poem", "best"], note="a note with zebra")
    again = store.get(record.id)
    assert (again.rating, again.tags, again.note) == (5, ["best", "poem"], "a note with zebra")
    with pytest.raises(HistoryError, match="between 0 and 5"):
        store.update(record.id, rating=9)


def test_rating_a_record_without_tags_and_clearing_tags(store):
    untagged, tagged = make_record("no tags here"), make_record("tagged", tags=["old"])
    store.save_many([untagged, tagged])
    store.update(untagged.id, rating=4)  # SQL updates cannot write an empty tag list
    store.update(tagged.id, tags=[])
    assert (store.get(untagged.id).rating, store.get(untagged.id).tags) == (4, [])
    assert store.get(tagged.id).tags == []
    assert store.search(SearchQuery("tagged", mode="keyword")).hits[0].record.id == tagged.id


def test_close_commits_queued_saves_and_refuses_later_ones(genlab_home):
    s = HistoryStore(embedder=None)
    futures = [s.save(make_record(f"queued {i}")) for i in range(50)]
    s.close()
    assert all(f.done() and f.exception() is None for f in futures)
    late = s.save(make_record("too late"))
    with pytest.raises(HistoryWriteError, match="closed"):
        late.result(1)
    reopened = HistoryStore(embedder=None)
    try:
        assert reopened.count() == 50
    finally:
        reopened.close()


def test_data_root_is_private(store):
    import os
    import stat

    if os.name != "posix":
        pytest.skip("permissions are POSIX-only")
    mode = stat.S_IMODE(store.root.stat().st_mode)
    assert mode & 0o077 == 0


def test_open_history_uses_settings_embedder_without_loading_it(genlab_home):
    from desktop.core.history import open_history

    s = open_history(start_embedder=False)
    try:
        assert s.embedder is not None and s.embedder.name == "all-MiniLM-L6-v2"
        assert not s.embedder.ready
        s.save_and_wait(make_record("before the embedder"))
        assert s.unembedded == 1
    finally:
        s.close()
