"""The record pane of the History workspace: every field plus the actions on one record.

An image record's preview is decoded and scaled off the GUI thread (a
:class:`~desktop.ui.thumbnails.ThumbnailLoader`); "Loading the image…" shows
meanwhile, and a preview that arrives after another record was selected is dropped.

Signals:
    rate_tag_note(str, int, list, str): save rating, tags and note of record id.
    delete_requested(str): delete this record.
    rerun_requested(object): re-run this GenerationRecord exactly.
    continue_requested(object): continue this text thread in Chat.
    reuse_requested(object): reuse this record's parameters in Images.
    session_requested(str): show only this record's session (the button is disabled without one).
"""

from __future__ import annotations

import html
import json

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QGuiApplication, QPixmap
from PySide6.QtWidgets import (QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QSpinBox, QTextBrowser,
                               QVBoxLayout, QWidget)

from desktop.ui.thumbnails import ThumbnailLoader

PREVIEW_SIZE = QSize(1024, 256)  # at most 256 px high, like the pane's image row


def record_html(record, image_missing: bool) -> str:
    data = record.to_dict()
    rows = []
    for key, value in data.items():
        if isinstance(value, (dict, list)):
            value = json.dumps(value, indent=1, ensure_ascii=False)
        text = html.escape(str(value if value is not None else ""))
        if key == "image_path" and image_missing:
            text += " <b>(missing)</b>"
        rows.append(f"<tr><td valign='top'><b>{key}</b></td><td><pre style='white-space:pre-wrap'>{text}</pre></td></tr>")
    return "<table>" + "".join(rows) + "</table>"


class DetailsPanel(QWidget):
    rate_tag_note = Signal(str, int, list, str)
    delete_requested = Signal(str)
    rerun_requested = Signal(object)
    continue_requested = Signal(object)
    reuse_requested = Signal(object)
    session_requested = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.hit = None
        self.previews = ThumbnailLoader(self)
        self.previews.ready.connect(self._preview_ready)
        self._preview_key = ""
        self._preview_seq = 0
        layout = QVBoxLayout(self)
        self.image = QLabel()
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setMaximumHeight(260)
        layout.addWidget(self.image)
        self.fields = QTextBrowser()
        self.fields.setObjectName("historyFields")
        layout.addWidget(self.fields, 1)
        form = QFormLayout()
        self.rating = QSpinBox()
        self.rating.setRange(0, 5)
        self.tags = QLineEdit()
        self.tags.setPlaceholderText("tags, comma separated")
        self.note = QLineEdit()
        form.addRow("Rating", self.rating)
        form.addRow("Tags", self.tags)
        form.addRow("Note", self.note)
        layout.addLayout(form)
        row = QHBoxLayout()
        self.save_button = QPushButton("Save")
        self.copy_button = QPushButton("Copy")
        self.rerun_button = QPushButton("Re-run exactly")
        self.continue_button = QPushButton("Continue in Chat")
        self.reuse_button = QPushButton("Reuse in Images")
        self.session_button = QPushButton("Show session")
        self.session_button.setToolTip("Show only the records of this record's session")
        self.delete_button = QPushButton("Delete…")
        for b in (self.save_button, self.copy_button, self.rerun_button, self.continue_button, self.reuse_button,
                  self.session_button, self.delete_button):
            row.addWidget(b)
        layout.addLayout(row)
        self.save_button.clicked.connect(self._save)
        self.copy_button.clicked.connect(self.copy)
        self.delete_button.clicked.connect(lambda: self.hit and self.delete_requested.emit(self.hit.record.id))
        self.rerun_button.clicked.connect(lambda: self.hit and self.rerun_requested.emit(self.hit.record))
        self.continue_button.clicked.connect(lambda: self.hit and self.continue_requested.emit(self.hit.record))
        self.reuse_button.clicked.connect(lambda: self.hit and self.reuse_requested.emit(self.hit.record))
        self.session_button.clicked.connect(
            lambda: self.hit and self.hit.record.session_id and self.session_requested.emit(self.hit.record.session_id))
        self.show_hit(None)

    def show_hit(self, hit) -> None:
        self.hit = hit
        enabled = hit is not None
        for w in (self.save_button, self.copy_button, self.rerun_button, self.delete_button, self.rating,
                  self.tags, self.note):
            w.setEnabled(enabled)
        self.continue_button.setEnabled(enabled and hit.record.kind == "text")
        self.reuse_button.setEnabled(enabled and hit.record.kind == "image")
        self.session_button.setEnabled(enabled and bool(hit.record.session_id))
        self.image.clear()
        self._preview_key = ""
        self.previews.cancel_pending()
        if hit is None:
            self.fields.setHtml("<i>Select a record to see every field.</i>")
            return
        r = hit.record
        self.fields.setHtml(record_html(r, hit.image_missing))
        self.rating.setValue(r.rating)
        self.tags.setText(", ".join(r.tags))
        self.note.setText(r.note)
        if r.kind == "image":
            if hit.image_missing or not r.image_path:
                self.image.setText(f"The image file is missing:\n{r.image_path}")
            else:
                self._load_preview(r)

    def _load_preview(self, record) -> None:
        self._preview_seq += 1
        self._preview_key = key = f"{record.id}:{self._preview_seq}"
        previous = self.previews.request(key, (record.image_path,), PREVIEW_SIZE)
        if previous is not None:
            self.image.setPixmap(QPixmap.fromImage(previous))
        else:
            self.image.setText("Loading the image…")

    def _preview_ready(self, key: str, image) -> None:
        if key != self._preview_key or self.hit is None:
            return  # another record is selected now
        if image.isNull():
            self.image.setText(f"The image file is missing or unreadable:\n{self.hit.record.image_path}")
        else:
            self.image.setPixmap(QPixmap.fromImage(image))

    def copy(self) -> None:
        if self.hit is not None:
            r = self.hit.record
            QGuiApplication.clipboard().setText(r.output_text or r.prompt)

    def _save(self) -> None:
        if self.hit is not None:
            tags = [t.strip() for t in self.tags.text().split(",") if t.strip()]
            self.rate_tag_note.emit(self.hit.record.id, self.rating.value(), tags, self.note.text())
