"""The Downloads panel inside the real main window, against the loopback hub.

Cancel deletes the partial file, the status bar shows the running total, a
download goes on while other workspaces are shown, and a file that arrives
with a wrong byte is shown as an error and never installed.  A new window
resumes what a killed or quit one left unfinished (not what was paused), and
a download started offline waits for the network, then goes ahead on its own.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

import desktop.ui.models.downloads as downloads_panel
from desktop.core.hub.download import FileRef, part_path
from desktop.core.hub.queue import DownloadList
from desktop.core.jobs import SHUTDOWN
from desktop.core.models.library import Library
from desktop.core.services import Services
from desktop.ui.main_window import WORKSPACES, MainWindow
from desktop.ui.models.downloads import DownloadsController, DownloadsPanel
from desktop.ui.runner import JobRunner
from tests.core.hub.test_queue import stop_after_some_bytes
from tests.support.hub_server import gguf_file_bytes

# the slow set: most tests here load a real model or pipeline, or spawn processes
pytestmark = pytest.mark.slow

MB = 1024 * 1024
MODELS = next(i for i, spec in enumerate(WORKSPACES) if spec.key == "models")


@pytest.fixture
def window(qtbot, runner):
    """The main window with its background services (resuming downloads); a history store without embedder."""
    from desktop.core.history.store import HistoryStore

    services = Services()
    services.provide_history_store(HistoryStore(embedder=None, idle_seconds=3600))
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
        seen = len(totals)
        qtbot.waitUntil(lambda seen=seen: len(totals) > seen, timeout=5000)  # it goes on while this one is shown
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
    said = []
    window.statusBar().messageChanged.connect(said.append)
    ended = []
    with qtbot.waitSignal(controller.failed, timeout=30000) as blocker:
        entry = controller.request(FileRef("someone/Bad-GGUF", "bad-Q4_0.gguf"))
        controller.handles[entry.key].ended.connect(lambda: ended.append(entry.key))
    message = blocker.args[1]
    assert "bad-Q4_0.gguf arrived corrupted" in message and "nothing was installed" in message
    qtbot.waitUntil(lambda: "arrived corrupted" in panel.error_label.text(), timeout=5000)
    assert panel.error_label.text().startswith("bad-Q4_0.gguf: ")
    assert "arrived corrupted" in page.status_label.text()
    qtbot.waitUntil(lambda: "arrived corrupted" in window.statusBar().currentMessage(), timeout=5000)
    # Every handler of the job's failure has run once its last signal, ended, has arrived.
    qtbot.waitUntil(lambda: ended == [entry.key], timeout=5000)
    assert sum("arrived corrupted" in m for m in said) == 1, said  # said once, not by two handlers
    select_row(panel, "bad-Q4_0.gguf")
    row = panel.tree.selectedItems()[0]
    assert row.text(2) == "failed" and "arrived corrupted" in row.toolTip(2)
    assert panel.resume_button.isEnabled()
    assert Library().models() == [] and page.library_tab.tree.topLevelItemCount() == 0
    assert not Path(entry.dest).exists() and not part_path(Path(entry.dest)).exists()


CONTROLLER_KEY = DownloadsController  # the services hold the one controller by its class


@pytest.fixture
def apps(qtbot):
    """Opens the app as ``app.main`` builds it (services, runner, main window) and quits it the same way."""
    opened = []

    class Apps:
        def open(self) -> MainWindow:
            from desktop.core.history.store import HistoryStore

            services = Services()
            services.provide_history_store(HistoryStore(embedder=None, idle_seconds=3600))
            window = MainWindow(services, JobRunner())
            qtbot.addWidget(window)
            opened.append(window)
            window.show()
            qtbot.waitUntil(lambda: type(services.history).__name__ == "HistoryStore"
                            and services.existing_ui(CONTROLLER_KEY) is not None, timeout=60000)
            return window

        def quit(self, window: MainWindow) -> None:
            """What ``app.main`` does once the event loop returns."""
            opened.remove(window)
            window.close()
            window.runner.shutdown(timeout=30)
            window.services.close()

    yield Apps()
    for window in list(opened):
        Apps().quit(window)


def part_size(entry) -> int:
    part = part_path(Path(entry.dest))
    return part.stat().st_size if part.exists() else 0


def test_a_new_window_resumes_unfinished_downloads_and_leaves_paused_ones(qtbot, hub, apps):
    repo = "someone/Resume-GGUF"
    killed_data, offline_data = gguf_file_bytes(4 * MB, seed=53), gguf_file_bytes(MB, seed=54)
    hub.add_repo(repo, {"killed-Q8_0.gguf": killed_data, "offline-Q4_0.gguf": offline_data,
                        "paused-Q4_0.gguf": gguf_file_bytes(2 * MB, seed=55)})
    hub.faults.rate = 2 * MB
    downloads = DownloadList()
    killed = downloads.add(FileRef(repo, "killed-Q8_0.gguf"))
    kept = stop_after_some_bytes(killed, downloads, SHUTDOWN)
    downloads.update(killed.key, status="running")  # as a GenLab killed mid-transfer leaves it
    offline = downloads.add(FileRef(repo, "offline-Q4_0.gguf"))
    downloads.update(offline.key, status="waiting", error="Cannot reach the hub.")  # an app started offline
    paused = downloads.add(FileRef(repo, "paused-Q4_0.gguf"))
    paused_bytes = stop_after_some_bytes(paused, downloads, "")
    assert downloads.get(paused.key).status == "paused"
    hub.faults.rate = None
    hub.stats.reset()

    window = apps.open()
    qtbot.waitUntil(lambda: all(DownloadList().get(e.key).status == "done" for e in (killed, offline)),
                    timeout=30000)
    assert f"bytes={kept}-" in hub.stats.ranges  # it went on from the bytes already here
    assert hub.stats.body_bytes <= 1.1 * (len(killed_data) - kept + len(offline_data))
    shas = {hashlib.sha256(d).hexdigest() for d in (killed_data, offline_data)}
    assert {m.sha256 for m in Library().models()} == shas
    assert DownloadList().get(paused.key).status == "paused" and part_size(paused) == paused_bytes
    panel = models_page(window).downloads_panel
    select_row(panel, "paused-Q4_0.gguf")
    assert panel.tree.selectedItems()[0].text(2) == "paused" and panel.resume_button.isEnabled()


def test_quitting_mid_download_resumes_it_at_next_start_and_a_paused_one_stays_paused(qtbot, hub, apps):
    repo = "someone/Quit-GGUF"
    data = gguf_file_bytes(6 * MB, seed=56)
    hub.add_repo(repo, {"quit-Q8_0.gguf": data, "pause-Q4_0.gguf": gguf_file_bytes(3 * MB, seed=57)})
    hub.faults.rate = 2 * MB
    first = apps.open()
    controller = first.services.existing_ui(CONTROLLER_KEY)
    quit_entry = controller.request(FileRef(repo, "quit-Q8_0.gguf"))
    pause_entry = controller.request(FileRef(repo, "pause-Q4_0.gguf"))
    qtbot.waitUntil(lambda: min(part_size(quit_entry), part_size(pause_entry)) > MB // 2, timeout=20000)
    controller.pause(pause_entry.key)
    qtbot.waitUntil(lambda: controller.active_count() == 1, timeout=10000)
    paused_bytes = part_size(pause_entry)
    assert 0 < part_size(quit_entry) < len(data)

    apps.quit(first)  # mid-transfer
    assert DownloadList().get(quit_entry.key).status == "queued"
    assert DownloadList().get(pause_entry.key).status == "paused"
    hub.faults.rate = None

    second = apps.open()
    qtbot.waitUntil(lambda: DownloadList().get(quit_entry.key).status == "done", timeout=30000)
    assert [m.sha256 for m in Library().models()] == [hashlib.sha256(data).hexdigest()]  # verified, listed
    assert hub.stats.body_bytes - paused_bytes <= 1.1 * len(data)
    assert DownloadList().get(pause_entry.key).status == "paused" and part_size(pause_entry) == paused_bytes
    qtbot.waitUntil(lambda: second.downloads_label.text() == "", timeout=5000)


def closed_port_url() -> str:
    """An endpoint on this machine where nothing listens: connections are refused, as when offline."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_a_download_started_offline_waits_for_the_network_then_goes_ahead_on_its_own(qtbot, hub, runner,
                                                                                      monkeypatch):
    data = gguf_file_bytes(MB, seed=58)
    hub.add_repo("someone/Later-GGUF", {"later-Q4_0.gguf": data})
    monkeypatch.setenv("HF_ENDPOINT", closed_port_url())
    controller = DownloadsController(runner, retry_delays=(0.3,))
    panel = DownloadsPanel(controller)
    qtbot.addWidget(panel)
    failures, summaries, probes = [], [], []
    real_probe = downloads_panel._hub_answers
    monkeypatch.setattr(downloads_panel, "_hub_answers", lambda **kw: probes.append(1) or real_probe(**kw))
    controller.failed.connect(lambda _key, message: failures.append(message))
    controller.summary.connect(summaries.append)
    entry = controller.request(FileRef("someone/Later-GGUF", "later-Q4_0.gguf"))
    qtbot.waitUntil(lambda: summaries[-1:] == ["1 download(s) waiting for the network"], timeout=10000)
    select_row(panel, "later-Q4_0.gguf")
    row = panel.tree.selectedItems()[0]
    assert row.text(2) == "waiting for the network" and "Cannot reach the hub" in row.toolTip(2)
    assert panel.error_label.text().startswith("Waiting for the network: later-Q4_0.gguf: Cannot reach the hub")
    assert panel.pause_button.isEnabled() and panel.resume_button.isEnabled()
    # The hub is checked again (a third check starts once the second has ended), and still cannot be reached.
    qtbot.waitUntil(lambda: len(probes) >= 3, timeout=10000)
    assert DownloadList().get(entry.key).status == "waiting" and failures == []

    monkeypatch.setenv("HF_ENDPOINT", hub.url)  # the network is back
    qtbot.waitUntil(lambda: DownloadList().get(entry.key).status == "done", timeout=20000)
    assert [m.sha256 for m in Library().models()] == [hashlib.sha256(data).hexdigest()]
    qtbot.waitUntil(lambda: summaries[-1:] == [""], timeout=5000)
    assert failures == []


