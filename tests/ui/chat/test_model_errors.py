"""A file that does not open as a model: it leaves Chat's model list, the model picked before
comes back, and the error is said once (real llama.cpp and the GGUF reader on real files)."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication, QFileDialog, QLabel, QMessageBox

pytest.importorskip("llama_cpp")

TIMEOUT = 30_000


def surfaces(ws, statuses: list[str], needle: str) -> list[str]:
    """Every place the person could read ``needle``: status messages sent to the window,
    open message boxes, and the workspace's labels."""
    seen = [f"status message: {m}" for m in statuses if needle in m]
    seen += [f"dialog: {w.text()} {w.informativeText()}" for w in QApplication.topLevelWidgets()
             if isinstance(w, QMessageBox) and w.isVisible() and needle in w.text() + w.informativeText()]
    seen += [f"label {w.objectName() or type(w).__name__}: {w.text()}" for w in ws.findChildren(QLabel)
             if needle in w.text() and not isinstance(w.window(), QMessageBox)]  # the box's own text is counted
    return seen


def open_file(ws, monkeypatch, path) -> None:
    """Open… and choose ``path`` in the file dialog."""
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    ws.model_bar.open_button.click()


@pytest.mark.parametrize("name", ["x.gguf", "x.bin"])
def test_a_file_that_is_not_a_gguf_leaves_the_list_and_is_said_once(qtbot, workspace, tmp_path, tiny_gguf,
                                                                    monkeypatch, name):
    statuses: list[str] = []
    workspace.status_message.connect(statuses.append)
    workspace.model_bar.select_path(str(tiny_gguf))
    qtbot.waitUntil(lambda: "Not loaded" in workspace.model_bar.card.text(), timeout=TIMEOUT)
    fake = tmp_path / name
    fake.write_text("not a model at all")
    open_file(workspace, monkeypatch, fake)
    qtbot.waitUntil(lambda: workspace.model_bar.error_box is not None, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: "Not loaded" in workspace.model_bar.card.text(), timeout=TIMEOUT)
    picker = workspace.model_bar.picker
    assert picker.findData(str(fake)) < 0
    assert workspace.model_bar.current_path() == str(tiny_gguf)  # the one picked before
    seen = surfaces(workspace, statuses, "not a GGUF model")
    assert len(seen) == 1 and seen[0].startswith("dialog:"), seen
    assert name in seen[0]
    workspace.model_bar.error_box.accept()


@pytest.mark.slow
def test_loading_a_bad_file_at_once_says_it_once_and_the_app_goes_on(qtbot, workspace, tmp_path, tiny_gguf,
                                                                     load):
    statuses: list[str] = []
    workspace.status_message.connect(statuses.append)
    fake = tmp_path / "fake.gguf"
    fake.write_text("not a model at all")
    workspace.model_bar.select_path(str(fake))
    workspace.load_model(str(fake))  # Load pressed before the card was read: two jobs fail
    qtbot.waitUntil(lambda: not workspace.busy and workspace.model_bar.error_box is not None, timeout=TIMEOUT)
    seen = surfaces(workspace, statuses, "not a GGUF model")
    assert len(seen) == 1 and seen[0].startswith("dialog:"), seen
    assert workspace.model_bar.picker.findData(str(fake)) < 0 and workspace.engine.loaded is None
    workspace.model_bar.error_box.accept()
    load(workspace, tiny_gguf)  # still works afterwards
    assert not surfaces(workspace, statuses[-1:], "not a GGUF model")
