"""The store tells its saved listeners about committed records, once searchable; updates and deletes are not saves."""

from __future__ import annotations

import threading

from desktop.core.history.search import SearchQuery
from desktop.core.records import GenerationRecord


def test_saved_listeners_hear_each_commit_after_it_is_searchable(store):
    heard: list[list[str]] = []
    found: list[int] = []
    done = threading.Event()

    def listener(records) -> None:
        heard.append([r.prompt for r in records])
        found.append(len(store.search(SearchQuery("", limit=10)).hits))  # the new record is already listed
        done.set()

    store.add_saved_listener(listener)
    store.save_and_wait(GenerationRecord(kind="text", prompt="first"))
    assert done.wait(10)
    assert heard == [["first"]] and found == [1]

    record = GenerationRecord(kind="text", prompt="second")
    store.save_and_wait(record)
    store.update(record.id, rating=3)
    store.delete([record.id])
    store.flush()
    assert heard == [["first"], ["second"]]


def test_a_failing_listener_does_not_stop_the_writer(store):
    store.add_saved_listener(lambda records: 1 / 0)
    store.save_and_wait(GenerationRecord(kind="text", prompt="kept"))
    store.save_and_wait(GenerationRecord(kind="text", prompt="kept too"))
    assert store.count() == 2
