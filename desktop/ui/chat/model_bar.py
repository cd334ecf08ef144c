"""Model picker and model card of the Chat workspace.

The picker lists the library's GGUF models plus any file opened with
"Open…", then the models of the remote servers added in Models → Remote
servers, each marked "remote" with its server (their item data is the
``remote:<source>/<model>`` reference the engine slot loads).  A remote
model's card is made here from the source (nothing is asked of the server
until Load), so ``selection_changed`` is not emitted for one.  Choosing one emits ``selection_changed``; the workspace reads the
file's metadata on the io lane and calls ``show_card``.  "Load" asks the
workspace to load it on the engine lane.  A file that is not in the library
and fails to open is taken off the list again (``forget_path``), and the
model picked before it is picked again.

Before loading, the whole card shows, to help choose.  Once the model is
loaded the card collapses to one line (name, context, device, last speed),
so the conversation gets the height; "Details" (or the line's tooltip)
shows the whole card again.  While no model is loaded a hint says how to
get one, with a link to the Models workspace's catalog.

Signals:
    selection_changed(str): the picked path changed (read its metadata).
    load_requested(str): load this path (with the settings panel's load options).
    unload_requested(): free the loaded model.
    open_models_requested(): the hint's link was clicked (get a model in the Models workspace).
"""

from __future__ import annotations

import html
import logging
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.core.models.remote import REMOTE_BADGE, RemoteError, RemoteSources, display_name, is_remote_ref, parse_ref
from desktop.core.settings import TextSettings
from desktop.core.text.engine import LoadedModel
from desktop.core.text.gguf import GgufInfo
from desktop.core.text.remote import is_remote_loaded, remote_info
from desktop.ui.widgets import ElidedLabel

log = logging.getLogger(__name__)

MODELS_LINK = "<a href='models'>Models → Catalog</a>"


def model_title(info: GgufInfo) -> str:
    """The name a person knows the model by: its file name (``general.name`` is often just the architecture)."""
    if is_remote_ref(info.path):
        return display_name(str(info.path))
    return info.path.stem


def _device_label(loaded: LoadedModel) -> str:
    if is_remote_loaded(loaded):
        return f"remote · {loaded.device.removeprefix('remote:')}"
    layers, total = loaded.gpu.n_gpu_layers, loaded.info.layer_count
    if layers == 0:
        return "CPU"
    return "GPU" if layers < 0 or layers > total else f"GPU ({layers} of {total} layers)"


def summary_text(loaded: LoadedModel, tokens_per_s: float | None = None) -> str:
    """The collapsed card: "stories260K · 2,048 ctx · CPU · 69 tok/s"."""
    parts = [model_title(loaded.info)] + ([f"{loaded.n_ctx:,} ctx"] if loaded.n_ctx else []) + [_device_label(loaded)]
    if tokens_per_s:
        parts.append(f"{tokens_per_s:.1f} tok/s" if tokens_per_s < 10 else f"{tokens_per_s:.0f} tok/s")
    if not loaded.chat_available:
        parts.append("completion only (no chat template)")
    return " · ".join(parts)


