"""The Downloads panel inside the real main window, against the loopback hub.

Cancel deletes the partial file, the status bar shows the running total, a
download goes on while other workspaces are shown, and a file that arrives
with a wrong byte is shown as an error and never installed.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from desktop.core.downloads import FileRef, part_path
from desktop.core.library import Library
from desktop.core.model_download_queue import DownloadList
from desktop.core.services import Services
from desktop.ui.main_window import WORKSPACES, MainWindow
from tests.support.hub_server import gguf_file_bytes

MB = 1024 * 1024
MODELS = next(i for i, spec in enumerate(WORKSPACES) if spec.key == "models")


@pytest.fixture
def window(qtbot, runner):
    """The main window with its background services (resuming downloads); a history store without embedder."""
    from desktop.core.history.store import HISTORY_SERVICE_KEY, HistoryStore

    services = Services()
    services.shared(HISTORY_SERVICE_KEY, lambda: HistoryStore(embedder=None, idle_seconds=3600))
    w = MainWindow(services, runner)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: type(services.history).__name__ == "HistoryStore", timeout=60000)
    yield w
    w.close()
    services.close()


def models_page(window):
    window.show_workspace(MODELS)
    return window.current_workspace()


def select_row(panel, filename: str) -> None:
    panel.refresh()
    for i in range(panel.tree.topLevelItemCount()):
        item = panel.tree.topLevelItem(i)
        item.setSelected(item.text(0) == filename)


def test_cancel_in_the_panel_deletes_the_partial_file(qtbot, hub, window):
    hub.add_repo("someone/Slow-GGUF", {"slow-Q8_0.gguf": gguf_file_bytes(6 * MB, seed=50)})
    hub.faults.rate = 2 * MB
    page = models_page(window)
    controller, panel = page.downloads, page.downloads_panel
    entry = controller.request(FileRef("someone/Slow-GGUF", "slow-Q8_0.gguf"))
    part = part_path(Path(entry.dest))
    qtbot.waitUntil(lambda: part.exists() and part.stat().st_size > MB, timeout=20000)
    select_row(panel, "slow-Q8_0.gguf")
    assert panel.cancel_button.isEnabled()
    panel.cancel_button.click()
    qtbot.waitUntil(lambda: controller.active_count() == 0, timeout=10000)
    assert DownloadList().get(entry.key).status == "cancelled"
    assert not part.exists() and not Path(entry.dest).exists()
    assert Library().models() == []
    qtbot.waitUntil(lambda: panel.tree.topLevelItemCount() == 1 and panel.tree.topLevelItem(0).text(2) == "cancelled",
                    timeout=2000)
    assert window.downloads_label.text() == ""


def test_status_bar_total_while_the_download_goes_on_in_other_workspaces(qtbot, hub, window):
    data = gguf_file_bytes(6 * MB, seed=51)
    hub.add_repo("someone/Slow-GGUF", {"slow-Q6_K.gguf": data})
    hub.faults.rate = 3 * MB
    page = models_page(window)
    controller = page.downloads
    totals = []
    window.downloads_label.setText("")
    controller.summary.connect(totals.append)
    entry = controller.request(FileRef("someone/Slow-GGUF", "slow-Q6_K.gguf"))
    qtbot.waitUntil(lambda: re.search(r"Downloading 1 file\(s\): [1-9]\d*%", window.downloads_label.text()),
                    timeout=20000)
    for index in range(len(WORKSPACES)):  # every other workspace, the Models one last
        window.show_workspace((MODELS + 1 + index) % len(WORKSPACES))
        assert controller.active_count() == 1
        qtbot.wait(150)
    assert window.current_workspace() is page
    with qtbot.waitSignal(controller.installed, timeout=30000) as blocker:
        window.show_workspace(0)  # the download finishes while Chat is on screen
    assert blocker.args[0].sha256 == hashlib.sha256(data).hexdigest()
    qtbot.waitUntil(lambda: window.downloads_label.text() == "", timeout=5000)
    percents = [int(m[1]) for text in totals if (m := re.search(r": (\d+)%", text))]
    assert len(percents) >= 3 and percents == sorted(percents) and percents[0] < 100
    assert [m.sha256 for m in Library().models()] == [hashlib.sha256(data).hexdigest()]
    assert DownloadList().get(entry.key).status == "done"
    page = models_page(window)
    page.downloads_panel.refresh()
    assert page.downloads_panel.tree.topLevelItem(0).text(2) == "done"
    assert page.library_tab.tree.topLevelItemCount() == 1


def test_a_wrong_byte_is_shown_as_an_error_and_never_installed(qtbot, hub, window):
    data = gguf_file_bytes(2 * MB, seed=52)
    hub.add_repo("someone/Bad-GGUF", {"bad-Q4_0.gguf": data})
    hub.faults.corrupt_offset = 1_234_567
    page = models_page(window)
    controller, panel = page.downloads, page.downloads_panel
    with qtbot.waitSignal(controller.failed, timeout=30000) as blocker:
        entry = controller.request(FileRef("someone/Bad-GGUF", "bad-Q4_0.gguf"))
    message = blocker.args[1]
    assert "bad-Q4_0.gguf arrived corrupted" in message and "nothing was installed" in message
    qtbot.waitUntil(lambda: "arrived corrupted" in panel.error_label.text(), timeout=5000)
    assert panel.error_label.text().startswith("bad-Q4_0.gguf: ")
    assert "arrived corrupted" in page.status_label.text()
    qtbot.waitUntil(lambda: "arrived corrupted" in window.statusBar().currentMessage(), timeout=5000)
    select_row(panel, "bad-Q4_0.gguf")
    row = panel.tree.selectedItems()[0]
    assert row.text(2) == "failed" and "arrived corrupted" in row.toolTip(2)
    assert panel.resume_button.isEnabled()
    assert Library().models() == [] and page.library_tab.tree.topLevelItemCount() == 0
    assert not Path(entry.dest).exists() and not part_path(Path(entry.dest)).exists()
