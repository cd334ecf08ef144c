"""The record pane of the History workspace: one record, readable, and the actions on it.

The text is :func:`~desktop.core.history.record_text.record_html`: every
non-empty field, the prompts and the reply first.  Rating (five stars), tags
and note save themselves: a star at once, tags and note when their box loses
focus or Enter is pressed (and, at the latest, when another record is shown).
The main actions are buttons (Re-run exactly; Continue in Chat for text or
Reuse in Images for an image; Copy); "Upscale…" (images), "Show session" and
"Delete…" are in the pane's More menu, so the pane fits in about 400 px.  An
upscaled image has no generation parameters, so Reuse in Images is off for it.

An image record's preview is decoded and scaled off the GUI thread (a
:class:`~desktop.ui.thumbnails.ThumbnailLoader`); "Loading the image…" shows
meanwhile, and a preview that arrives after another record was selected is
dropped.  The preview shrinks with the pane (at most a third of its height).

Signals:
    rate_tag_note(str, int, list, str): save rating, tags and note of record id.
    delete_requested(str): delete this record.
    rerun_requested(object): re-run this GenerationRecord exactly.
    continue_requested(object): continue this text thread in Chat.
    reuse_requested(object): reuse this record's parameters in Images.
    upscale_requested(object): upscale this image record's image with a model, in Images.
    session_requested(str): show only this record's session (the action is disabled without one).
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QGuiApplication, QPixmap, QTextOption
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QSizePolicy,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.core.history.record_text import record_html
from desktop.core.image.upscale import is_upscale_record
from desktop.ui.history.rating import StarRating
from desktop.ui.history.style import secondary_text_color
from desktop.ui.thumbnails import ThumbnailLoader

PREVIEW_SIZE = QSize(1024, 256)  # at most 256 px high, like the pane's image row
PREVIEW_MIN_HEIGHT = 96


def _tags(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


class DetailsPanel(QWidget):
    rate_tag_note = Signal(str, int, list, str)
    delete_requested = Signal(str)
    rerun_requested = Signal(object)
    continue_requested = Signal(object)
    reuse_requested = Signal(object)
    upscale_requested = Signal(object)
    session_requested = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.hit = None
        self._saved: tuple[int, list, str] = (0, [], "")  # rating, tags, note as last saved or loaded
        self.previews = ThumbnailLoader(self)
        self.previews.ready.connect(self._preview_ready)
        self._preview_key = ""
        self._preview_seq = 0
        self._preview = None  # the picture shown (a QPixmap, converted once), kept to rescale it when the pane resizes
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 0, 0, 0)  # beside the splitter handle; the workspace has the margins
        self.image = QLabel()
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.image.setMaximumHeight(260)
        layout.addWidget(self.image)
        self.fields = QTextBrowser()
        self.fields.setObjectName("historyFields")
        self.fields.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)  # ids and hashes too
        layout.addWidget(self.fields, 1)
        form = QFormLayout()
        self.rating = StarRating()
        self.tags = QLineEdit()
        self.tags.setPlaceholderText("tags, comma separated")
        self.note = QLineEdit()
        self.note.setPlaceholderText("a note to yourself")
        form.addRow("Rating", self.rating)
        form.addRow("Tags", self.tags)
        form.addRow("Note", self.note)
        layout.addLayout(form)
        layout.addLayout(self._action_row())
        self.rating.changed.connect(lambda _n: self.save_changes())
        for edit in (self.tags, self.note):
            edit.editingFinished.connect(self.save_changes)
        self.show_hit(None)

    def _action_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.rerun_button = QPushButton("Re-run exactly")
        self.rerun_button.setToolTip("Run it again with the same model file, settings and seed")
        self.continue_button = QPushButton("Continue in Chat")
        self.reuse_button = QPushButton("Reuse in Images")
        self.reuse_button.setToolTip("Open the Images workspace with this image's prompt and settings")
        self.copy_button = QPushButton("Copy")
        self.copy_button.setToolTip("Copy the reply (or, without one, the prompt)")
        self.more_button = QToolButton()
        self.more_button.setText("More")
        self.more_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.more_button)
        self.upscale_action = menu.addAction("Upscale…", self._request_upscale)
        self.upscale_action.setToolTip("Enlarge this image with an upscaler model, in Images")
        self.session_action = menu.addAction("Show session", self._request_session)
        self.session_action.setToolTip("Show only the records of this record's session")
        menu.addSeparator()
        self.delete_action = menu.addAction("Delete…", self._request_delete)
        self.more_button.setMenu(menu)
        for w in (self.rerun_button, self.continue_button, self.reuse_button, self.copy_button):
            row.addWidget(w)
        row.addStretch(1)
        row.addWidget(self.more_button)
        self.copy_button.clicked.connect(self.copy)
        self.rerun_button.clicked.connect(lambda: self.hit and self.rerun_requested.emit(self.hit.record))
        self.continue_button.clicked.connect(lambda: self.hit and self.continue_requested.emit(self.hit.record))
        self.reuse_button.clicked.connect(lambda: self.hit and self.reuse_requested.emit(self.hit.record))
        return row

    def _request_session(self) -> None:
        if self.hit is not None and self.hit.record.session_id:
            self.session_requested.emit(self.hit.record.session_id)

    def _request_upscale(self) -> None:
        if self.hit is not None and self.hit.record.kind == "image":
            self.upscale_requested.emit(self.hit.record)

    def _request_delete(self) -> None:
        if self.hit is not None:
            self.delete_requested.emit(self.hit.record.id)

    def show_hit(self, hit) -> None:
        """Show ``hit`` (or nothing); unsaved tags or a note of the record shown before are saved first.

        Showing the same record again (the list was refreshed) keeps what is being typed."""
        same = hit is not None and self.hit is not None and hit.record.id == self.hit.record.id
        if not same:
            self.save_changes()
        editing = same and self._pending()
        self.hit = hit
        enabled = hit is not None
        kind = hit.record.kind if enabled else ""
        for w in (self.copy_button, self.rerun_button, self.more_button, self.rating, self.tags, self.note):
            w.setEnabled(enabled)
        self.delete_action.setEnabled(enabled)
        self.continue_button.setEnabled(kind == "text")
        self.reuse_button.setEnabled(kind == "image" and not is_upscale_record(hit.record))
        self.upscale_action.setEnabled(kind == "image")
        self.upscale_action.setVisible(kind == "image")
        self.continue_button.setVisible(kind != "image")  # one of the two, by kind
        self.reuse_button.setVisible(kind == "image")
        self.session_action.setEnabled(enabled and bool(hit.record.session_id))
        if same and self._preview_key:
            self.fields.setHtml(self._html(hit))  # the preview (loading or shown) is still this record's
        else:
            self._show_record(hit)
        if hit is not None and not editing:
            r = hit.record
            self.rating.setValue(r.rating)
            self.tags.setText(", ".join(r.tags))
            self.note.setText(r.note)
            self._saved = (r.rating, list(r.tags), r.note)

    def _html(self, hit) -> str:
        return record_html(hit.record, hit.image_missing, secondary_text_color(self.fields.palette()))

    def _show_record(self, hit) -> None:
        self.image.clear()
        self._preview = None
        self._preview_key = ""
        self.previews.cancel_pending()
        if hit is None:
            self.fields.setHtml("<i>Select a record to see everything about it.</i>")
            self.rating.setValue(0)
            self.tags.clear()
            self.note.clear()
            return
        r = hit.record
        self.fields.setHtml(self._html(hit))
        if r.kind == "image":
            if hit.image_missing or not r.image_path:
                self._image_text(f"The image file is missing:\n{r.image_path}")
            else:
                self._load_preview(r)

    # --- rating, tags, note ---------------------------------------------------------
    def _values(self) -> tuple[int, list, str]:
        return self.rating.value(), _tags(self.tags.text()), self.note.text()

    def _pending(self) -> bool:
        return self.hit is not None and self._values() != self._saved

    def forget_changes(self) -> None:
        """Drop unsaved rating, tags and note (the record is being deleted)."""
        self._saved = self._values()

    def save_changes(self) -> None:
        """Save rating, tags and note of the record shown if they changed since loaded or last saved."""
        if self._pending():
            self._saved = values = self._values()
            self.rate_tag_note.emit(self.hit.record.id, *values)

    # --- the preview ----------------------------------------------------------------
    def _load_preview(self, record) -> None:
        self._preview_seq += 1
        self._preview_key = key = f"{record.id}:{self._preview_seq}"
        previous = self.previews.request(key, (record.image_path,), PREVIEW_SIZE)
        if previous is not None:
            self._set_preview(previous)
        else:
            self._image_text("Loading the image…")

    def _preview_ready(self, key: str, image) -> None:
        if key != self._preview_key or self.hit is None:
            return  # another record is selected now
        if image.isNull():
            self._image_text(f"The image file is missing or unreadable:\n{self.hit.record.image_path}")
        else:
            self._set_preview(image)

    def _image_text(self, text: str) -> None:
        self.image.setWordWrap(True)  # a long missing path wraps rather than widening the pane
        self.image.setText(text)

    def _set_preview(self, image) -> None:
        self._preview = QPixmap.fromImage(image)
        self._fit_preview()

    def _fit_preview(self) -> None:
        if self._preview is None:
            return
        pixmap = self._preview
        # as wide as the pane and at most a third of its height, so the text below keeps room
        room = QSize(max(16, self.image.width()), max(PREVIEW_MIN_HEIGHT, self.height() // 3))
        if pixmap.width() > room.width() or pixmap.height() > room.height():
            pixmap = pixmap.scaled(room, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
        self.image.setWordWrap(False)  # a word-wrapped label is laid out by its text's height: 0 for a picture
        self.image.setPixmap(pixmap)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_preview()

    def copy(self) -> None:
        if self.hit is not None:
            r = self.hit.record
            QGuiApplication.clipboard().setText(r.output_text or r.prompt)