class ChatModelBar(QWidget):
    selection_changed = Signal(str)
    load_requested = Signal(str)
    unload_requested = Signal()
    open_models_requested = Signal()

    def __init__(self, text_settings: TextSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._settings = text_settings
        self._listed: list[tuple[str, str]] | None = None  # the library's models, as last put in the picker
        self._picked_before: dict[str, str] = {}  # a path added to the picker -> the path picked before it
        self.error_box: QMessageBox | None = None  # the "could not open" message, while open
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
        self.details_button = QToolButton()
        self.details_button.setText("Details")
        self.details_button.setCheckable(True)
        self.details_button.setToolTip("Show the whole model card")
        for w in (self.open_button, self.load_button, self.unload_button):
            row.addWidget(w)
        row.addStretch(1)
        row.addWidget(self.details_button)
        layout.addLayout(row)
        self.summary = ElidedLabel(max_width=None, text_tooltip=False)  # the tooltip is the whole card
        self.summary.setObjectName("modelSummary")
        layout.addWidget(self.summary)
        self.card = QLabel()  # empty until a model is picked: the workspace's hint says what to do
        self.card.setWordWrap(True)
        self.card.setObjectName("modelCard")
        layout.addWidget(self.card)
        self.hint = QLabel()
        self.hint.setObjectName("chatEmptyHint")
        self.hint.setWordWrap(True)
        self.hint.setTextInteractionFlags(Qt.TextInteractionFlag.LinksAccessibleByMouse
                                          | Qt.TextInteractionFlag.LinksAccessibleByKeyboard)
        layout.addWidget(self.hint)
        self._loaded: LoadedModel | None = None  # the engine's model, as last shown
        self._speed: float | None = None  # tokens/s of its last reply
        self._showing_loaded = False  # the card is the loaded model's (so it may collapse)
        self._update_card()

        self.details_button.toggled.connect(self._update_card)
        self.hint.linkActivated.connect(lambda _link: self.open_models_requested.emit())
        self.open_button.clicked.connect(self._ask_file)
        self.load_button.clicked.connect(self._request_load)
        self.unload_button.clicked.connect(self.unload_requested)
        self.picker.currentIndexChanged.connect(self._show_selected_card)

    # --- choices ------------------------------------------------------------------
    def refresh_library(self) -> None:
        """Fill the picker from the model library (GGUF files only); nothing changes when the library did not."""
        try:
            from desktop.core.models.library import Library

            models = [m for m in Library().models() if m.format.lower() == "gguf" or m.path.endswith(".gguf")]
        except Exception:  # an unreadable library must not break the chat
            log.exception("could not read the model library")
            models = []
        listed = [(m.name, m.path) for m in models]
        remote = self._remote_models()
        listed += remote
        if listed == self._listed:
            return
        self._listed = listed
        current = self.current_path()
        self.picker.blockSignals(True)
        self.picker.clear()
        for model in models:
            self.picker.addItem(model.name, model.path)
        for label, ref in remote:
            self.picker.addItem(label, ref)
            self.picker.setItemData(self.picker.count() - 1, f"Runs on the remote server {parse_ref(ref).source}",
                                    Qt.ItemDataRole.ToolTipRole)
        if self._settings.last_model and self.picker.findData(self._settings.last_model) < 0 \
                and Path(self._settings.last_model).exists():
            self.picker.addItem(Path(self._settings.last_model).name, self._settings.last_model)
        self.picker.blockSignals(False)
        self.select_path(current or self._settings.last_model)
        self._update_card()

    @staticmethod
    def _remote_models() -> list[tuple[str, str]]:
        """(label with the remote badge, reference) of every added source's listed models; reads a
        local file only (no server is asked)."""
        out = []
        try:
            for source in RemoteSources().all():
                for model in source.models:
                    ref = str(Path(source.ref(model)))  # as the engine slot's LoadedModel.path gives it back
                    out.append((f"{display_name(ref)}  {REMOTE_BADGE}", ref))
        except Exception:  # an unreadable sources file must not break the chat
            log.exception("could not read the remote sources")
        return out

    def select_path(self, path: str) -> None:
        """Select ``path`` in the picker, adding it when it is not listed."""
        if not path:
            return
        index = self.picker.findData(path)
        if index < 0:
            self._picked_before[path] = self.current_path()
            self.picker.addItem(display_name(path) if is_remote_ref(path) else Path(path).name, path)
            index = self.picker.count() - 1
        if self.picker.currentIndex() == index:
            self._show_selected_card()  # picked again: read its card again
        else:
            self.picker.setCurrentIndex(index)  # currentIndexChanged shows its card

    def current_path(self) -> str:
        return self.picker.currentData() or ""

    def is_library_path(self, path: str) -> bool:
        """Whether ``path`` is listed because it is in the model library (not opened with "Open…")."""
        return any(p == path for _name, p in self._listed or ())

    def report_failure(self, path: str, message: str) -> bool:
        """Say once that ``path`` could not be read or loaded; False when that is left to the caller.

        A library model stays listed and its card says why (False when its
        card is not on screen).  A file opened with "Open…" (or the last used
        one) leaves the picker, the model picked before it comes back, and a
        message box says why; a file that had already left was said then.
        """
        if self.is_library_path(path):
            if self.current_path() != path:
                return False
            self.show_error(message)
            return True
        if self.forget_path(path):
            box = QMessageBox(QMessageBox.Icon.Warning, "Could not open the model", message,
                              QMessageBox.StandardButton.Ok, self)
            box.setObjectName("modelErrorBox")
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            box.destroyed.connect(lambda: setattr(self, "error_box", None))
            box.open()  # window-modal, returns at once
            self.error_box = box
        return True

    def forget_path(self, path: str) -> bool:
        """Take ``path`` off the picker and pick what was picked before it; False when it was not listed."""
        index = self.picker.findData(path)
        if index < 0:
            return False
        before = self._picked_before.pop(path, "")
        if self.picker.currentIndex() != index:
            self.picker.blockSignals(True)  # what is picked stays picked
            self.picker.removeItem(index)
            self.picker.blockSignals(False)
            return True
        self.picker.blockSignals(True)
        self.picker.removeItem(index)
        self.picker.setCurrentIndex(-1)
        self.picker.blockSignals(False)
        if before and self.picker.findData(before) >= 0:
            self.select_path(before)
        else:
            self.card.setText("")
            self._showing_loaded = False
            self._update_card()
        return True

    # --- card ---------------------------------------------------------------------
    @property
    def collapsed(self) -> bool:
        """True while the card shows as its one-line summary."""
        return self._showing_loaded and not self.details_button.isChecked()

    def _update_card(self) -> None:
        self.summary.setVisible(self._showing_loaded)
        self.details_button.setVisible(self._showing_loaded)
        self.card.setVisible(not self.collapsed and bool(self.card.text()))
        self._update_hint()

    def _update_hint(self) -> None:
        if self.current_path():
            name = html.escape(self.picker.currentText())
            self.hint.setText(f"Press Load to chat with {name}, or get another model in {MODELS_LINK}.")
        elif self.picker.count():
            self.hint.setText(f"Choose a model above, or get one in {MODELS_LINK}.")
        else:
            self.hint.setText(f"No chat model yet: get one in {MODELS_LINK}, or open a GGUF file with “Open…”.")
        self.hint.setVisible(self._loaded is None)

    def _show_summary(self) -> None:
        self.summary.setText(summary_text(self._loaded, self._speed) if self._loaded else "")

    def show_speed(self, tokens_per_s: float) -> None:
        """Put the last reply's speed on the collapsed card."""
        self._speed = tokens_per_s
        self._show_summary()

    def show_unloaded(self) -> None:
        """The model was unloaded: show its card as not loaded (when it is still the picked one)."""
        loaded, self._loaded = self._loaded, None
        if loaded is not None and self.current_path() == str(loaded.path):
            self.show_card(loaded.info)
        self._update_card()

    def show_card(self, info: GgufInfo, loaded: LoadedModel | None = None, error: str = "") -> None:
        rows = self._remote_rows(str(info.path)) if is_remote_ref(info.path) else list(info.card())
        if loaded is not None:
            if loaded.n_ctx:
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
        if loaded is not None and loaded is not self._loaded:  # a fresh load starts collapsed
            self._loaded, self._speed = loaded, None
            self.details_button.setChecked(False)
            self._show_summary()
        if loaded is not None:
            self.summary.setToolTip(self.card.text())
        self._showing_loaded = loaded is not None and not error
        self._update_card()

    @staticmethod
    def _remote_rows(ref: str) -> list[tuple[str, str]]:
        parsed = parse_ref(ref)
        rows = [("Model", parsed.model), ("Server", parsed.source), ("Kind", "remote (OpenAI-compatible server)"),
                ("Sampling", "Temperature, Top-p, Max tokens, Seed and Stop strings are sent; Top-k, Min-p "
                             "and Repeat penalty are not in the OpenAI API, so the server's own apply")]
        try:
            source = RemoteSources().get(parsed.source)
            rows += [("URL", source.base_url), ("API key", "kept in the keyring" if source.has_key else "none")]
        except RemoteError as exc:
            rows.append(("Note", exc.message))
        return rows

    def show_error(self, message: str) -> None:
        self.card.setText(f"<span style='color:#c0392b'>{html.escape(message)}</span>")
        self._showing_loaded = False
        self._update_card()

    def _show_selected_card(self) -> None:
        path = self.current_path()
        if not path:
            return
        if is_remote_ref(path):  # its card comes from the source; the server is asked only on Load
            loaded = self._loaded if self._loaded is not None and str(self._loaded.path) == path else None
            self.show_card(loaded.info if loaded is not None else remote_info(path, parse_ref(path).model), loaded)
            return
        if self._loaded is None or str(self._loaded.path) != path:  # the loaded model keeps its summary
            self.card.setText(f"Reading {html.escape(Path(path).name)}…")
            self._showing_loaded = False
            self._update_card()
        self.selection_changed.emit(path)

    def _ask_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open GGUF model", "", "GGUF models (*.gguf);;All files (*)")
        if path:
            self.select_path(path)

    def _request_load(self) -> None:
        path = self.current_path()
        if path:
            self.load_requested.emit(path)
