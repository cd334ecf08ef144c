"""Chats are kept: threads come back from the history after a restart, with their branches,
names and pins; rename, pin, search and delete (real llama.cpp on the tiny GGUF, a real
LanceDB history on the per-test data root)."""

from __future__ import annotations

import copy
import json

import pytest

from desktop.core import paths
from desktop.core.history.store import HistoryStore
from desktop.core.services import Services
from desktop.core.settings import Settings

pytest.importorskip("llama_cpp")

from desktop.ui.chat.view import ChatWorkspace  # noqa: E402

TIMEOUT = 30_000


def start(qtbot, runner, settings: Settings):
    """A fresh process's view of the data root: a new store, new services, a new workspace."""
    store = HistoryStore(embedder=None, idle_seconds=3600)
    services = Services(copy.deepcopy(settings))
    services.provide_history_store(store)
    services.set_history(store)
    ws = ChatWorkspace(services, runner)
    qtbot.addWidget(ws)
    with qtbot.waitSignal(ws.threads_restored, timeout=TIMEOUT):
        pass
    return services, store, ws


def stop(qtbot, ws, services):
    qtbot.waitUntil(lambda: not ws.busy, timeout=TIMEOUT)
    ws.close()
    services.close()  # commits the queued records and closes the store


@pytest.mark.slow
def test_threads_come_back_after_a_restart_newest_first_with_branches(qtbot, runner, tiny_gguf, load, send):
    services, store, ws = start(qtbot, runner, Settings())
    assert ws.thread_panel.visible_titles() == ["New chat"]
    load(ws, tiny_gguf)
    send(ws, "A first chat about cats", max_tokens=6)
    first = ws.thread
    ws.settings_panel.seed.setValue(7)
    with qtbot.waitSignal(ws.reply_finished, timeout=TIMEOUT):
        ws.regenerate(first.last.id)  # a second branch of the reply
    qtbot.waitUntil(lambda: not ws.busy, timeout=TIMEOUT)
    ws.new_chat()
    send(ws, "A second chat about dogs", max_tokens=6)
    send(ws, "and then?", max_tokens=6)
    settings = services.settings
    stop(qtbot, ws, services)

    services, store, ws = start(qtbot, runner, settings)
    assert ws.thread_panel.visible_titles() == ["New chat", "A second chat about dogs", "A first chat about cats"]
    cats = next(t for t in ws.threads if t.id == first.id)
    path = cats.path()
    assert [t.role for t in path] == ["user", "assistant"] and cats.siblings(path[1].id) == (2, 2)
    dogs = ws.threads[1]
    assert [t.content for t in dogs.path() if t.role == "user"] == ["A second chat about dogs", "and then?"]
    ws.thread_list.setCurrentRow(1)
    assert ws.thread is dogs and "and then?" in ws.transcript.toPlainText()
    assert "tok/s" in ws.stats.text()  # its last reply's stats came back too
    # the last used model loads again (TextSettings.chat_reload_last_model is on by default)
    qtbot.waitUntil(lambda: ws.engine.loaded is not None and not ws.busy, timeout=TIMEOUT)
    assert str(ws.engine.loaded.path) == str(tiny_gguf)
    send(ws, "one more", max_tokens=6)  # the restored thread goes on in the same history session
    store.flush(timeout=30)
    assert store.get(ws.thread.last.record_id).session_id == dogs.id
    stop(qtbot, ws, services)


def test_the_last_model_is_not_loaded_when_the_setting_is_off(qtbot, runner, tiny_gguf):
    settings = Settings()
    settings.text.last_model = str(tiny_gguf)
    settings.text.chat_reload_last_model = False
    services, _store, ws = start(qtbot, runner, settings)
    assert not ws.busy and ws.engine.loaded is None
    stop(qtbot, ws, services)


@pytest.mark.slow
def test_rename_pin_search_and_delete(qtbot, runner, tiny_gguf, load, send):
    services, store, ws = start(qtbot, runner, Settings())
    load(ws, tiny_gguf)
    send(ws, "hello there", max_tokens=6)
    older = ws.thread
    ws.new_chat()
    send(ws, "hello there", max_tokens=6)
    newer = ws.thread
    ws.new_chat()
    send(ws, "something else", max_tokens=6)
    titles = ws.thread_panel.visible_titles()
    same = [t for t in titles if t.startswith("hello there")]
    assert len(same) == 2 and all(" · " in t for t in same)  # told apart by their date

    assert ws.rename_thread(older.id, "Greetings")
    assert ws.pin_thread(newer.id)
    assert ws.threads[0] is newer  # pinned first
    ws.thread_panel.filter.setText("greet")
    assert ws.thread_panel.visible_titles() == ["Greetings"]
    ws.thread_panel.filter.clear()

    with qtbot.waitSignal(ws.status_message, timeout=TIMEOUT,
                          check_params_cb=lambda message: message.startswith("Deleted the chat")):
        ws.delete_thread(older.id)
    assert older not in ws.threads
    store.flush(timeout=30)
    assert store.count(f"session_id = '{older.id}'") == 0 and store.count() == 2
    labels = json.loads((paths.data_root() / "chat_threads.json").read_text())
    assert older.id not in labels["threads"] and labels["threads"][newer.id]["pinned"] is True
    settings = services.settings
    stop(qtbot, ws, services)

    services, store, ws = start(qtbot, runner, settings)
    assert ws.thread_panel.visible_titles()[:2] == ["hello there", "New chat"]  # pinned, then newest
    assert ws.threads[0].id == newer.id and "Greetings" not in ws.thread_panel.visible_titles()
    stop(qtbot, ws, services)
