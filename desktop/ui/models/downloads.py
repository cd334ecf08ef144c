"""The Downloads panel and the controller that runs downloads on the JobRunner.

:class:`DownloadsController` owns the persisted :class:`DownloadList`.  It
runs at most ``max_parallel`` downloads at once as ``io`` jobs, queues the
rest, resumes unfinished downloads when it is created (app start), and turns
pause / resume / cancel into job cancellation plus list updates.  It lives
as long as the workspace (which the main window keeps), so downloads go on
while other workspaces are shown.

Downloads the network stopped (status ``waiting``) are tried again on their
own: while any waits, the controller checks whether the hub can be reached
(one TCP connection, in an ``io`` job) after a growing delay
(``retry_delays``), and queues them all again once it answers.  A finished
download resets the delay.  Quitting the app (the runner's shutdown) leaves
running downloads ``queued``, so they resume at next start; Pause leaves
them ``paused`` until Resume.

``downloads.json`` is shared with every GenLab process.  A download another
process is running (it holds the file's ``.part.lock``) is left to it: not
started here, not reported as failed; the controller looks again when the
retry timer fires or a person asks for that file again.

The controller keeps a copy of the list, read again only when a download's
state changes, and the live numbers of its running downloads; the status-bar
summary is made from those, so progress, which arrives many times a second,
never reads the file.

Signals:
    changed(): an entry's state or live numbers changed (views refresh).
    summary(str): a one-line total for the status bar ("2 downloads, 40%…").
    installed(object): a DownloadResult whose file was verified and installed.
    failed(str, str): an entry key and the readable error (not sent for a
        download that only waits for the network: the panel shows those).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.core.errors import GenLabError
from desktop.core.hardware import fmt_bytes
from desktop.core.hub.download import DownloadProgress, FileRef, transfer_elsewhere
from desktop.core.hub.queue import WAITING_NETWORK, DownloadEntry, DownloadList, refuse_if_elsewhere, run_entry
from desktop.core.jobs import Job
from desktop.core.models.errors import DownloadBusy
from desktop.ui.runner import DONE, JobHandle, JobRunner
from desktop.ui.widgets import EmptyState, size_columns

# Seconds between checks of the hub while downloads wait for the network; the last one repeats.
NETWORK_RETRY_DELAYS = (5.0, 15.0, 30.0, 60.0, 120.0)
ELSEWHERE = object()  # what a download job returns when another GenLab process has the file


@dataclass
class LiveStats:
    done: int = 0
    total: int = 0
    speed: float = 0.0
    eta: float | None = None


class DownloadsController(QObject):
    changed = Signal()
    summary = Signal(str)
    installed = Signal(object)
    failed = Signal(str, str)

    def __init__(self, runner: JobRunner, downloads: DownloadList | None = None, max_parallel: int = 2,
                 policy=None, resume: bool = True, retry_delays: tuple[float, ...] = NETWORK_RETRY_DELAYS,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.downloads = downloads or DownloadList()
        self.max_parallel = max(1, max_parallel)
        self.policy = policy
        self.retry_delays = retry_delays
        self.handles: dict[str, JobHandle] = {}
        self.live: dict[str, LiveStats] = {}
        self._entries: list[DownloadEntry] = []  # the list as read on the last state change, for the summary
        self._elsewhere: set[str] = set()  # keys another GenLab process was downloading when last looked at
        self._cancel_requested: set[str] = set()
        self._network_tries = 0
        self._probe: JobHandle | None = None
        self._network_timer = QTimer(self, singleShot=True)
        self._network_timer.timeout.connect(self._probe_network)
        if resume:
            for entry in self.downloads.resumable():
                self.downloads.update(entry.key, status="queued")
            self._schedule()
        else:
            self._reread()

    # --- commands ------------------------------------------------------------------
    def request(self, ref: FileRef, *, dest: Path | None = None, root: Path | None = None, source: str = "hub",
                catalog_id: str = "") -> DownloadEntry:
        """Queue a download; asking twice for the same file gives the same entry (one transfer).

        ``dest``/``root``: where the file goes and the model folder it completes, when not the repo's own
        (:func:`desktop.core.hub.queue.catalog_downloads`)."""
        entry = self.downloads.add(ref, dest, source=source, catalog_id=catalog_id, root=root)
        if entry.status not in ("queued", "running"):
            entry = self.downloads.update(entry.key, status="queued")
        self._elsewhere.discard(entry.key)  # asked for again: look whether the other process still has it
        self._schedule()
        self.changed.emit()
        return entry

    def pause(self, key: str) -> None:
        entry = self.downloads.get(key)
        if key not in self.handles and entry is not None:
            try:
                refuse_if_elsewhere(entry, "paused", "Pause")
            except DownloadBusy as exc:  # another GenLab process runs it
                self.failed.emit(key, str(exc))
                return
        # Marked first, so a job that had not started yet is not scheduled again when it ends;
        # a running one marks itself paused again as it stops, and keeps its bytes.
        self.downloads.update(key, status="paused")
        handle = self.handles.get(key)
        if handle is not None:
            handle.cancel()
        self._reread()
        self.changed.emit()

    def resume(self, key: str) -> None:
        if key not in self.handles:
            self.downloads.update(key, status="queued", error="")
            self._elsewhere.discard(key)
            self._schedule()
        self.changed.emit()

    def cancel(self, key: str) -> None:
        handle = self.handles.get(key)
        if handle is not None:
            self._cancel_requested.add(key)
            handle.cancel()
        else:
            try:
                self.downloads.cancel(key)  # refuses a download another GenLab process runs
            except DownloadBusy as exc:
                self.failed.emit(key, str(exc))
                return
            self.live.pop(key, None)
            self._check_pipeline(key)
        self._reread()
        self.changed.emit()

    def clear_finished(self) -> None:
        for entry in self.downloads.entries():
            if entry.status in ("done", "cancelled"):
                self.downloads.remove(entry.key)
        self._reread()
        self.changed.emit()

    def active_count(self) -> int:
        return len(self.handles)

    # --- scheduling -------------------------------------------------------------------
    def _reread(self) -> None:
        self._entries = self.downloads.entries()
        self._emit_summary()

    def _schedule(self) -> None:
        self._entries = self.downloads.entries()
        for entry in self._entries:
            if len(self.handles) >= self.max_parallel:
                break
            if entry.status != "queued" or entry.key in self.handles or entry.key in self._elsewhere:
                continue
            if transfer_elsewhere(Path(entry.dest)):
                self._elsewhere.add(entry.key)
            else:
                self._start(entry)
        self._emit_summary()
        self._arm_network_retry()

    def _start(self, entry: DownloadEntry) -> None:
        downloads, policy = self.downloads, self.policy

        def job(*, cancel, progress):
            try:
                return run_entry(entry, downloads, policy=policy, cancel=cancel, progress=progress)
            except DownloadBusy:  # not a failure: the other process goes on with it
                return ELSEWHERE

        handle = self.runner.submit(Job(f"Download {entry.filename}", job, kind="io", meta={"key": entry.key},
                                        reports_failure=True))  # through self.failed, never for a wait
        if handle.token.cancelled:  # the runner is shut down (the app quits): the entry stays queued
            return
        self.handles[entry.key] = handle
        self.live.setdefault(entry.key, LiveStats(entry.done, entry.size))
        key = entry.key
        handle.progressed.connect(lambda reports, key=key: self._on_progress(key, reports))
        handle.finished.connect(lambda result, key=key: self._on_finished(key, result))
        handle.failed.connect(lambda message, _tb, key=key: self._on_failed(key, message))
        handle.ended.connect(lambda key=key: self._on_ended(key))

    def _on_progress(self, key: str, reports: list) -> None:
        for report in reversed(reports):
            payload = report.payload
            if isinstance(payload, DownloadProgress):
                self.live[key] = LiveStats(payload.done, payload.total, payload.speed, payload.eta)
                break
        self.changed.emit()
        self._emit_summary()

    def _on_finished(self, key: str, result) -> None:
        if result is ELSEWHERE:
            self._elsewhere.add(key)
            return
        self._network_tries = 0  # the network works: a later wait starts from the shortest delay
        self._check_pipeline(key)
        self.installed.emit(result)

    def _on_failed(self, key: str, message: str) -> None:
        entry = self.downloads.get(key)
        if entry is None or entry.status != WAITING_NETWORK:
            self.failed.emit(key, message)

    def _check_pipeline(self, key: str) -> None:
        """After a pipeline member ends: list the pipeline when all its files arrived, else say what is missing."""
        from desktop.core.hub.queue import register_pipeline_if_complete

        entry = self.downloads.get(key)
        if entry is None or (Path(entry.filename).suffix == ".gguf" and not entry.root):
            return
        try:
            register_pipeline_if_complete(entry, self.downloads)
        except GenLabError as exc:
            self.failed.emit(key, str(exc))

    def _on_ended(self, key: str) -> None:
        self.handles.pop(key, None)
        if key in self._cancel_requested:
            self._cancel_requested.discard(key)
            self.downloads.cancel(key)
            self.live.pop(key, None)
            self._check_pipeline(key)
        self._schedule()
        self.changed.emit()

    # --- waiting for the network ------------------------------------------------------
    def waiting(self) -> list[DownloadEntry]:
        """Downloads the network stopped, not running now."""
        return [e for e in self._entries if e.status == WAITING_NETWORK and e.key not in self.handles]

    def retry_waiting(self) -> None:
        """Queue every download that waits for the network again (the hub answers)."""
        for entry in self.waiting():
            self.downloads.update(entry.key, status="queued")
        self._schedule()
        self.changed.emit()

    def _arm_network_retry(self) -> None:
        """While a download waits for the network (or another process), look again after a longer delay."""
        if self._probe is not None or self._network_timer.isActive() or not (self.waiting() or self._elsewhere):
            return
        delay = self.retry_delays[min(self._network_tries, len(self.retry_delays) - 1)]
        self._network_timer.start(int(delay * 1000))

    def _probe_network(self) -> None:
        self._network_tries += 1
        if self.waiting():
            probe = self.runner.submit(Job("Checking whether the hub can be reached", _hub_answers, kind="io"))
            if probe.token.cancelled:  # the app quits; the waiting downloads are tried at next start
                return
            self._probe = probe
            probe.ended.connect(lambda probe=probe: self._after_probe(probe))
        if self._elsewhere:  # taken up here if the other process let go of them
            self._elsewhere.clear()
            self._schedule()

    def _after_probe(self, probe: JobHandle) -> None:
        self._probe = None
        if probe.state == DONE and probe.result:
            self.retry_waiting()
        else:
            self._arm_network_retry()

    def _emit_summary(self) -> None:
        """The status-bar line, from the controller's own state: it never reads the file."""
        active = [self.live.get(k, LiveStats()) for k in self.handles]
        idle = [e for e in self._entries if e.key not in self.handles]
        queued = sum(1 for e in idle if e.status == "queued" and e.key not in self._elsewhere)
        waiting = len(self.waiting())
        if not active and queued <= 0:
            self.summary.emit(f"{waiting} download(s) waiting for the network" if waiting else "")
            return
        done, total = sum(s.done for s in active), sum(s.total for s in active)
        speed = sum(s.speed for s in active)
        pct = f"{100 * done / total:.0f}%" if total else "starting"
        extra = f", {queued} queued" if queued > 0 else ""
        extra += f", {waiting} waiting for the network" if waiting else ""
        self.summary.emit(f"Downloading {len(active)} file(s): {pct}, {fmt_bytes(speed)}/s{extra}")