def test_a_download_waiting_for_the_network_is_not_reported_as_a_failure_in_the_window(qtbot, window,
                                                                                        monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", closed_port_url())
    controller = models_page(window).downloads
    said = []
    window.statusBar().messageChanged.connect(said.append)
    entry = controller.request(FileRef("someone/Later-GGUF", "later-Q4_0.gguf"))
    qtbot.waitUntil(lambda: DownloadList().get(entry.key).status == "waiting" and not controller.active_count(),
                    timeout=10000)
    qtbot.waitUntil(lambda: "waiting for the network" in window.downloads_label.text(), timeout=5000)
    # The job has ended (it is no longer active): its failure, had anything shown it, came before that.
    assert not any("reach the hub" in m for m in said), said  # the summary says it; no error is shown


@pytest.mark.slow
def test_progress_updates_the_status_bar_without_reading_the_shared_list(qtbot, hub, runner, monkeypatch):
    """The list is a file other processes lock and write: the summary reads it on state changes only."""
    import threading

    hub.add_repo("someone/Slow-GGUF", {"slow-Q4_0.gguf": gguf_file_bytes(6 * MB, seed=59)})
    hub.faults.rate = 2 * MB
    gui_reads = []
    real_read = DownloadList._read
    monkeypatch.setattr(DownloadList, "_read", lambda self: (
        gui_reads.append(1) if threading.current_thread() is threading.main_thread() else None) or real_read(self))
    controller = DownloadsController(runner, resume=False)
    summaries = []
    controller.summary.connect(summaries.append)
    with qtbot.waitSignal(controller.installed, timeout=30000):
        controller.request(FileRef("someone/Slow-GGUF", "slow-Q4_0.gguf"))
    percents = [int(m[1]) for text in summaries if (m := re.search(r": (\d+)%", text))]
    assert len(percents) >= 8 and percents == sorted(percents)
    qtbot.waitUntil(lambda: controller.active_count() == 0 and summaries[-1] == "", timeout=5000)
    assert len(gui_reads) <= 6  # created, requested, started, ended: never per progress report


def test_a_download_another_genlab_is_running_is_left_to_it_then_taken_up(qtbot, hub, runner, monkeypatch):
    """Neither started here nor reported failed while another process holds its file; taken up once it lets go."""
    from desktop.core.hub.download import lock_path
    from tests.support.other_process import lock_held_by_another_process

    data = gguf_file_bytes(MB, seed=60)
    hub.add_repo("someone/Shared-GGUF", {"shared-Q4_0.gguf": data})
    downloads = DownloadList()
    entry = downloads.add(FileRef("someone/Shared-GGUF", "shared-Q4_0.gguf"))
    failures, starts = [], []
    real_run_entry = downloads_panel.run_entry
    monkeypatch.setattr(downloads_panel, "run_entry", lambda *a, **kw: starts.append(1) or real_run_entry(*a, **kw))
    with lock_held_by_another_process(lock_path(Path(entry.dest))):
        downloads.update(entry.key, status="running")  # `genlab models download` is running it
        controller = DownloadsController(runner, retry_delays=(0.3,))  # the app starts meanwhile
        controller.failed.connect(lambda _key, message: failures.append(message))
        # It decided as it started: no job, and nothing it waits for (no retry is armed), so nothing
        # starts here later without a new request.
        assert (controller.active_count(), runner.active_jobs(), controller.waiting()) == (0, [], [])
        assert not controller._network_timer.isActive() and (starts, failures) == ([], [])
        assert DownloadList().get(entry.key).status == "running"

        # Its lock was taken just after this window looked: the job finds out, and is not reported failed.
        events = []
        controller._network_timer.timeout.connect(lambda: events.append("retry delay"))
        with monkeypatch.context() as patch:
            patch.setattr(downloads_panel, "transfer_elsewhere", lambda dest: False)
            patch.setattr(downloads_panel, "run_entry",
                          lambda *a, **kw: events.append("start") or real_run_entry(*a, **kw))
            controller.resume(entry.key)
            qtbot.waitUntil(lambda: events.count("start") >= 3 and controller.active_count() == 0, timeout=10000)
            # Tried again after each retry delay, not in a loop.
            assert events[:5] == ["start", "retry delay", "start", "retry delay", "start"] and failures == []
            assert DownloadList().get(entry.key).status == "queued"
    # That process quit: this window takes the download up when it next looks.
    qtbot.waitUntil(lambda: DownloadList().get(entry.key).status == "done", timeout=20000)
    assert failures == [] and [m.sha256 for m in Library().models()] == [hashlib.sha256(data).hexdigest()]


def test_pause_or_cancel_of_a_download_another_genlab_runs_is_refused_and_keeps_its_bytes(qtbot, runner):
    from desktop.core.hub.download import lock_path
    from desktop.core.models.errors import DownloadBusy
    from tests.support.other_process import lock_held_by_another_process

    downloads = DownloadList()
    entry = downloads.add(FileRef("someone/Shared-GGUF", "shared-Q8_0.gguf"))
    part = part_path(Path(entry.dest))
    part.parent.mkdir(parents=True, exist_ok=True)
    part.write_bytes(b"x" * 1000)  # what that process has received so far
    with lock_held_by_another_process(lock_path(Path(entry.dest))):
        downloads.update(entry.key, status="running")  # `genlab models download` is running it
        controller = DownloadsController(runner, resume=False)
        failures = []
        controller.failed.connect(lambda _key, message: failures.append(message))
        controller.pause(entry.key)
        controller.cancel(entry.key)
        assert len(failures) == 2 and all("another GenLab process" in m for m in failures)
        assert "cannot be paused here" in failures[0] and "cannot be cancelled here" in failures[1]
        with pytest.raises(DownloadBusy):
            DownloadList().cancel(entry.key)  # the core refuses as well (the CLI, a script)
        assert part.read_bytes() == b"x" * 1000 and DownloadList().get(entry.key).status == "running"
    controller.cancel(entry.key)  # that process has quit: now it is this window's to cancel
    assert not part.exists() and DownloadList().get(entry.key).status == "cancelled"
