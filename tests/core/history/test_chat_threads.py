"""Chat threads rebuilt from history records: branches, continuations, names and pins."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from desktop.core.history.chat_replay import read_threads_job, thread_from_records
from desktop.core.history.thread_labels import ThreadLabels
from desktop.core.jobs import CancelToken
from desktop.core.records import GenerationRecord

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def rec(prompt, output, parent="", minutes=0, session="s1", **parameters):
    return GenerationRecord(kind="text", prompt=prompt, output_text=output, session_id=session, parent_id=parent,
                            created_at=T0 + timedelta(minutes=minutes), parameters=parameters)


def test_branches_edits_and_continuations_come_back():
    a = rec("hi", "hello", minutes=0)
    b = rec("how are you", "fine", parent=a.id, minutes=1)
    b2 = rec("how are you", "great", parent=a.id, minutes=2)  # regenerated: a sibling reply
    c = rec("what now", "cut sho", parent=a.id, minutes=3, finish_reason="length")  # an edited message
    c_more = rec("what now", "cut short no more", parent=a.id, minutes=4, continues=c.id)
    saved = thread_from_records("s1", [c_more, b, a, c, b2])  # any order
    thread = saved.thread
    assert thread.id == "s1" and saved.first_at == a.created_at and saved.last_at == c_more.created_at
    path = thread.path()
    assert [t.content for t in path] == ["hi", "hello", "what now", "cut short no more"]  # the newest branch
    assert path[3].record_id == c_more.id and thread.siblings(path[2].id) == (2, 2)
    thread.select_sibling(path[2].id, -1)
    path = thread.path()
    assert path[2].content == "how are you" and thread.siblings(path[3].id) == (2, 2)
    assert path[3].content == "great"


def test_a_missing_parent_starts_the_thread_at_the_top():
    saved = thread_from_records("s1", [rec("later", "reply", parent="gone")])
    assert [t.content for t in saved.thread.path()] == ["later", "reply"]


def test_read_threads_newest_first(store):
    store.save_many([rec("old", "x", minutes=0, session="a"), rec("new", "y", minutes=5, session="b"),
                     rec("mid", "z", minutes=3, session="c"), rec("no session", "w", minutes=9, session=""),
                     GenerationRecord(kind="image", prompt="img", session_id="d", created_at=T0)], timeout=30)
    saved = read_threads_job(store, cancel=CancelToken(), progress=lambda p: None)
    assert [s.thread.id for s in saved] == ["b", "c", "a"]
    assert read_threads_job(store, 2, cancel=CancelToken(), progress=lambda p: None)[-1].thread.id == "c"


def test_labels_are_written_atomically_and_survive_a_damaged_file(genlab_home):
    labels = ThreadLabels()
    labels.change("t1", name="  Trip plans ")
    labels.change("t2", pinned=True)
    again = ThreadLabels()
    assert again.get("t1").name == "Trip plans" and again.get("t2").pinned and not again.get("t3").pinned
    again.forget(["t1"])
    assert set(json.loads(labels.path.read_text())["threads"]) == {"t2"}
    assert [p.name for p in labels.path.parent.iterdir() if p.name.startswith(".chat_threads")] == []
    labels.path.write_text("{not json")
    assert ThreadLabels().known() == set()  # names lost, nothing raised
