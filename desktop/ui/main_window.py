"""The main window: navigation between workspaces, status bar, job queue, shortcuts.

Workspaces are created the first time they are shown, so startup builds only
the one on screen.  A workspace is a QWidget built as
``Workspace(services, runner, parent)`` that satisfies the small protocols of
``ui/workspace.py``: every one has ``status_message`` for the status bar; a
``Generating`` one gets Ctrl+Enter and Esc, a ``Searching`` one Ctrl+F.  The
History workspace's ``rerun_requested``, ``continue_requested`` and
``reuse_requested`` are routed to Chat or Images by the record's kind, and the
Models workspace's ``use_model_requested`` opens the model in Chat or Images.

Background services (resuming downloads, opening the history and loading
its embedder) start shortly after the first paint, never before it.  As soon
as the history is open the window listens for failed saves (a full disk...):
whichever workspace is active, the error goes to the status bar and a warning
button stays in it until the person has read the message.  While incognito
is on, a label in the status bar says so in every workspace.  The API server
(Preferences) runs in the app with its own controller; the status bar shows
"API host:port" while it serves, and a click opens its request log.

Signals:
    first_painted(): the window was painted for the first time (startup timing).
    history_save_failed(str): a history save failed; emitted on the GUI thread
        (the store reports on its writer thread).
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from dataclasses import dataclass, fields, is_dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QMainWindow,
    QMessageBox,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop import APP_NAME
from desktop.core import paths
from desktop.core.errors import GenLabError
from desktop.core.jobs import Job
from desktop.core.services import Services
from desktop.core.settings import Settings
from desktop.ui.incognito import INCOGNITO_LINE, INCOGNITO_TOOLTIP, INDICATOR_STYLE
from desktop.ui.jobs_panel import JobsPanel, JobStatus
from desktop.ui.runner import JobHandle, JobRunner
from desktop.ui.server.controller import ServerController, store_api_key, stored_api_key
from desktop.ui.server.log_panel import RequestLogPanel, ServerIndicator
from desktop.ui.theme import set_theme
from desktop.ui.widgets import ElidedLabel
from desktop.ui.workspace import Generating, Searching, Workspace

if TYPE_CHECKING:  # the workspaces are imported when first shown, not at startup
    from desktop.ui.chat.view import ChatWorkspace
    from desktop.ui.images.view import ImagesWorkspace
    from desktop.ui.models.view import ModelsWorkspace
    from desktop.ui.preferences import PreferencesDialog

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkspaceSpec:
    key: str
    title: str
    module: str
    cls: str
    summary: str


WORKSPACES = (
    WorkspaceSpec("chat", "Chat", "desktop.ui.chat.view", "ChatWorkspace",
                  "Chat with GGUF language models on llama.cpp, on your GPU or CPU."),
    WorkspaceSpec("images", "Images", "desktop.ui.images.view", "ImagesWorkspace",
                  "Generate images with Stable Diffusion models and reproduce any of them exactly."),
    WorkspaceSpec("history", "History", "desktop.ui.history.view", "HistoryWorkspace",
                  "Find anything you ever generated, by meaning or by keyword."),
    WorkspaceSpec("models", "Models", "desktop.ui.models.view", "ModelsWorkspace",
                  "Download, import and manage the models on this machine."),
    WorkspaceSpec("experiments", "Experiments", "desktop.ui.experiments.view", "ExperimentsWorkspace",
                  "Sweep prompts, models, seeds and parameters, then compare and rate the results."),
    WorkspaceSpec("insights", "Insights", "desktop.ui.insights.view", "InsightsWorkspace",
                  "See how you use your models over time: generations, speed, ratings and disk use."),
    WorkspaceSpec("arena", "Arena", "desktop.ui.arena.view", "ArenaWorkspace",
                  "Compare two models blind on your prompts, vote with the keys 1-4, and rank them."),
    WorkspaceSpec("knowledge", "Knowledge", "desktop.ui.knowledge.view", "KnowledgeWorkspace",
                  "Index folders of documents so that Chat can answer from them and cite them."),
)


def _info_page(spec: WorkspaceSpec, detail: str) -> QWidget:
    page = QWidget()
    layout = QVBoxLayout(page)
    layout.addStretch(1)
    title = QLabel(spec.title)
    title.setObjectName("workspaceTitle")
    hint = QLabel(f"{spec.summary}\n{detail}")
    hint.setObjectName("workspaceHint")
    hint.setWordWrap(True)
    for w in (title, hint):
        w.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(w)
    layout.addStretch(2)
    return page


class MainWindow(QMainWindow):
    first_painted = Signal()
    history_save_failed = Signal(str)

    def __init__(self, services: Services, runner: JobRunner, *, start_services: bool = True) -> None:
        super().__init__()
        self._start_services = start_services
        self.services = services
        self.runner = runner
        self._painted = False
        self._pages: dict[int, QWidget] = {}
        self._unavailable: set[str] = set()  # workspaces that could not be opened
        self.setWindowTitle(APP_NAME)
        self.resize(1200, 800)

        self.nav = QListWidget()
        self.nav.setObjectName("navigation")
        self.nav.setFixedWidth(150)
        for spec in WORKSPACES:
            self.nav.addItem(spec.title)
        self.stack = QStackedWidget()
        for _ in WORKSPACES:
            self.stack.addWidget(QWidget())  # replaced by the real page on first show
        central = QWidget()
        row = QHBoxLayout(central)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        row.addWidget(self.nav)
        row.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        self.jobs_panel = JobsPanel(runner)
        self.jobs_dock = QDockWidget("Jobs", self)
        self.jobs_dock.setObjectName("jobsDock")
        self.jobs_dock.setWidget(self.jobs_panel)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.jobs_dock)
        self.jobs_dock.hide()
        self.api_server = ServerController(services, runner, self)
        self.api_log_dock = QDockWidget("API requests", self)
        self.api_log_dock.setObjectName("apiLogDock")
        self.api_log_dock.setWidget(RequestLogPanel(self.api_server))
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.api_log_dock)
        self.api_log_dock.hide()
        self.api_indicator = ServerIndicator(self.api_server)
        self.api_indicator.clicked.connect(self.api_log_dock.show)

        self.downloads_label = ElidedLabel("", max_width=360)
        self.device_label = QLabel("Device: …")
        self.job_status = JobStatus(runner)
        self.job_status.queue_button.clicked.connect(self.toggle_jobs)
        self.incognito_label = QLabel(INCOGNITO_LINE)
        self.incognito_label.setObjectName("incognitoIndicator")
        self.incognito_label.setStyleSheet(INDICATOR_STYLE)
        self.incognito_label.setToolTip(INCOGNITO_TOOLTIP)
        self.statusBar().addPermanentWidget(self.incognito_label)
        self.update_incognito_indicator()
        self.history_error = QToolButton()
        self.history_error.setObjectName("historyErrorIndicator")
        self.history_error.setText("⚠ History not saved")
        self.history_error.setAutoRaise(True)
        self.history_error.setStyleSheet("color:#c0392b;font-weight:bold")
        self.history_error.clicked.connect(self.show_history_error)
        self.history_error.hide()
        self.history_save_failed.connect(self._history_save_failed)
        self.statusBar().addPermanentWidget(self.history_error)
        self.statusBar().addPermanentWidget(self.downloads_label)
        self.statusBar().addPermanentWidget(self.job_status)
        self.statusBar().addPermanentWidget(self.api_indicator)
        self.statusBar().addPermanentWidget(self.device_label)

        self._build_menus()
        self._build_shortcuts()
        self.nav.currentRowChanged.connect(self.show_workspace)
        self._restore_geometry()
        self.nav.setCurrentRow(max(0, min(services.settings.window.workspace, len(WORKSPACES) - 1)))
        QTimer.singleShot(0, self._after_show)

    # --- workspaces -------------------------------------------------------
    def show_workspace(self, index: int) -> None:
        if index < 0:
            return
        if index not in self._pages:
            page = self._create_page(WORKSPACES[index])
            old = self.stack.widget(index)
            self.stack.insertWidget(index, page)
            self.stack.removeWidget(old)
            old.deleteLater()
            self._pages[index] = page
        self.stack.setCurrentIndex(index)
        if self.nav.currentRow() != index:
            self.nav.setCurrentRow(index)
        self.services.settings.window.workspace = index

    def _create_page(self, spec: WorkspaceSpec) -> QWidget:
        if importlib.util.find_spec(spec.module) is None:
            self._unavailable.add(spec.key)
            return _info_page(spec, "This workspace is not part of this build yet.")
        try:
            module = importlib.import_module(spec.module)
            page = getattr(module, spec.cls)(self.services, self.runner, self)
        except Exception as exc:  # a broken workspace must not take the app down
            log.exception("could not open the %s workspace", spec.title)
            self._unavailable.add(spec.key)
            return _info_page(spec, f"This workspace could not be opened: {exc}\n"
                                    f"Details are in the log ({paths.logs_dir()}).")
        if isinstance(page, Workspace):
            page.status_message.connect(lambda text: self.statusBar().showMessage(text, 10000))
        self._wire(spec.key, page)
        return page

    def _wire(self, key: str, page: QWidget) -> None:
        """Connect the signals one workspace has to the others (imports only the module just loaded)."""
        if key == "chat":
            from desktop.ui.chat.view import ChatWorkspace

            if isinstance(page, ChatWorkspace):
                page.open_models_requested.connect(self.show_catalog)
        elif key == "images":
            from desktop.ui.images.view import ImagesWorkspace

            if isinstance(page, ImagesWorkspace):
                page.open_models_requested.connect(self.show_catalog)
        elif key == "history":
            from desktop.ui.history.view import HistoryWorkspace

            if isinstance(page, HistoryWorkspace):
                page.rerun_requested.connect(self.rerun_record)
                page.continue_requested.connect(self.continue_record)
                page.reuse_requested.connect(self.reuse_record)
                page.upscale_requested.connect(self.upscale_record)
                page.incognito.toggled.connect(lambda _on: self.update_incognito_indicator())
        elif key == "models":
            from desktop.ui.models.view import ModelsWorkspace

            if isinstance(page, ModelsWorkspace):
                page.use_model_requested.connect(self.use_model)
        elif key == "experiments":
            from desktop.ui.experiments.view import ExperimentsWorkspace

            if isinstance(page, ExperimentsWorkspace):
                page.show_in_history_requested.connect(self.show_history_session)

    # --- typed access to the workspaces (None: it could not be opened; its page says why) ----
    def chat(self) -> ChatWorkspace | None:
        page = self.workspace("chat")
        if "chat" in self._unavailable:
            return self._unavailable_workspace("chat")
        from desktop.ui.chat.view import ChatWorkspace

        return page if isinstance(page, ChatWorkspace) else None

    def images(self) -> ImagesWorkspace | None:
        page = self.workspace("images")
        if "images" in self._unavailable:
            return self._unavailable_workspace("images")
        from desktop.ui.images.view import ImagesWorkspace

        return page if isinstance(page, ImagesWorkspace) else None

    def models(self) -> ModelsWorkspace | None:
        page = self.workspace("models")
        if "models" in self._unavailable:
            return self._unavailable_workspace("models")
        from desktop.ui.models.view import ModelsWorkspace

        return page if isinstance(page, ModelsWorkspace) else None

    def _unavailable_workspace(self, key: str) -> None:
        self.statusBar().showMessage(f"The {key} workspace is not available.", 10000)
        return None

    def show_catalog(self) -> None:
        """Open the Models workspace on its Catalog (the "get a model" links lead there)."""
        models = self.models()
        if models is not None:
            models.show_catalog()

    # --- record and model actions (from the History and Models workspaces) ----------------
    def rerun_record(self, record) -> None:
        """Re-run a record exactly in Chat or Images, on the library's file with its model's sha256."""
        from desktop.core.history.rerun import rerun_model_path

        if record.kind not in ("text", "image"):
            self.statusBar().showMessage(f"A {record.kind!r} record cannot be re-run.", 10000)
            return
        from desktop.core.image.upscale import is_upscale_record

        if is_upscale_record(record):  # its upscaler and source image are found by sha256 in the job
            images = self.images()
            if images is not None:  # workspace() has switched to it
                images.rerun_upscale(record)
            return
        try:
            path = rerun_model_path(record)
        except GenLabError as exc:
            self.statusBar().showMessage(str(exc), 15000)
            return
        target = self.chat() if record.kind == "text" else self.images()
        if target is not None:
            target.rerun_record(record, path)

    def continue_record(self, record) -> None:
        """Continue a text record's conversation in Chat (its model is looked up by sha256 there)."""
        chat = self.chat()
        if chat is not None:
            chat.continue_from_record(record, None)

    def reuse_record(self, record) -> None:
        """Fill the Images workspace with an image record's parameters."""
        images = self.images()
        if images is not None:
            images.reuse_parameters(record)

    def upscale_record(self, record) -> None:
        """Open Images and its Upscale… dialog on an image record's image (History's More menu)."""
        images = self.images()
        if images is not None:
            images.ask_upscale(record)

    def show_history_session(self, session_id: str) -> None:
        """Open History on one session's records (an experiment's cells)."""
        from desktop.ui.history.view import HistoryWorkspace

        page = self.workspace("history")
        if isinstance(page, HistoryWorkspace):
            page.show_session(session_id)

    def use_model(self, kind: str, path: str) -> None:
        """Start from a Library model: it opens in Chat or Images and starts loading at once."""
        if kind == "text":
            chat = self.chat()
            if chat is not None:
                chat.select_model(path)
                chat.load_model(path)
        elif kind == "image":
            images = self.images()
            if images is not None:
                images.load_model(path)
        else:
            self.statusBar().showMessage(f"A {kind!r} model has no workspace to open it in.", 10000)

    def current_workspace(self) -> QWidget:
        return self.stack.currentWidget()

    def workspace(self, key: str) -> QWidget:
        index = next(i for i, s in enumerate(WORKSPACES) if s.key == key)
        self.show_workspace(index)
        return self._pages[index]

    def generate(self) -> None:
        page = self.current_workspace()
        if isinstance(page, Generating):
            page.generate()

    def stop(self) -> None:
        page = self.current_workspace()
        if isinstance(page, Generating):
            page.stop()
            return
        for handle in self.runner.engine_jobs():  # Esc elsewhere stops the engine's work
            handle.cancel()

    def focus_search(self) -> None:
        page = self.current_workspace()
        if not isinstance(page, Searching):
            page = self.workspace("history")
        if isinstance(page, Searching):
            page.focus_search()

    def update_incognito_indicator(self) -> None:
        self.incognito_label.setVisible(self.services.settings.history.incognito)

    def toggle_jobs(self) -> None:
        self.jobs_dock.setVisible(not self.jobs_dock.isVisible())

    # --- chrome -----------------------------------------------------------
    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        quit_action = QAction("&Quit", self, shortcut=QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        edit = self.menuBar().addMenu("&Edit")
        preferences = QAction("&Preferences…", self, shortcut=QKeySequence("Ctrl+,"))
        preferences.triggered.connect(self.show_preferences)
        edit.addAction(preferences)
        view = self.menuBar().addMenu("&View")
        for i, spec in enumerate(WORKSPACES):
            action = QAction(spec.title, self, shortcut=QKeySequence(f"Ctrl+{i + 1}"))
            action.triggered.connect(lambda _=False, i=i: self.show_workspace(i))
            view.addAction(action)
        view.addSeparator()
        view.addAction(self.jobs_dock.toggleViewAction())
        view.addAction(self.api_log_dock.toggleViewAction())
        help_menu = self.menuBar().addMenu("&Help")
        about = QAction("&About GenLab", self)
        about.triggered.connect(self.show_about)
        help_menu.addAction(about)

    def _build_shortcuts(self) -> None:
        bindings = (
            ("Ctrl+Return", self.generate), ("Ctrl+Enter", self.generate),
            ("Escape", self.stop), ("Ctrl+F", self.focus_search),
        )
        for keys, slot in bindings:
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(slot)

    def show_about(self) -> None:
        from desktop.ui.about import about_text

        QMessageBox.about(self, f"About {APP_NAME}", about_text())

    def show_preferences(self) -> None:
        from desktop.ui.preferences import PreferencesDialog

        dialog = PreferencesDialog(self.services.settings, self, serving=self.api_server.address)
        if dialog.exec() == PreferencesDialog.DialogCode.Accepted:
            self.take_preferences(dialog)

    def take_preferences(self, dialog: PreferencesDialog) -> None:
        """Apply an accepted Preferences dialog: its API key to the OS keyring, the rest to the settings."""
        if dialog.result_api_key != stored_api_key():
            store_api_key(dialog.result_api_key)  # never the settings file
        self.apply_settings(dialog.result_settings)

    def apply_settings(self, new: Settings) -> None:
        """Take new settings: update the live object in place, save, switch the embedder."""
        current = self.services.settings
        old_embedder = current.history.embedder
        for section in fields(new):
            value = getattr(new, section.name)
            if is_dataclass(value):  # in place: workspaces and engines hold these objects
                target = getattr(current, section.name)
                for f in fields(value):
                    setattr(target, f.name, getattr(value, f.name))
        self.update_incognito_indicator()
        set_theme(current.appearance.theme)
        try:
            self.services.save_settings()
        except GenLabError as exc:
            self.statusBar().showMessage(str(exc), 15000)
        self.apply_server_settings()
        store = self.services.opened_history_store
        if store is not None and current.history.embedder != old_embedder:
            name = current.history.embedder

            def switch(*, cancel, progress):
                store.switch_embedder(name)

            self.runner.submit(Job(f"Switching the embedder to {name}", switch, kind="io"))
            self.statusBar().showMessage(f"Re-embedding the history with {name} in the background.", 10000)

    def apply_server_settings(self) -> None:
        """Start, restart or stop the API server as the settings say; a failed start is said in the status bar."""
        problem = self.api_server.apply(self.services.settings.server)
        if problem:
            self.statusBar().showMessage(f"The API server did not start: {problem}", 30000)

    def bring_to_front(self) -> None:
        self.setWindowState((self.windowState() & ~Qt.WindowState.WindowMinimized) | Qt.WindowState.WindowActive)
        self.show()
        self.raise_()
        self.activateWindow()

    def _after_show(self) -> None:
        from desktop.core.hardware import machine_info

        try:
            self.device_label.setText(f"Device: {machine_info().describe_device()}")
        except Exception as exc:  # never let a probe break the window
            log.warning("device probe failed: %s", exc)
            self.device_label.setText("Device: unknown")
        if self.services.settings_warning:
            self.statusBar().showMessage(self.services.settings_warning, 15000)
        self.runner.queue_changed.connect(self._watch_failures)

    def _start_background_services(self) -> None:
        """After the first paint: resume downloads, open the history (and its embedder)."""
        self._start_downloads()
        self._open_history()
        self.apply_server_settings()

    def _start_downloads(self) -> None:
        """Resume unfinished downloads now, not when the Models tab is first opened."""
        try:
            from desktop.ui.models.downloads import downloads_controller

            controller = downloads_controller(self.services, self.runner)
        except Exception as exc:  # a damaged download list must not stop the app
            log.exception("could not resume downloads")
            self.statusBar().showMessage(f"Downloads could not be resumed: {exc}", 15000)
            return
        controller.summary.connect(self.downloads_label.setText)
        # Real failures only: a download waiting for the network is said by the summary instead.
        controller.failed.connect(lambda _key, message: self.statusBar().showMessage(message, 15000))
        controller._emit_summary()

    def _open_history(self) -> None:
        """Open the history store off the GUI thread; until then results are kept in memory."""
        def open_store(*, cancel, progress):
            return self.services.history_store

        handle = self.runner.submit(Job("Opening history", open_store, kind="io", reports_failure=True))
        handle.finished.connect(self._history_ready)
        handle.failed.connect(lambda msg, _tb: self.statusBar().showMessage(
            f"The history could not be opened: {msg}", 30000))

    def _history_ready(self, store) -> None:
        pending = getattr(self.services.history, "records", [])
        # Engines do not wait on their save futures; failures reach the person through this.
        store.add_error_listener(lambda error: self.history_save_failed.emit(str(error)))
        self.services.set_history(store)
        for record in pending:  # generations made before the store was open
            store.save(record)

    def _history_save_failed(self, message: str) -> None:
        self.statusBar().showMessage(message, 30000)
        self.history_error.setToolTip(message)
        self.history_error.show()

    def show_history_error(self) -> QMessageBox:
        """Show the last history save error in a non-modal box and clear the indicator."""
        box = QMessageBox(QMessageBox.Icon.Warning, "History not saved", self.history_error.toolTip(),
                          QMessageBox.StandardButton.Ok, self)
        box.setModal(False)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.show()
        self.history_error.hide()
        return box

    def _watch_failures(self) -> None:
        for handle in self.runner.active_jobs():
            if not handle.property("watched"):
                handle.setProperty("watched", True)
                handle.failed.connect(lambda msg, _tb, h=handle: self._job_failed(h, msg))

    def _job_failed(self, handle: JobHandle, message: str) -> None:
        if not handle.job.reports_failure:
            self.statusBar().showMessage(message, 15000)

    # --- lifecycle ----------------------------------------------------------
    def event(self, e: QEvent) -> bool:
        result = super().event(e)
        if not self._painted and e.type() in (QEvent.Type.Paint, QEvent.Type.UpdateRequest):
            self._painted = True
            self.first_painted.emit()
            if self._start_services:
                QTimer.singleShot(300, self, self._start_background_services)
        return result

    def _restore_geometry(self) -> None:
        saved = self.services.settings.window
        if saved.geometry:
            self.restoreGeometry(QByteArray.fromBase64(saved.geometry.encode()))
        if saved.state:
            self.restoreState(QByteArray.fromBase64(saved.state.encode()))

    def closeEvent(self, e) -> None:
        window = self.services.settings.window
        window.geometry = bytes(self.saveGeometry().toBase64()).decode()
        window.state = bytes(self.saveState().toBase64()).decode()
        try:
            self.services.save_settings()
        except Exception as exc:
            log.warning("could not save settings: %s", exc)
        self.api_server.stop()
        super().closeEvent(e)
