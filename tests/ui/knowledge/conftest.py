"""Fixtures of the Knowledge workspace tests: a real history store (keyword search only) on the test's
data root, the workspace on screen with its collections listed, and a folder of small documents."""

from __future__ import annotations

import pytest

TIMEOUT = 30_000


@pytest.fixture
def history_store(services, genlab_home):
    from desktop.core.history.store import HistoryStore

    return services.provide_history_store(HistoryStore(embedder=None, idle_seconds=3600))


@pytest.fixture
def workspace(qtbot, services, runner, history_store):
    from desktop.ui.knowledge.view import KnowledgeWorkspace

    ws = KnowledgeWorkspace(services, runner)
    qtbot.addWidget(ws)
    ws.resize(1100, 760)
    with qtbot.waitSignal(ws.collections_shown, timeout=TIMEOUT):
        ws.show()
    return ws


@pytest.fixture
def docs(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "otters.md").write_text("# Otters\n\nSea otters hold hands while they sleep.\n\n## Food\n\n"
                                      "They eat sea urchins and crabs.\n")
    (folder / "lighthouse.txt").write_text("Lighthouses guide ships at night with bright lamps.\n")
    (folder / "binary.txt").write_bytes(b"\x00\x01\x02\x00" * 200)  # a binary file named .txt
    return folder


@pytest.fixture
def add_collection(qtbot):
    """``add_collection(ws, name, folder)``: add through the dialog, wait until indexed; the IndexReport."""
    def add(ws, name, folder):
        dialog = ws.open_add_dialog()
        dialog.name.setText(name)
        dialog.choose_folder = lambda: str(folder)
        dialog.add_folder_button.click()
        with qtbot.waitSignal(ws.index_finished, timeout=TIMEOUT) as blocker:
            dialog.buttons.button(dialog.buttons.StandardButton.Ok).click()
        # The list is read again after the run: its row then shows what the run wrote.
        qtbot.waitUntil(lambda: ws.indexing is None and bool(ws.table.collection(name).state.indexed_at),
                        timeout=TIMEOUT)
        return blocker.args[0]

    return add
