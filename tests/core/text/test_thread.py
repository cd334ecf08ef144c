"""Chat threads as trees: branches from regenerate and edit are kept and selectable."""

from __future__ import annotations

from desktop.core.text.thread import ChatThread


def build():
    thread = ChatThread()
    u1 = thread.add("user", "hello there\nsecond line", None)
    a1 = thread.add("assistant", "hi", u1.id)
    u2 = thread.add("user", "how are you", a1.id)
    a2 = thread.add("assistant", "fine", u2.id)
    return thread, u1, a1, u2, a2


def test_path_and_messages():
    thread, u1, a1, u2, a2 = build()
    assert [t.id for t in thread.path()] == [u1.id, a1.id, u2.id, a2.id]
    assert thread.title == "hello there"
    assert [(m.role, m.content) for m in thread.messages_before(u2.id)] == [("user", u1.content), ("assistant", "hi")]
    assert len(thread.messages_before(None)) == 4


def test_regenerate_branch_is_selected_and_old_kept():
    thread, u1, a1, u2, a2 = build()
    a2b = thread.add("assistant", "great", u2.id)
    assert thread.last.id == a2b.id and thread.siblings(a2b.id) == (2, 2)
    thread.select_sibling(a2b.id, -1)
    assert thread.last.id == a2.id
    thread.select_sibling(a2.id, -5)  # clamped
    assert thread.last.id == a2.id


def test_edit_branch_changes_everything_below():
    thread, u1, a1, u2, a2 = build()
    u1b = thread.add("user", "edited", None)
    assert [t.id for t in thread.path()] == [u1b.id]
    thread.select_sibling(u1b.id, -1)
    assert [t.id for t in thread.path()] == [u1.id, a1.id, u2.id, a2.id]


def test_delete_removes_subtree_only():
    thread, u1, a1, u2, a2 = build()
    a2b = thread.add("assistant", "alt", u2.id)
    assert thread.delete(u2.id) == 3
    assert [t.id for t in thread.path()] == [u1.id, a1.id]
    assert a2b.id not in thread.turns and a2.id not in thread.turns


def test_previous_reply_record():
    thread, u1, a1, u2, a2 = build()
    a1.record_id = "rec-1"
    assert thread.previous_reply_record(u2.id) == "rec-1"
    assert thread.previous_reply_record(u1.id) == ""
