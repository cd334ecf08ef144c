"""The Insights workspace listens to the history while it lives, and stops listening when it is destroyed."""

from __future__ import annotations

import logging

import pytest
from PySide6.QtCore import QCoreApplication, QEvent

from desktop.core.records import GenerationRecord
from desktop.ui.insights.view import InsightsWorkspace

TIMEOUT = 30000


def _destroy(widget) -> None:
    gone: list[bool] = []
    widget.destroyed.connect(lambda *_: gone.append(True))
    widget.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    assert gone


@pytest.mark.slow
def test_a_destroyed_view_is_removed_from_the_history_listeners(qtbot, services, runner, store, caplog):
    services.provide_history_store(store)
    view = InsightsWorkspace(services, runner)
    with qtbot.waitSignal(view.insights_shown, timeout=TIMEOUT):
        view.show()
    assert view.subscription.store is store
    view.hide()  # hidden: a save only marks the plots stale
    view.stale = False
    store.save_and_wait(GenerationRecord(kind="text", prompt="while open", output_text="x"))
    qtbot.waitUntil(lambda: view.stale, timeout=TIMEOUT)  # the listener is live

    subscription = view.subscription
    _destroy(view)
    assert subscription.closed and subscription.store is None
    with caplog.at_level(logging.ERROR, logger="desktop.core.history.store"):
        store.save_and_wait(GenerationRecord(kind="text", prompt="after close", output_text="y"))
        store.flush()
    assert not [r for r in caplog.records if "listener failed" in r.getMessage()]
    store.remove_saved_listener(subscription.listener)  # removing one not listening is harmless


def test_a_view_destroyed_before_its_first_load_never_listens(qtbot, services, runner, store):
    services.provide_history_store(store)
    view = InsightsWorkspace(services, runner)
    subscription = view.subscription
    _destroy(view)
    subscription.attach(store)  # what a load job still queued would do
    assert subscription.store is None
