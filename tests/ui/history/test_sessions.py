"""Sessions by day in the History workspace, on a real store: session rows, the session filter, deleting a session."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from PySide6.QtCore import Qt

from desktop.core.history.store import HistoryStore
from desktop.core.records import GenerationRecord, ModelIdentity
from desktop.core.services import Services
from desktop.ui.history.results import HIT_ROLE, SESSION_ROLE
from desktop.ui.history.view import HistoryWorkspace

TIMEOUT = 15000
CHAT, BATCH = "3f2a9c41d0b84e6f9a1c2b3d4e5f6a7b", "9c1b77e0aa2d4c0f8e6b5a4c3d2e1f00"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 5, day, hour, minute, tzinfo=timezone.utc)  # midday UTC: one local day almost anywhere


def text(prompt: str, when: datetime, session: str = "") -> GenerationRecord:
    return GenerationRecord(kind="text", prompt=prompt, output_text="ok", session_id=session, created_at=when,
                            model=ModelIdentity(name="tiny-llama"))


def image(prompt: str, when: datetime) -> GenerationRecord:
    return GenerationRecord(kind="image", prompt=prompt, image_path="/nonexistent/x.png", session_id=BATCH,
                            created_at=when, model=ModelIdentity(name="tiny-sd"))


@pytest.fixture
def store(genlab_home):
    s = Services()
    store = s.provide_history_store(HistoryStore(embedder=None))
    store.save_many([
        text("How do I bake sourdough bread?", at(4, 11, 0), CHAT),
        image("a lighthouse at dusk", at(4, 11, 10)),
        image("a lighthouse at dusk, stormy", at(4, 11, 11)),
        text("And how long should it proof?", at(4, 11, 20), CHAT),
        text("Write a limerick about a boat", at(4, 11, 30)),  # no session
        text("What about rye flour?", at(4, 12, 10), CHAT),
        text("One more question about starters", at(5, 11, 0), CHAT),  # the chat went on the next day
    ])
    yield s, store
    s.close()


@pytest.fixture
def workspace(qtbot, store, runner):
    w = HistoryWorkspace(store[0], runner)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    qtbot.waitUntil(lambda: w.last_result is not None, timeout=TIMEOUT)
    return w


def layout(w) -> list[tuple[str, str]]:
    """The list as (what, text): day headers, session rows (by id) and records (by prompt)."""
    lst = w.results.list
    rows = []
    for i in range(lst.count()):
        item = lst.item(i)
        if item.data(HIT_ROLE) is not None:
            rows.append(("record", item.data(HIT_ROLE).record.prompt))
        elif item.data(SESSION_ROLE):
            rows.append(("session", item.data(SESSION_ROLE)))
        else:
            rows.append(("day", item.text()))
    return rows


def row_of(w, role, value):
    lst = w.results.list
    for i in range(lst.count()):
        data = lst.item(i).data(role)
        if data is not None and (data == value or getattr(getattr(data, "record", None), "prompt", None) == value):
            return lst.item(i)
    raise AssertionError(f"no row for {value!r}")


def click(qtbot, w, item) -> None:
    lst = w.results.list
    qtbot.mouseClick(lst.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     lst.visualItemRect(item).center())


def menu_action(w, item, text):
    return next(a for a in w.results.menu_for(item).actions() if a.text() == text)


def test_recent_view_groups_each_day_by_session(workspace):
    assert layout(workspace) == [
        ("day", "Tuesday 05 May 2026"),
        ("record", "One more question about starters"),
        ("day", "Monday 04 May 2026"),
        ("session", CHAT),
        ("record", "What about rye flour?"),
        ("record", "And how long should it proof?"),
        ("record", "How do I bake sourdough bread?"),
        ("record", "Write a limerick about a boat"),
        ("session", BATCH),
        ("record", "a lighthouse at dusk, stormy"),
        ("record", "a lighthouse at dusk"),
    ]
    chat_row = row_of(workspace, SESSION_ROLE, CHAT).text()
    assert "“How do I bake sourdough bread?”" in chat_row  # named by its first prompt
    assert "3 of 4 records" in chat_row and "text" in chat_row and "tiny-llama" in chat_row
    batch_row = row_of(workspace, SESSION_ROLE, BATCH).text()
    assert "“a lighthouse at dusk”" in batch_row and "2 records" in batch_row and "image · tiny-sd" in batch_row
    assert CHAT not in chat_row and BATCH not in batch_row  # no raw ids on screen
    # Session rows are not results: Ctrl+A selects the seven records only.
    assert workspace.results.row_count() == 7
    # A record alone of its session that day names its session in its row; every record does in its tooltip.
    lone = row_of(workspace, HIT_ROLE, "One more question about starters")
    assert "session “How do I bake sourdough bread?”" in workspace.results.list.itemWidget(lone).text()
    grouped = workspace.results.list.itemWidget(row_of(workspace, HIT_ROLE, "What about rye flour?"))
    assert "session “" not in grouped.text() and CHAT in grouped.toolTip()
    plain = workspace.results.list.itemWidget(row_of(workspace, HIT_ROLE, "Write a limerick about a boat"))
    assert "No session" in plain.toolTip()


def test_clicking_a_session_row_shows_that_session_with_a_readable_chip(qtbot, workspace):
    assert workspace.session_chip.isHidden()
    with qtbot.waitSignal(workspace.results_shown, timeout=TIMEOUT):
        click(qtbot, workspace, row_of(workspace, SESSION_ROLE, BATCH))
    assert sorted(h.record.prompt for h in workspace.results.hits) == ["a lighthouse at dusk",
                                                                       "a lighthouse at dusk, stormy"]
    assert workspace.filters()["session"] == BATCH
    chip = workspace.session_chip
    assert not chip.isHidden() and "“a lighthouse at dusk”" in chip.text() and BATCH not in chip.text()
    assert BATCH in chip.toolTip()
    with qtbot.waitSignal(workspace.results_shown, timeout=TIMEOUT):
        chip.click()  # clears the filter
    assert chip.isHidden() and "session" not in workspace.filters()
    assert len(workspace.results.hits) == 7


@pytest.mark.slow
def test_show_this_session_from_a_search_result_and_from_the_record_pane(qtbot, workspace):
    with qtbot.waitSignal(workspace.results_shown, timeout=TIMEOUT):
        workspace.search_box.setText("proof")
    item = row_of(workspace, HIT_ROLE, "And how long should it proof?")
    assert "session “How do I bake sourdough bread?”" in workspace.results.list.itemWidget(item).text()
    with qtbot.waitSignal(workspace.results_shown, timeout=TIMEOUT):
        menu_action(workspace, item, "Show this session").trigger()
    assert workspace.search_box.text() == ""  # the whole session, not its matches only
    assert len(workspace.results.hits) == 4
    assert {h.record.session_id for h in workspace.results.hits} == {CHAT}
    assert "“How do I bake sourdough bread?”" in workspace.session_chip.text()

    workspace.reset_filters()
    qtbot.waitUntil(lambda: len(workspace.results.hits) == 7, timeout=TIMEOUT)
    lone = row_of(workspace, HIT_ROLE, "Write a limerick about a boat")
    assert not menu_action(workspace, lone, "Show this session").isEnabled()
    click(qtbot, workspace, row_of(workspace, HIT_ROLE, "a lighthouse at dusk"))
    assert workspace.details.session_action.isEnabled()  # in the record pane's More menu
    with qtbot.waitSignal(workspace.results_shown, timeout=TIMEOUT):
        workspace.details.session_action.trigger()
    assert {h.record.session_id for h in workspace.results.hits} == {BATCH}


def test_delete_a_session_from_its_row_asks_first(qtbot, workspace, store):
    asked = []
    workspace.confirm = lambda question: asked.append(question) or False
    menu_action(workspace, row_of(workspace, SESSION_ROLE, CHAT), "Delete this session…").trigger()
    assert "“How do I bake sourdough bread?” (4 records)" in asked[0]
    assert not [h for h in workspace.runner.active_jobs() if "Delete" in h.name]  # declined: no job queued
    assert store[1].count() == 7  # and nothing deleted

    workspace.confirm = lambda question: True
    with qtbot.waitSignal(workspace.results_shown, timeout=TIMEOUT):
        menu_action(workspace, row_of(workspace, SESSION_ROLE, CHAT), "Delete this session…").trigger()
    assert sorted(h.record.prompt for h in workspace.results.hits) == [
        "Write a limerick about a boat", "a lighthouse at dusk", "a lighthouse at dusk, stormy"]
    assert store[1].count(f"session_id = '{CHAT}'") == 0 and store[1].count() == 3


def test_delete_this_session_in_the_more_menu_deletes_the_session_shown(qtbot, workspace, store):
    workspace.confirm = lambda question: True
    with qtbot.waitSignal(workspace.results_shown, timeout=TIMEOUT):
        workspace.show_session(BATCH)
    with qtbot.waitSignal(workspace.results_shown, timeout=TIMEOUT):
        next(a for a in workspace.more.menu().actions() if a.text() == "Delete this session…").trigger()
    assert workspace.session_chip.isHidden()  # the session is gone, so is its filter
    assert len(workspace.results.hits) == 5 and store[1].count() == 5
