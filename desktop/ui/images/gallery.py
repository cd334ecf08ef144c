"""The gallery of this session's images, the enlarge/zoom viewer and per-image actions.

Each item keeps the :class:`GenerationRecord` of its image.  Actions (buttons
under the grid, and the item's context menu) act on the selected image:
reuse all parameters, reuse the seed, use as init image, upscale with a
model, copy, open the file's folder, delete (file and thumbnail; the history
record stays).  An upscaled image has no parameters or seed of its own, so
Reuse all and Reuse seed are off for it.

Signals:
    reuse_requested(object): the GenerationRecord whose parameters to reuse.
    reuse_seed_requested(object): the seed (an int) to reuse.
    init_requested(str): use this image path as the img2img init image.
    upscale_requested(object): the GenerationRecord whose image to upscale with a model.
    image_selected(object): this GenerationRecord's item was clicked or became current.
    deleted(str): this image file was deleted.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QSize, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication, QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from desktop.core.image.output import delete_output
from desktop.core.image.upscale import is_upscale_record
from desktop.core.records import GenerationRecord
from desktop.ui.flow_layout import FlowLayout
from desktop.ui.icons import icon

log = logging.getLogger(__name__)
RECORD_ROLE = Qt.ItemDataRole.UserRole + 1
ICON = 128


class ImageViewer(QDialog):
    """A resizable window showing one image, zoomable with the slider or Ctrl+wheel."""

    def __init__(self, path: str, title: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title or Path(path).name)
        self.pixmap = QPixmap(path)
        self.label = QLabel()
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.scroll = QScrollArea()
        self.scroll.setWidget(self.label)
        self.scroll.setWidgetResizable(True)
        self.zoom = QSlider(Qt.Orientation.Horizontal)
        self.zoom.setRange(10, 800)
        self.zoom.setValue(100)
        self.zoom_label = QLabel("100%")
        fit = QPushButton("Fit")
        row = QHBoxLayout()
        row.addWidget(QLabel("Zoom"))
        row.addWidget(self.zoom, 1)
        row.addWidget(self.zoom_label)
        row.addWidget(fit)
        layout = QVBoxLayout(self)
        layout.addWidget(self.scroll, 1)
        layout.addLayout(row)
        self.zoom.valueChanged.connect(self._apply_zoom)
        fit.clicked.connect(self.fit)
        self.resize(720, 760)
        self._apply_zoom(100)

    def _apply_zoom(self, percent: int) -> None:
        self.zoom_label.setText(f"{percent}%")
        if self.pixmap.isNull():
            self.label.setText("The image file is missing.")
            return
        size = self.pixmap.size() * (percent / 100)
        # Nearest-neighbour when enlarging, so pixels stay crisp for inspection.
        mode = Qt.TransformationMode.FastTransformation if percent > 100 else Qt.TransformationMode.SmoothTransformation
        self.label.setPixmap(self.pixmap.scaled(size, Qt.AspectRatioMode.KeepAspectRatio, mode))

    def fit(self) -> None:
        if self.pixmap.isNull():
            return
        view = self.scroll.viewport().size()
        ratio = min(view.width() / self.pixmap.width(), view.height() / self.pixmap.height())
        self.zoom.setValue(max(10, min(800, int(ratio * 100))))

    def wheelEvent(self, event) -> None:  # noqa: N802 (Qt override)
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.zoom.setValue(self.zoom.value() + (10 if event.angleDelta().y() > 0 else -10))
            event.accept()
        else:
            super().wheelEvent(event)


class ImagesGallery(QWidget):
    reuse_requested = Signal(object)
    reuse_seed_requested = Signal(object)
    init_requested = Signal(str)
    upscale_requested = Signal(object)
    image_selected = Signal(object)
    deleted = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.confirm_delete = True
        self.grid = QListWidget()
        self.grid.setViewMode(QListWidget.ViewMode.IconMode)
        self.grid.setIconSize(QSize(ICON, ICON))
        self.grid.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.grid.setMovement(QListWidget.Movement.Static)
        self.grid.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.reuse_button = QPushButton(icon("arrow-counter-clockwise"), "Reuse all")
        self.reuse_button.setToolTip("Put every parameter of this image back in the panel")
        self.seed_button = QPushButton(icon("shuffle"), "Reuse seed")
        self.seed_button.setToolTip("Put this image's seed back in the panel")
        self.init_button = QPushButton(icon("image-square"), "Use as init")
        self.init_button.setToolTip("Start an img2img run from this image")
        self.upscale_button = QPushButton(icon("arrows-out"), "Upscale…")
        self.upscale_button.setToolTip("Enlarge this image with an upscaler model (Real-ESRGAN, SwinIR…)")
        self.copy_button = QPushButton(icon("copy"), "Copy")
        self.copy_button.setToolTip("Copy the image to the clipboard")
        self.open_button = QPushButton(icon("folder-open"), "Open folder")
        self.open_button.setToolTip("Show the image file in its folder")
        self.delete_button = QPushButton(icon("trash"), "Delete")
        self.delete_button.setToolTip("Delete the image file (its history entry stays)")
        self.buttons = (self.reuse_button, self.seed_button, self.init_button, self.upscale_button,
                        self.copy_button, self.open_button, self.delete_button)
        row = FlowLayout(spacing=6, line_spacing=4)  # the actions wrap rather than widen the window
        for b in self.buttons:
            row.addWidget(b)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.grid, 1)
        layout.addLayout(row)

        self.reuse_button.clicked.connect(lambda: self._with_selected(self.reuse_requested.emit))
        self.seed_button.clicked.connect(lambda: self._with_selected(lambda r: self.reuse_seed_requested.emit(r.seed)))
        self.init_button.clicked.connect(lambda: self._with_selected(lambda r: self.init_requested.emit(r.image_path)))
        self.upscale_button.clicked.connect(lambda: self._with_selected(self.upscale_requested.emit))
        self.copy_button.clicked.connect(lambda: self._with_selected(self.copy_image))
        self.open_button.clicked.connect(lambda: self._with_selected(self.open_folder))
        self.delete_button.clicked.connect(lambda: self._with_selected(self.delete))
        self.grid.itemDoubleClicked.connect(lambda item: self.enlarge(item.data(RECORD_ROLE)))
        self.grid.customContextMenuRequested.connect(self._context_menu)
        self.grid.itemSelectionChanged.connect(self._update_buttons)
        self.grid.currentItemChanged.connect(
            lambda item, _previous: item is not None and self.image_selected.emit(item.data(RECORD_ROLE)))
        self.grid.itemClicked.connect(lambda item: self.image_selected.emit(item.data(RECORD_ROLE)))
        self._update_buttons()

    # --- content ------------------------------------------------------------------
    def add(self, record: GenerationRecord) -> QListWidgetItem:
        """Add a saved image (newest first) and select it."""
        icon_source = record.thumbnail_path if Path(record.thumbnail_path).is_file() else record.image_path
        thumbnail = QIcon(QPixmap(icon_source))
        thumbnail.addPixmap(QPixmap(icon_source), QIcon.Mode.Selected)  # not tinted: the selection is the frame
        item = QListWidgetItem(thumbnail, self.label(record))
        item.setData(RECORD_ROLE, record)
        item.setToolTip(f"{record.prompt[:200]}\n{Path(record.image_path).name}")
        self.grid.insertItem(0, item)
        self.grid.setCurrentItem(item)
        return item

    @staticmethod
    def label(record: GenerationRecord) -> str:
        """"seed 42", or "4× upscale" for an image an upscaler made."""
        if is_upscale_record(record):
            scale = (record.parameters.get("upscaler") or {}).get("scale")
            return f"{scale}× upscale" if scale else "upscale"
        return f"seed {record.seed}"

    def records(self) -> list[GenerationRecord]:
        return [self.grid.item(i).data(RECORD_ROLE) for i in range(self.grid.count())]

    def selected_record(self) -> GenerationRecord | None:
        item = self.grid.currentItem()
        return item.data(RECORD_ROLE) if item is not None else None

    def count(self) -> int:
        return self.grid.count()

    # --- actions --------------------------------------------------------------------
    def enlarge(self, record: GenerationRecord) -> ImageViewer:
        viewer = ImageViewer(record.image_path, f"{self.label(record)} · {record.prompt[:60]}", self)
        viewer.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        viewer.show()
        return viewer

    @staticmethod
    def copy_image(record: GenerationRecord) -> None:
        QGuiApplication.clipboard().setImage(QImage(record.image_path))

    @staticmethod
    def open_folder(record: GenerationRecord) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(record.image_path).parent)))

    def delete(self, record: GenerationRecord) -> None:
        if self.confirm_delete:
            answer = QMessageBox.question(self, "Delete image",
                                          f"Delete {Path(record.image_path).name} from disk? "
                                          "Its history entry stays.")
            if answer != QMessageBox.StandardButton.Yes:
                return
        try:
            delete_output(Path(record.image_path))
        except OSError as exc:
            QMessageBox.warning(self, "Delete image", f"Could not delete the file: {exc}")
            return
        for i in range(self.grid.count()):
            if self.grid.item(i).data(RECORD_ROLE) is record:
                self.grid.takeItem(i)
                break
        self.deleted.emit(record.image_path)

    def _with_selected(self, action) -> None:
        record = self.selected_record()
        if record is not None:
            action(record)

    def _update_buttons(self) -> None:
        record = self.selected_record()
        for b in self.buttons:
            b.setEnabled(record is not None)
        if record is not None and is_upscale_record(record):  # no parameters or seed of its own
            self.reuse_button.setEnabled(False)
            self.seed_button.setEnabled(False)

    def _context_menu(self, pos) -> None:
        item = self.grid.itemAt(pos)
        if item is None:
            return
        self.grid.setCurrentItem(item)
        menu = QMenu(self)
        menu.addAction("Enlarge", lambda: self.enlarge(item.data(RECORD_ROLE)))
        for b in self.buttons:
            action = menu.addAction(b.text(), b.click)
            action.setEnabled(b.isEnabled())
        menu.exec(self.grid.viewport().mapToGlobal(pos))
