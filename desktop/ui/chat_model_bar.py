"""Model picker and model card of the Chat workspace.

The picker lists the library's GGUF models plus any file opened with
"Open…".  Choosing one emits ``selection_changed``; the workspace reads the
file's metadata on the io lane and calls ``show_card``.  "Load" asks the
workspace to load it on the engine lane.

Signals:
    selection_changed(str): the picked path changed (read its metadata).
    load_requested(str): load this path (with the settings panel's load options).
    unload_requested(): free the loaded model.
"""

from __future__ import annotations

import html
import logging
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QFileDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from desktop.core.gguf_info import GgufInfo
from desktop.core.settings import TextSettings
from desktop.core.text_engine import LoadedModel

log = logging.getLogger(__name__)


class ChatModelBar(QWidget):
    selection_changed = Signal(str)
    load_requested = Signal(str)
    unload_requested = Signal()

    def __init__(self, text_settings: TextSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._settings = text_settings
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.picker = QComboBox()
        self.picker.setMinimumContentsLength(8)
        self.picker.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.picker.setPlaceholderText("Choose a GGUF model")
        self.open_button = QPushButton("Open…")
        self.open_button.setToolTip("Open a GGUF file")
        self.load_button = QPushButton("Load")
        self.unload_button = QPushButton("Unload")
        self.unload_button.setEnabled(False)
        layout.addWidget(self.picker)  # on its own row, so a narrow window still fits
        for w in (self.open_button, self.load_button, self.unload_button):
            row.addWidget(w)
        row.addStretch(1)
        layout.addLayout(row)
        self.card = QLabel("No model loaded.")
        self.card.setWordWrap(True)
        self.card.setObjectName("modelCard")
        layout.addWidget(self.card)

        self.open_button.clicked.connect(self._ask_file)
        self.load_button.clicked.connect(self._request_load)
        self.unload_button.clicked.connect(self.unload_requested)
        self.picker.currentIndexChanged.connect(self._show_selected_card)

    # --- choices ------------------------------------------------------------------
    def refresh_library(self) -> None:
        """Fill the picker from the model library (GGUF files only)."""
        try:
            from desktop.core.library import Library

            models = [m for m in Library().models() if m.format.lower() == "gguf" or m.path.endswith(".gguf")]
        except Exception:  # an unreadable library must not break the chat
            log.exception("could not read the model library")
            models = []
        current = self.current_path()
        self.picker.blockSignals(True)
        self.picker.clear()
        for model in models:
            self.picker.addItem(model.name, model.path)
        if self._settings.last_model and self.picker.findData(self._settings.last_model) < 0 \
                and Path(self._settings.last_model).exists():
            self.picker.addItem(Path(self._settings.last_model).name, self._settings.last_model)
        self.picker.blockSignals(False)
        self.select_path(current or self._settings.last_model)

    def select_path(self, path: str) -> None:
        """Select ``path`` in the picker, adding it when it is not listed."""
        if not path:
            return
        index = self.picker.findData(path)
        if index < 0:
            self.picker.addItem(Path(path).name, path)
            index = self.picker.count() - 1
        self.picker.setCurrentIndex(index)
        self._show_selected_card()

    def current_path(self) -> str:
        return self.picker.currentData() or ""

    # --- card ---------------------------------------------------------------------
    def show_card(self, info: GgufInfo, loaded: LoadedModel | None = None, error: str = "") -> None:
        rows = list(info.card())
        if loaded is not None:
            rows.append(("Context", f"{loaded.n_ctx:,} tokens"))
            rows.append(("Device", loaded.gpu.reason))
            if loaded.template_note:
                rows.append(("Note", loaded.template_note))
        body = "".join(f"<tr><td style='color:gray; padding-right:8px'>{html.escape(k)}</td>"
                       f"<td>{html.escape(v)}</td></tr>" for k, v in rows)
        state = "<b>Loaded</b>" if loaded is not None else "Not loaded"
        if error:
            state = f"<span style='color:#c0392b'>{html.escape(error)}</span>"
        self.card.setText(f"{state}<table>{body}</table>")

    def show_error(self, message: str) -> None:
        self.card.setText(f"<span style='color:#c0392b'>{html.escape(message)}</span>")

    def _show_selected_card(self) -> None:
        path = self.current_path()
        if path:
            self.card.setText(f"Reading {html.escape(Path(path).name)}…")
            self.selection_changed.emit(path)

    def _ask_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open GGUF model", "", "GGUF models (*.gguf);;All files (*)")
        if path:
            self.select_path(path)

    def _request_load(self) -> None:
        path = self.current_path()
        if path:
            self.load_requested.emit(path)
