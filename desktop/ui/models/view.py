"""The Models workspace: library, catalog, hub search, downloads and remote servers.

``ModelsWorkspace(services, runner)`` holds five tabs (the fifth, Remote servers, is
:mod:`desktop.ui.models.remote`).  Long work (imports,
scans, verification, hub calls, downloads) runs as ``io`` jobs on the
runner; results come back by the job handles' signals.  The downloads
controller is the process's shared one (``downloads_controller``), so
downloads continue while another workspace is shown; it resumes the
unfinished downloads of the last session when it is first created (at app
start when the main window asks for it, else with this workspace).

Hooks:
    is_loaded(Path) -> bool: whether this process's engines have a model
        loaded (``Services.model_in_use`` by default); deleting it is
        refused.  A model another GenLab process has loaded is refused too,
        by the library's cross-process check (:mod:`desktop.core.models.locks`).
    confirm(str) -> bool, warn(str) and choose_path(folder: bool) -> str:
        dialogs, replaceable (tests answer them without a modal loop).
        A refused delete (the model is loaded) is a ``warn`` dialog.

The Library is where a model is started from: double-clicking a row, or
"Chat with this" / "Generate with this" (the label follows the selected
model's kind), emits ``use_model_requested``; Verify, Delete and that button
are disabled while nothing is selected.  The table is re-read whenever the
Library tab is shown, so "Last used" (written by the engines when they load a
model) is current.

Signals:
    status_message(str): a line for the main window's status bar: a
        download that failed.  (The running total has its own permanent
        label, fed by the controller's ``summary``; sending it here too
        cleared the status bar, and the failure on it, when downloads
        ended.)
    use_model_requested(str, str): the kind ("text" or "image") and path of a
        library model to open in Chat or Images; the main window switches
        there and loads it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.core.errors import GenLabError
from desktop.core.hardware import fmt_bytes
from desktop.core.jobs import Job
from desktop.core.models.errors import ModelInUse
from desktop.core.models.library import Library, LibraryModel
from desktop.ui.models.browse import CatalogTab, HubTab, current_machine
from desktop.ui.models.downloads import DownloadsPanel, downloads_controller
from desktop.ui.models.remote import RemoteServersTab
from desktop.ui.widgets import size_columns


def _date(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts)) if ts else "never"


class LibraryTab(QWidget):
    """Installed models with import, scan, verify and delete."""

    COLUMNS = ("Name", "Kind", "Family", "Quant", "Size", "Source", "Added", "Last used", "sha256")
    status = Signal(str)
    use_requested = Signal(str, str)  # kind, path

    def __init__(self, workspace: "ModelsWorkspace") -> None:
        super().__init__(workspace)
        self.workspace = workspace
        self.library = Library()
        self._models: dict[str, LibraryModel] = {}
        layout = QVBoxLayout(self)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(self.COLUMNS)
        size_columns(self.tree, stretch=0)
        self.tree.setRootIsDecorated(False)
        self.tree.setSortingEnabled(True)
        self.tree.itemSelectionChanged.connect(self._update_buttons)
        self.tree.itemDoubleClicked.connect(lambda _item, _column: self.use_selected())
        self.empty_hint = QLabel(
            "<b>No models yet.</b> Pick one that fits this machine in the <a href='catalog'>Catalog</a>, "
            "search the <a href='hub'>Hugging Face Hub</a>, import a .gguf / .safetensors file or a "
            "diffusers folder below, or <a href='scan'>scan for models</a> already on this computer "
            "(the Hugging Face cache; add LM Studio's or GPT4All's folder with Add folder…).")
        self.empty_hint.setWordWrap(True)
        self.empty_hint.setObjectName("emptyLibraryHint")
        self.empty_hint.linkActivated.connect(self._hint_link)
        layout.addWidget(self.empty_hint)
        layout.addWidget(self.tree, 1)
        row = QHBoxLayout()
        self.mode_combo = QComboBox()
        for label, mode in (("Copy", "copy"), ("Move", "move"), ("Link in place", "link")):
            self.mode_combo.addItem(label, mode)
        self.import_file_button = QPushButton("Import file…")
        self.import_folder_button = QPushButton("Import folder…")
        self.import_folder_button.setToolTip("Import a diffusers pipeline folder (with model_index.json).")
        self.scan_button = QPushButton("Scan for models")
        self.add_folder_button = QPushButton("Add folder…")
        self.add_folder_button.setToolTip("For example LM Studio's or GPT4All's models folder; "
                                          "models there are used in place, not copied.")
        self.add_folder_button.clicked.connect(lambda: self.add_scan_folder(self.workspace.choose_path(True)))
        self.verify_button = QPushButton("Verify")
        self.delete_button = QPushButton("Delete…")
        self.use_button = QPushButton("Chat with this")
        self.use_button.setDefault(True)
        self.use_button.clicked.connect(self.use_selected)
        self.import_file_button.clicked.connect(lambda: self._import_dialog(folder=False))
        self.import_folder_button.clicked.connect(lambda: self._import_dialog(folder=True))
        self.scan_button.clicked.connect(self.scan)
        self.verify_button.clicked.connect(self.verify_selected)
        self.delete_button.clicked.connect(self.delete_selected)
        manage = QHBoxLayout()  # two short rows keep the workspace narrow
        for widget in (QLabel("Import as:"), self.mode_combo, self.import_file_button, self.import_folder_button):
            row.addWidget(widget)
        for widget in (self.scan_button, self.add_folder_button, self.verify_button, self.delete_button):
            manage.addWidget(widget)
        row.addStretch(1)
        manage.addStretch(1)
        manage.addWidget(self.use_button)
        layout.addLayout(row)
        layout.addLayout(manage)
        self.usage_label = QLabel()
        layout.addWidget(self.usage_label)
        self.refresh()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.refresh()  # an engine may have loaded a model since ("Last used")

    def refresh(self) -> None:
        """Re-read the library; the selected model stays selected."""
        selected = self.selected_id()
        self.tree.setSortingEnabled(False)
        self.tree.clear()
        models = self.library.models()
        self._models = {m.id: m for m in models}
        for m in models:
            source = "linked" if m.source == "imported" and not m.owned else m.source  # used in place
            item = QTreeWidgetItem([m.name, m.kind, m.family, m.quantization, fmt_bytes(m.size), source,
                                    _date(m.added_at), _date(m.last_used), m.sha256[:16]])
            item.setData(0, Qt.ItemDataRole.UserRole, m.id)
            item.setToolTip(0, m.path)
            self.tree.addTopLevelItem(item)
            item.setSelected(m.id == selected)
        self.tree.setSortingEnabled(True)
        self._update_buttons()
        self.empty_hint.setVisible(not models)
        self.usage_label.setText(f"{len(models)} model(s), {fmt_bytes(self.library.total_usage())} in total, "
                                 f"{fmt_bytes(self.library.total_usage(owned_only=True))} in GenLab's models folder")

    def _hint_link(self, target: str) -> None:
        if target == "scan":
            self.scan()
        elif target == "catalog":
            self.workspace.show_catalog()
        else:
            self.workspace.focus_search()

    def selected_id(self) -> str | None:
        items = self.tree.selectedItems()
        return items[0].data(0, Qt.ItemDataRole.UserRole) if items else None

    def select(self, model_id: str) -> None:
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            item.setSelected(item.data(0, Qt.ItemDataRole.UserRole) == model_id)

    def selected_model(self) -> LibraryModel | None:
        model_id = self.selected_id()
        return self._models.get(model_id) if model_id else None

    def _update_buttons(self) -> None:
        model = self.selected_model()
        for button in (self.verify_button, self.delete_button, self.use_button):
            button.setEnabled(model is not None)
        image = model is not None and model.kind == "image"
        self.use_button.setText("Generate with this" if image else "Chat with this")
        self.use_button.setToolTip("Open this model in Images and load it." if image
                                   else "Open this model in Chat and load it.")

    def use_selected(self) -> None:
        """Ask for the selected model to be opened where it is used (Chat or Images)."""
        model = self.selected_model()
        if model is not None:
            self.use_requested.emit("image" if model.kind == "image" else "text", model.path)

    def _import_dialog(self, folder: bool) -> None:
        path = self.workspace.choose_path(folder)
        if path:
            self.import_path(Path(path), self.mode_combo.currentData())

    def import_path(self, path: Path, mode: str = "copy"):
        library = self.library
        return self._run(f"Import {path.name}", lambda *, cancel, progress: library.import_path(
            path, mode, cancel=cancel, progress=progress), lambda m: f"Imported {m.name} ({m.kind}, {fmt_bytes(m.size)}).")

    def add_scan_folder(self, folder: str):
        """Remember a user folder (settings) and scan it now."""
        if not folder:
            return None
        services = self.workspace.services
        folders = services.settings.downloads.extra_model_folders
        if folder not in folders:
            folders.append(folder)
            try:
                services.save_settings()
            except GenLabError as exc:
                self.status.emit(str(exc))
        return self.scan()

    def scan(self):
        folders = [Path(f) for f in self.workspace.services.settings.downloads.extra_model_folders]
        library = self.library
        return self._run("Scan for models", lambda *, cancel, progress: library.scan(
            folders, cancel=cancel, progress=progress),
            lambda r: f"Scan: {len(r.added)} added, {len(r.removed)} gone, {len(r.rejected)} skipped.")

    def verify_selected(self):
        model_id = self.selected_id()
        if not model_id:
            self.status.emit("Select a model to verify.")
            return None
        library = self.library
        return self._run("Verify model", lambda *, cancel, progress: library.verify(
            model_id, cancel=cancel, progress=progress), lambda r: r[1])

    def delete_selected(self) -> None:
        model_id = self.selected_id()
        if not model_id:
            self.status.emit("Select a model to delete.")
            return
        try:
            plan = self.library.plan_delete(model_id, is_loaded=self.workspace.is_loaded)  # refuses before asking
            if not self.workspace.confirm(plan.message):
                return
            done = self.library.delete(model_id, is_loaded=self.workspace.is_loaded)
        except ModelInUse as exc:
            self.workspace.warn(str(exc))  # a refusal the user must read, not a passing status line
            return
        except GenLabError as exc:
            self.status.emit(str(exc))
            return
        self.refresh()
        self.status.emit(f"Deleted {done.model.name}; freed {fmt_bytes(done.bytes_freed)}.")

    def _run(self, name: str, fn, describe: Callable):
        handle = self.workspace.runner.submit(Job(name, fn, kind="io"))
        handle.progressed.connect(lambda reports: self.status.emit(reports[-1].message))
        handle.finished.connect(lambda result: (self.refresh(), self.status.emit(describe(result))))
        handle.failed.connect(lambda message, _tb: self.status.emit(message))
        return handle


class ModelsWorkspace(QWidget):
    status_message = Signal(str)
    use_model_requested = Signal(str, str)  # kind ("text" | "image"), path

    def __init__(self, services, runner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services, self.runner = services, runner
        self.is_loaded: Callable[[Path], bool] = services.model_in_use
        settings = services.settings
        self.downloads = downloads_controller(services, runner)
        machine = current_machine()
        layout = QVBoxLayout(self)
        self.tabs = QTabWidget()
        self.library_tab = LibraryTab(self)
        self.catalog_tab = CatalogTab(self.downloads, machine, settings.text.context_size or 4096, runner=runner,
                                      history=lambda: services.opened_history_store)
        self.hub_tab = HubTab(self.downloads, machine, runner, settings.text.context_size or 4096)
        self.catalog_tab.speed_measured.connect(self.hub_tab.set_speed)  # one measurement for both tabs
        if self.catalog_tab.bandwidth is not None:
            self.hub_tab.set_speed((self.catalog_tab.bandwidth, self.catalog_tab.measured_speeds))
        self.downloads_panel = DownloadsPanel(self.downloads)
        self.tabs.addTab(self.library_tab, "Library")
        self.tabs.addTab(self.catalog_tab, "Catalog")
        self.tabs.addTab(self.hub_tab, "Hub")
        self.tabs.addTab(self.downloads_panel, "Downloads")
        self.remote_tab = RemoteServersTab(runner)  # OpenAI-compatible servers as model sources
        self.tabs.addTab(self.remote_tab, "Remote servers")
        layout.addWidget(self.tabs, 1)
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        layout.addWidget(self.status_label)
        for tab in (self.library_tab, self.catalog_tab, self.hub_tab, self.remote_tab):
            tab.status.connect(self.show_status)
        self.library_tab.use_requested.connect(self.use_model_requested)
        self.downloads_panel.browse_catalog_requested.connect(self.show_catalog)
        # Bound methods (not lambdas): Qt drops them if this widget goes before the shared controller.
        self.downloads.installed.connect(self._on_installed)
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self.downloads.failed.connect(self._on_download_failed)

    def _on_installed(self, result) -> None:
        self.library_tab.refresh()
        self.catalog_tab.refresh_installed()
        if getattr(result, "already_installed", False):
            self.show_status(f"{result.ref.filename} is already installed at {result.path}; nothing was downloaded.")

    def _on_tab_changed(self, _index: int) -> None:
        if self.tabs.currentWidget() is self.catalog_tab:  # imports, scans and deletes change what is installed
            self.catalog_tab.refresh_installed()

    def _on_download_failed(self, _key: str, message: str) -> None:
        self.show_status(message)  # the main window puts it in the status bar

    def show_status(self, text: str) -> None:
        self.status_label.setText(text)

    def show_catalog(self) -> None:
        """Bring the Catalog forward (where the Chat workspace's "get a model" link leads)."""
        self.tabs.setCurrentWidget(self.catalog_tab)

    def focus_search(self) -> None:
        self.tabs.setCurrentWidget(self.hub_tab)
        self.hub_tab.query_edit.setFocus()

    # Dialog hooks: replaceable so tests never open a modal loop.
    def confirm(self, text: str) -> bool:
        answer = QMessageBox.question(self, "GenLab", text)
        return answer == QMessageBox.StandardButton.Yes

    def warn(self, text: str) -> None:
        QMessageBox.warning(self, "GenLab", text)

    def choose_path(self, folder: bool) -> str:
        if folder:
            return QFileDialog.getExistingDirectory(self, "Import a diffusers folder")
        path, _ = QFileDialog.getOpenFileName(self, "Import a model file", "", "Models (*.gguf *.safetensors)")
        return path
