"""The Library is the starting point: a row opens its model where it is used; buttons follow the selection."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from desktop.core.models.library import Library
from desktop.core.services import Services
from desktop.ui.models.view import ModelsWorkspace


@pytest.fixture
def workspace(qtbot, runner):
    w = ModelsWorkspace(Services(), runner)
    qtbot.addWidget(w)
    return w


def _row(tab, model_id: str):
    from PySide6.QtCore import Qt

    items = [tab.tree.topLevelItem(i) for i in range(tab.tree.topLevelItemCount())]
    return next(i for i in items if i.data(0, Qt.ItemDataRole.UserRole) == model_id)


def test_verify_delete_and_use_are_disabled_until_a_model_is_selected(qtbot, workspace, tiny_gguf):
    tab = workspace.library_tab
    model = Library().import_path(tiny_gguf, "link")
    tab.refresh()
    buttons = (tab.verify_button, tab.delete_button, tab.use_button)
    assert not any(b.isEnabled() for b in buttons)
    tab.select(model.id)
    assert all(b.isEnabled() for b in buttons)
    assert tab.use_button.text() == "Chat with this"
    tab.tree.clearSelection()
    assert not any(b.isEnabled() for b in buttons)


def test_chat_with_this_and_a_double_click_ask_for_the_model_with_its_kind(qtbot, workspace, tiny_gguf):
    tab = workspace.library_tab
    model = Library().import_path(tiny_gguf, "link")
    tab.refresh()
    tab.select(model.id)
    with qtbot.waitSignal(workspace.use_model_requested, timeout=1000) as blocker:
        tab.use_button.click()
    assert blocker.args == ["text", model.path]
    with qtbot.waitSignal(workspace.use_model_requested, timeout=1000) as blocker:
        tab.tree.itemDoubleClicked.emit(_row(tab, model.id), 0)
    assert blocker.args == ["text", model.path]


def test_an_image_model_offers_generate_with_this(qtbot, workspace, tiny_sd_pipeline):
    tab = workspace.library_tab
    model = Library().import_path(Path(tiny_sd_pipeline), "link")
    tab.refresh()
    tab.select(model.id)
    assert tab.use_button.text() == "Generate with this"
    with qtbot.waitSignal(workspace.use_model_requested, timeout=1000) as blocker:
        tab.use_button.click()
    assert blocker.args == ["image", model.path]


def test_last_used_is_current_when_the_library_is_shown_again(qtbot, workspace, tiny_gguf):
    tab = workspace.library_tab
    model = Library().import_path(tiny_gguf, "link")
    workspace.show()
    qtbot.waitExposed(workspace)
    tab.select(model.id)
    column = tab.COLUMNS.index("Last used")
    assert _row(tab, model.id).text(column) == "never"
    workspace.hide()
    Library().identity(Path(model.path))  # what an engine does when it loads the model
    workspace.show()
    stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime(Library().get(model.id).last_used))
    assert _row(tab, model.id).text(column) == stamp
    assert tab.selected_id() == model.id  # the refresh keeps the selection


@pytest.mark.slow
def test_generate_with_this_loads_the_image_model_at_once(qtbot, runner, tiny_sd_pipeline):
    """As Chat does: the pipeline loads as one engine job without Generate being pressed."""
    from desktop.ui.main_window import MainWindow

    window = MainWindow(Services(), runner, start_services=False)
    qtbot.addWidget(window)
    window.show_workspace(3)
    models = window.current_workspace()
    images = window.images()
    with qtbot.waitSignal(images.model_loaded, timeout=60_000) as loaded:
        models.use_model_requested.emit("image", str(tiny_sd_pipeline))
        assert window.current_workspace() is images
        assert images.status.text().startswith("Loading tiny-sd")
        assert images.busy and not images.generate_button.isEnabled()
    engine = images.engine
    assert engine.loaded is loaded.args[0] and engine.loaded.info.path == Path(tiny_sd_pipeline)
    qtbot.waitUntil(lambda: not images.busy, timeout=10_000)
    assert images.generate_button.isEnabled() and images.status.text().startswith("Loaded ")
    assert "sha256" in images.card.text()  # the card of the loaded model
