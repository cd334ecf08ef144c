"""Bad input in the Add collection dialog: each refusal names what is wrong, the dialog stays open and
nothing is added."""

from __future__ import annotations

import os

import pytest

from tests.ui.knowledge.conftest import TIMEOUT


def _try(qtbot, dialog, name, folders):
    dialog.name.setText(name)
    dialog.folders.clear()
    for folder in folders:
        dialog.add_folder(str(folder))
    with qtbot.waitSignal(dialog.refused, timeout=TIMEOUT) as blocker:
        dialog.buttons.button(dialog.buttons.StandardButton.Ok).click()
    assert dialog.isVisible()
    assert dialog.message.text() == blocker.args[0]
    return blocker.args[0]


def test_bad_names_and_folders_are_refused_with_a_reason(qtbot, workspace, docs, add_collection, services, tmp_path):
    add_collection(workspace, "Notes", docs)
    dialog = workspace.open_add_dialog()
    assert "name" in _try(qtbot, dialog, "   ", [docs]).lower()
    assert "exists already" in _try(qtbot, dialog, "notes", [docs])  # any case
    assert "history" in _try(qtbot, dialog, "History", [docs])
    assert "at least one folder" in _try(qtbot, dialog, "papers", [])
    gone = tmp_path / "nowhere"
    assert f"{gone} does not exist" in _try(qtbot, dialog, "papers", [gone])
    assert "is a file, not a folder" in _try(qtbot, dialog, "papers", [docs / "otters.md"])
    assert [c.name for c in services.knowledge.collections()] == ["history", "Notes"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root may read any folder, so none can be made unreadable")
def test_an_unreadable_folder_is_refused(qtbot, workspace, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0)
    try:
        dialog = workspace.open_add_dialog()
        assert "cannot be read" in _try(qtbot, dialog, "papers", [locked])
    finally:
        locked.chmod(0o755)


def test_removing_a_folder_from_the_list(qtbot, workspace, docs, tmp_path):
    dialog = workspace.open_add_dialog()
    dialog.add_folder(str(docs))
    dialog.add_folder(str(tmp_path))
    dialog.add_folder(str(docs))  # once only
    assert dialog.folder_list() == [str(docs), str(tmp_path)]
    dialog.folders.item(1).setSelected(True)
    dialog.remove_folder_button.click()
    assert dialog.folder_list() == [str(docs)]
