"""The Preferences dialog: history, text defaults, downloads and model folders, the theme, the API server.

It edits a copy of the settings and hands the result back; the main window
applies it (saving the file, switching the embedder in the background,
starting or stopping the API server).  The API key is handed back apart, as
``result_api_key``, for the OS keyring: it never enters the settings.  OK
stays on the dialog, with the reason on screen, while the API server could
not start with what was entered.
"""

from __future__ import annotations

import copy

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktop.core import paths
from desktop.core.history.embedder import available_embedders
from desktop.core.settings import Settings
from desktop.ui.incognito import INCOGNITO_LINE, INCOGNITO_TOOLTIP
from desktop.ui.server.controller import stored_api_key
from desktop.ui.server.settings_group import ServerGroup
from desktop.ui.theme import THEME_MODES

THEME_LABELS = {"system": "System", "light": "Light", "dark": "Dark"}


class PreferencesDialog(QDialog):
    def __init__(self, settings: Settings, parent: QWidget | None = None, *, serving: str = "") -> None:
        """``serving``: the "host:port" the app's API server listens on now, if it runs."""
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self.result_settings = copy.deepcopy(settings)
        s = self.result_settings
        layout = QVBoxLayout(self)

        history = QGroupBox("History")
        form = QFormLayout(history)
        self.embedder = QComboBox()
        names = available_embedders()
        if s.history.embedder not in names:
            names.append(s.history.embedder)  # keep showing a choice whose files went missing
        self.embedder.addItems(names)
        self.embedder.setCurrentText(s.history.embedder)
        self.embedder.setToolTip("Changing it re-embeds every record in the background; "
                                 "keyword search keeps working meanwhile.")
        self.incognito = QCheckBox(INCOGNITO_LINE)
        self.incognito.setChecked(s.history.incognito)
        self.incognito.setToolTip(INCOGNITO_TOOLTIP)
        form.addRow("Embedder", self.embedder)
        form.addRow("", self.incognito)
        layout.addWidget(history)

        text = QGroupBox("Text models")
        form = QFormLayout(text)
        self.context = QSpinBox()
        self.context.setRange(0, 1_048_576)
        self.context.setSpecialValueText("automatic")
        self.context.setValue(s.text.context_size)
        self.threads = QSpinBox()
        self.threads.setRange(0, 1024)
        self.threads.setSpecialValueText("automatic")
        self.threads.setValue(s.text.threads)
        form.addRow("Context size", self.context)
        form.addRow("Threads", self.threads)
        self.send_key = QComboBox()
        for key, label in (("enter", "Enter (Shift+Enter for a new line)"),
                           ("ctrl+enter", "Ctrl+Enter (Enter for a new line)")):
            self.send_key.addItem(label, key)
        self.send_key.setCurrentIndex(max(0, self.send_key.findData(s.text.chat_send_key)))
        self.reload_model = QCheckBox("Load the last used chat model at start")
        self.reload_model.setChecked(s.text.chat_reload_last_model)
        form.addRow("Send a chat message with", self.send_key)
        form.addRow("", self.reload_model)
        layout.addWidget(text)

        downloads = QGroupBox("Downloads and model folders")
        form = QFormLayout(downloads)
        self.parallel = QSpinBox()
        self.parallel.setRange(1, 8)
        self.parallel.setValue(s.downloads.max_parallel)
        self.stall = QDoubleSpinBox()
        self.stall.setRange(5, 600)
        self.stall.setSuffix(" s")
        self.stall.setValue(s.downloads.stall_seconds)
        self.folders = QListWidget()
        self.folders.addItems(s.downloads.extra_model_folders)
        add, remove = QPushButton("Add folder…"), QPushButton("Remove")
        add.clicked.connect(self._add_folder)
        remove.clicked.connect(lambda: [self.folders.takeItem(self.folders.row(i))
                                        for i in self.folders.selectedItems()])
        buttons = QHBoxLayout()
        buttons.addWidget(add)
        buttons.addWidget(remove)
        buttons.addStretch(1)
        form.addRow("Downloads at once", self.parallel)
        form.addRow("Reconnect after a stall of", self.stall)
        form.addRow("Other model folders", self.folders)
        form.addRow("", buttons)
        layout.addWidget(downloads)

        appearance = QGroupBox("Appearance")
        form = QFormLayout(appearance)
        self.theme = QComboBox()
        for mode in THEME_MODES:
            self.theme.addItem(THEME_LABELS[mode], mode)
        self.theme.setCurrentIndex(max(0, self.theme.findData(s.appearance.theme)))
        self.theme.setToolTip("System follows the light or dark setting of your desktop.")
        form.addRow("Theme", self.theme)
        layout.addWidget(appearance)

        self.server = ServerGroup(s.server, stored_api_key(), serving)
        layout.addWidget(self.server)
        self.result_api_key = self.server.key()

        where = QLabel(f"Data folder: {paths.data_root()}\nModels folder: {paths.models_dir()}")
        where.setWordWrap(True)
        layout.addWidget(where)
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        box.accepted.connect(self.accept)
        box.rejected.connect(self.reject)
        layout.addWidget(box)

    def _add_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "A folder with models (e.g. LM Studio's or GPT4All's)")
        if folder and not self.folders.findItems(folder, Qt.MatchFlag.MatchExactly):
            self.folders.addItem(folder)

    def accept(self) -> None:
        if self.server.show_problem():
            return
        s = self.result_settings
        s.history.embedder = self.embedder.currentText()
        s.history.incognito = self.incognito.isChecked()
        s.text.context_size = self.context.value()
        s.text.threads = self.threads.value()
        s.text.chat_send_key = self.send_key.currentData()
        s.text.chat_reload_last_model = self.reload_model.isChecked()
        s.downloads.max_parallel = self.parallel.value()
        s.downloads.stall_seconds = self.stall.value()
        s.downloads.extra_model_folders = [self.folders.item(i).text() for i in range(self.folders.count())]
        s.appearance.theme = self.theme.currentData()
        s.server = self.server.values()
        self.result_api_key = self.server.key()
        super().accept()
