"""The Models workspace's "Remote servers" tab: OpenAI-compatible servers added as model sources.

:class:`RemoteServersTab` lists the added sources (name, URL, whether a
key is kept, the models last listed) with Add…, Remove and Refresh models.
:class:`RemoteSourceDialog` asks for the base URL, an optional name and an
optional API key; "Test connection" asks the server for its models (``GET
/v1/models``, an io job) and lists them, or says what is wrong: a bad URL
(at once, before anything is sent), a server that cannot be reached or does
not answer, a refused key, something that is not an OpenAI-compatible
server.  A source can be added only once its test succeeded.  Nothing is
contacted until the person presses Test connection or Refresh models.

Signals (RemoteServersTab):
    status(str): a line for the workspace's status label.
    sources_changed(): a source was added, removed or refreshed (pickers re-read them).

Signals (RemoteSourceDialog):
    tested(bool): a connection test ended (True: the models are listed).
"""

from __future__ import annotations

import functools
import html

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.core.errors import GenLabError
from desktop.core.jobs import Job
from desktop.core.models.remote import RemoteSource, RemoteSources, normalize_base_url
from desktop.ui.widgets import size_columns

ERROR_STYLE = "color:#c0392b"


def list_models_job(base_url: str, api_key: str, *, cancel, progress) -> list[str]:
    """The models the server at ``base_url`` lists (an io job; RemoteError says what went wrong)."""
    from desktop.core.text.remote_client import RemoteClient

    with RemoteClient(base_url, api_key) as client:
        return client.list_models()