def _hub_answers(*, cancel, progress) -> bool:
    """Job: can the hub be reached now?  One TCP connection; never in GenLab's offline mode."""
    from desktop.core.hub.access import hub_reachable, offline_requested

    return not offline_requested() and hub_reachable()


def downloads_controller(services, runner: JobRunner) -> DownloadsController:
    """The process's one controller (``services.shared``), created, and resuming, on first call.

    The main window can call this at startup so unfinished downloads resume
    before the Models workspace is first shown; the workspace reuses it.
    """
    def make() -> DownloadsController:
        from desktop.core.hub.transfer import RetryPolicy

        settings = services.settings.downloads
        return DownloadsController(runner, max_parallel=settings.max_parallel,
                                   policy=RetryPolicy(stall_seconds=settings.stall_seconds))

    return services.ui_singleton(DownloadsController, make)


def _status_text(entry: DownloadEntry, running: bool) -> str:
    """An entry's status as the panel shows it."""
    if running and entry.status != "paused":
        return "downloading"
    if entry.status == WAITING_NETWORK:
        return "waiting for the network"
    if entry.status == "done" and entry.already_installed:
        return "already installed"
    return entry.status


def _eta_text(eta: float | None) -> str:
    if eta is None:
        return ""
    minutes, seconds = divmod(int(eta), 60)
    return f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"


