"""The History list is live (new records appear without a restart) and "Clear" clears the search box too."""

from __future__ import annotations

import pytest

from desktop.core.history.store import HistoryStore
from desktop.core.records import GenerationRecord
from desktop.core.services import Services
from tests.ui.history.test_view import TIMEOUT, _prompts, open_workspace


@pytest.fixture
def services(genlab_home):
    s = Services()
    s.provide_history_store(HistoryStore(embedder=None)).save_many([
        GenerationRecord(kind="text", prompt="How do I bake sourdough bread?"),
        GenerationRecord(kind="text", prompt="Write a limerick about a boat"),
        GenerationRecord(kind="image", prompt="a lighthouse at dusk", image_path="/nonexistent/gone.png"),
    ])
    yield s
    s.close()


@pytest.fixture
def workspace(qtbot, services, runner):
    return open_workspace(qtbot, services, runner)


def _store(services):
    return services.opened_history_store


@pytest.mark.slow
def test_a_record_saved_while_the_list_is_shown_appears_in_it(qtbot, workspace, services):
    workspace.show()
    qtbot.waitExposed(workspace)
    workspace.results.select_row(0)
    selected = workspace.details.hit.record.id
    _store(services).save(GenerationRecord(kind="text", prompt="A brand new generation"))
    qtbot.waitUntil(lambda: "A brand new generation" in _prompts(workspace), timeout=TIMEOUT)
    assert workspace.details.hit is not None and workspace.details.hit.record.id == selected  # kept


def test_records_saved_while_hidden_appear_when_the_workspace_is_shown(qtbot, workspace, services):
    assert not workspace.isVisible()
    _store(services).save_many([GenerationRecord(kind="text", prompt=f"made while away {i}") for i in range(3)])
    qtbot.waitUntil(lambda: workspace.refresh_pending, timeout=TIMEOUT)
    assert not any("while away" in p for p in _prompts(workspace))  # no search for a page nobody sees
    workspace.show()
    qtbot.waitUntil(lambda: sum("while away" in p for p in _prompts(workspace)) == 3, timeout=TIMEOUT)
    assert not workspace.refresh_pending


@pytest.mark.slow
def test_the_first_generation_replaces_the_empty_state(qtbot, runner, genlab_home):
    empty = Services()
    store = empty.provide_history_store(HistoryStore(embedder=None))
    try:
        w = open_workspace(qtbot, empty, runner)
        w.show()
        assert w.results.empty.isVisible()
        store.save(GenerationRecord(kind="text", prompt="my very first prompt"))
        qtbot.waitUntil(lambda: _prompts(w) == ["my very first prompt"], timeout=TIMEOUT)
        assert not w.results.empty.isVisible()
    finally:
        empty.close()


@pytest.mark.slow
def test_clear_resets_the_filters_and_the_search_box(qtbot, workspace):
    with qtbot.waitSignal(workspace.results_shown, timeout=TIMEOUT):
        workspace.search_box.setText("boat")
    with qtbot.waitSignal(workspace.results_shown, timeout=TIMEOUT):
        workspace.tag.setText("sea")
    assert _prompts(workspace) == []
    with qtbot.waitSignal(workspace.results_shown, timeout=TIMEOUT):
        workspace.clear_filters.click()
    assert workspace.search_box.text() == "" and workspace.tag.text() == ""
    assert len(_prompts(workspace)) == 3  # every record again, not only the boat