class RemoteSourceDialog(QDialog):
    """Add a remote server: URL, name, key, a connection test listing its models."""

    tested = Signal(bool)

    def __init__(self, runner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add an OpenAI-compatible server")
        # Wide enough that a window manager shows the whole title and a URL with a path fits its box.
        self.setMinimumWidth(self.fontMetrics().horizontalAdvance(self.windowTitle()) * 2)
        self.runner = runner
        self.models: list[str] = []
        self._tested_with: tuple[str, str] | None = None  # (url, key) of the last successful test
        self.url_edit = QLineEdit()
        self.url_edit.setPlaceholderText("http://192.168.1.20:8000/v1")
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("host:port")
        self.key_edit = QLineEdit()
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_edit.setPlaceholderText("none")
        self.test_button = QPushButton("Test connection")
        self.message = QLabel("Works with llama.cpp's llama-server, vLLM, Ollama, LM Studio, "
                              "llama-cpp-python and another GenLab's API server.")
        self.message.setObjectName("remoteTestMessage")
        self.message.setWordWrap(True)
        self.model_list = QListWidget()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.add_button = self.buttons.addButton("Add", QDialogButtonBox.ButtonRole.AcceptRole)
        self.add_button.setEnabled(False)
        form = QFormLayout()
        form.addRow("Base URL", self.url_edit)
        form.addRow("Name", self.name_edit)
        form.addRow("API key", self.key_edit)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        row = QHBoxLayout()
        row.addWidget(self.test_button)
        row.addStretch(1)
        layout.addLayout(row)
        layout.addWidget(self.message)
        layout.addWidget(QLabel("Models it serves:"))
        layout.addWidget(self.model_list, 1)
        layout.addWidget(self.buttons)
        self.test_button.clicked.connect(self.test_connection)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        for edit in (self.url_edit, self.key_edit):
            edit.textChanged.connect(self._update_add)

    def values(self) -> tuple[str, str, str]:
        """(url, name, key) as typed."""
        return self.url_edit.text().strip(), self.name_edit.text().strip(), self.key_edit.text().strip()

    def _update_add(self) -> None:
        url, _name, key = self.values()
        self.add_button.setEnabled(self._tested_with == (url, key))

    def _say(self, text: str, error: bool = False) -> None:
        self.message.setText(f"<span style='{ERROR_STYLE}'>{html.escape(text)}</span>" if error else html.escape(text))

    def test_connection(self) -> None:
        url, _name, key = self.values()
        try:
            normalized = normalize_base_url(url)
        except GenLabError as exc:  # a bad URL is said at once: nothing is sent
            self._failed(str(exc))
            return
        self._say(f"Asking {normalized} for its models…")
        self.test_button.setEnabled(False)
        self.model_list.clear()
        job = Job("Test remote server", functools.partial(list_models_job, normalized, key), kind="io",
                  reports_failure=True)
        handle = self.runner.submit(job)
        handle.finished.connect(lambda models: self._listed(url, key, models))
        handle.failed.connect(lambda message, _tb: self._failed(message))

    def _listed(self, url: str, key: str, models: list[str]) -> None:
        self.models = list(models)
        self.model_list.addItems(self.models)
        self._tested_with = (url, key)
        count = len(self.models)
        self._say(f"Connected: the server lists {count} model{'s' if count != 1 else ''}." if count
                  else "Connected, but the server lists no models.")
        self._update_add()
        self.test_button.setEnabled(True)
        self.tested.emit(True)

    def _failed(self, message: str) -> None:
        self.models, self._tested_with = [], None
        self._say(message, error=True)
        self._update_add()
        self.test_button.setEnabled(True)  # before tested: a listener may test again at once
        self.tested.emit(False)


class RemoteServersTab(QWidget):
    """The added remote sources, with Add…, Remove and Refresh models (see the module docstring)."""

    COLUMNS = ("Name", "URL", "Key", "Models")
    status = Signal(str)
    sources_changed = Signal()

    def __init__(self, runner, sources: RemoteSources | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.sources = sources or RemoteSources()
        self.dialog: RemoteSourceDialog | None = None  # the Add dialog, while open
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(list(self.COLUMNS))
        self.tree.setRootIsDecorated(False)
        self.hint = QLabel("No remote server yet. GenLab contacts none unless you add it here: "
                           "press Add… and give the server's URL (e.g. http://gpu-box:8000/v1).")
        self.hint.setWordWrap(True)
        self.add_button = QPushButton("Add…")
        self.remove_button = QPushButton("Remove")
        self.refresh_button = QPushButton("Refresh models")
        buttons = QHBoxLayout()
        for button in (self.add_button, self.remove_button, self.refresh_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(self.hint)
        layout.addWidget(self.tree, 1)
        self.add_button.clicked.connect(self.open_add_dialog)
        self.remove_button.clicked.connect(self.remove_selected)
        self.refresh_button.clicked.connect(self.refresh_selected)
        self.tree.itemSelectionChanged.connect(self._update_buttons)
        self.refresh()

    def refresh(self) -> None:
        selected = self.selected_name()
        self.tree.clear()
        for source in self.sources.all():
            item = QTreeWidgetItem([source.name, source.base_url, "kept in the keyring" if source.has_key else "none",
                                    ", ".join(source.models) or "none listed"])
            item.setToolTip(3, "\n".join(source.models))
            self.tree.addTopLevelItem(item)
            if source.name == selected:
                item.setSelected(True)
        size_columns(self.tree, 3)
        self.hint.setVisible(self.tree.topLevelItemCount() == 0)
        self._update_buttons()

    def selected_name(self) -> str:
        items = self.tree.selectedItems()
        return items[0].text(0) if items else ""

    def _update_buttons(self) -> None:
        chosen = bool(self.selected_name())
        self.remove_button.setEnabled(chosen)
        self.refresh_button.setEnabled(chosen)

    def open_add_dialog(self) -> RemoteSourceDialog:
        dialog = RemoteSourceDialog(self.runner, self)
        dialog.accepted.connect(lambda: self._add(dialog))
        dialog.finished.connect(lambda _code: setattr(self, "dialog", None))
        self.dialog = dialog
        dialog.open()  # window-modal, returns at once
        return dialog

    def _add(self, dialog: RemoteSourceDialog) -> None:
        url, name, key = dialog.values()
        try:
            source = self.sources.add(url, name=name, api_key=key, models=dialog.models)
        except GenLabError as exc:
            self.status.emit(str(exc))
            return
        self.refresh()
        count = len(source.models)
        self.status.emit(f"Added {source.name}: its {count} model{'s' if count != 1 else ''} "
                         f"{'appear' if count != 1 else 'appears'} in Chat, Experiments and Arena.")
        self.sources_changed.emit()

    def remove_selected(self) -> None:
        name = self.selected_name()
        if not name:
            return
        self.sources.remove(name)
        self.refresh()
        self.status.emit(f"Removed {name} and its key.")
        self.sources_changed.emit()

    def refresh_selected(self) -> None:
        name = self.selected_name()
        if not name:
            return
        source: RemoteSource = self.sources.get(name)
        self.status.emit(f"Asking {source.host} for its models…")
        job = Job(f"List models of {source.host}",
                  functools.partial(list_models_job, source.base_url, source.api_key()), kind="io",
                  reports_failure=True)
        handle = self.runner.submit(job)
        handle.finished.connect(lambda models: self._refreshed(name, models))
        handle.failed.connect(lambda message, _tb: self.status.emit(message))

    def _refreshed(self, name: str, models: list[str]) -> None:
        self.sources.set_models(name, models)
        self.refresh()
        self.status.emit(f"{name} lists {len(models)} models.")
        self.sources_changed.emit()