class DownloadsPanel(QWidget):
    """Rows per file: status, bytes, speed, ETA; Pause / Resume / Cancel act on the selected row.

    With nothing to list it shows an empty pane ("No downloads yet") whose button asks for the catalog.

    Signals:
        browse_catalog_requested(): the empty pane's "Browse the catalog" was clicked.
    """

    browse_catalog_requested = Signal()

    COLUMNS = ("File", "Repo", "Status", "Progress", "Speed", "ETA")

    def __init__(self, controller: DownloadsController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        layout = QVBoxLayout(self)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(self.COLUMNS)
        size_columns(self.tree, stretch=0)  # the file name gets the room; the rest as wide as needed
        self.tree.setRootIsDecorated(False)
        self.tree.itemSelectionChanged.connect(self._update_buttons)
        self.empty = EmptyState("download-simple", "No downloads yet",
                                "Models you download from the Catalog or the Hub are listed here while they "
                                "download, with their speed; they can be paused and resumed.",
                                "Browse the catalog", action_icon="cube")
        self.empty.action_requested.connect(self.browse_catalog_requested)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.empty)
        self.pages.addWidget(self.tree)
        layout.addWidget(self.pages, 1)
        buttons = QHBoxLayout()
        self.pause_button = QPushButton("Pause")
        self.resume_button = QPushButton("Resume")
        self.cancel_button = QPushButton("Cancel")
        self.clear_button = QPushButton("Clear finished")
        for button, slot in ((self.pause_button, controller.pause), (self.resume_button, controller.resume),
                             (self.cancel_button, controller.cancel)):
            button.clicked.connect(lambda _=False, slot=slot: self._act(slot))
            buttons.addWidget(button)
        self.clear_button.clicked.connect(controller.clear_finished)
        buttons.addStretch(1)
        buttons.addWidget(self.clear_button)
        layout.addLayout(buttons)
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.error_label)
        self._refresh_timer = QTimer(self, interval=100, singleShot=True)
        self._refresh_timer.timeout.connect(self.refresh)
        controller.changed.connect(self._schedule_refresh)
        self._statuses: dict[str, str] = {}
        self.refresh()

    def selected_key(self) -> str | None:
        items = self.tree.selectedItems()
        return items[0].data(0, Qt.ItemDataRole.UserRole) if items else None

    def _act(self, slot) -> None:
        key = self.selected_key()
        if key:
            slot(key)

    def _schedule_refresh(self) -> None:
        """Coalesce bursts of changes into one refresh per 100 ms.

        The timer is started only when idle: restarting it on every change
        would postpone the refresh forever while progress arrives faster
        than every 100 ms.
        """
        if not self._refresh_timer.isActive():
            self._refresh_timer.start()

    def refresh(self) -> None:
        selected = self.selected_key()
        self.tree.clear()
        entries = self.controller.downloads.entries()  # another process's entries too; a read takes no lock
        self._statuses = {e.key: e.status for e in entries}  # what the rows show, for the buttons
        for entry in reversed(entries):
            live = self.controller.live.get(entry.key)
            done = live.done if live else entry.done
            total = (live.total if live else 0) or entry.size
            running = entry.key in self.controller.handles
            status = _status_text(entry, running)
            progress = (f"{100 * done / total:.0f}% · {fmt_bytes(done)} of {fmt_bytes(total)}" if total
                        else (fmt_bytes(done) if done else ""))
            speed = f"{fmt_bytes(live.speed)}/s" if running and live and live.speed else ""
            item = QTreeWidgetItem([entry.filename, entry.repo_id, status, progress, speed,
                                    _eta_text(live.eta) if running and live else ""])
            item.setData(0, Qt.ItemDataRole.UserRole, entry.key)
            if entry.error or entry.note:
                item.setToolTip(2, entry.error or entry.note)
            if entry.path:
                item.setToolTip(0, entry.path)
            self.tree.addTopLevelItem(item)
            if entry.key == selected:
                item.setSelected(True)
        self.error_label.setText(_notice(entries))
        self.pages.setCurrentWidget(self.tree if entries else self.empty)
        self._update_buttons()

    def _update_buttons(self) -> None:
        status = self._statuses.get(self.selected_key() or "", "")
        self.pause_button.setEnabled(status in ("queued", "running", WAITING_NETWORK))
        self.resume_button.setEnabled(status in ("paused", "failed", WAITING_NETWORK))  # waiting: try now
        self.cancel_button.setEnabled(status in ("queued", "running", "paused", "failed", WAITING_NETWORK))


def _notice(entries: list[DownloadEntry]) -> str:
    """The lines under the list: the latest error a person must act on, and why downloads wait."""
    lines = []
    # failed entries, and cancelled pipeline files that keep their pipeline unlisted
    failed = [e for e in entries if e.status in ("failed", "cancelled") and e.error]
    if failed:
        lines.append(f"{failed[-1].filename}: {failed[-1].error}")
    waiting = [e for e in entries if e.status == WAITING_NETWORK]
    if waiting:
        more = f" (and {len(waiting) - 1} more)" if len(waiting) > 1 else ""
        lines.append(f"Waiting for the network: {waiting[-1].filename}{more}: {waiting[-1].error}")
    return "\n".join(lines)
