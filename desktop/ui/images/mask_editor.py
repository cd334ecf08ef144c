"""A mask editor for inpainting: paint the parts of an image to repaint, shown over it.

:class:`MaskCanvas` shows the image scaled to fit with the mask over it
(repaint in translucent red) and paints with the mouse: a round brush of a
size in image pixels, white with the brush, black with the eraser, strokes
joined between mouse events so a fast drag leaves no gaps.  The mask is a
numpy array of the image's size (0 keep, 255 repaint), the format
:mod:`desktop.core.image.masks` reads (white = repaint).

:class:`MaskEditor` adds the tools: brush / eraser, brush size, feather
(the paste-back blur radius the request carries as ``mask_blur``; the
overlay shows the feathered edge once a stroke ends), invert and clear.
:meth:`MaskEditor.save` writes the mask with the core's ``write_mask``.
Both widgets stand alone: give them an image, read the mask back.

Signals (both classes):
    mask_changed(): a stroke ended, or the mask was inverted, cleared or replaced.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QPoint, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QImage, QMouseEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from desktop.core.image.masks import MAX_FEATHER
from desktop.ui import theme
from desktop.ui.widgets import spin_box

OVERLAY_RGB = (230, 40, 60)
OVERLAY_ALPHA = 0.55  # of a fully white mask pixel


def stamp_line(mask: np.ndarray, start: tuple[float, float], end: tuple[float, float], radius: float,
               value: int) -> None:
    """Paint a round-ended line of ``radius`` from ``start`` to ``end`` (x, y in pixels) into ``mask``."""
    h, w = mask.shape
    (x0, y0), (x1, y1) = start, end
    left, right = int(max(0, np.floor(min(x0, x1) - radius))), int(min(w, np.ceil(max(x0, x1) + radius) + 1))
    top, bottom = int(max(0, np.floor(min(y0, y1) - radius))), int(min(h, np.ceil(max(y0, y1) + radius) + 1))
    if left >= right or top >= bottom:
        return
    ys, xs = np.mgrid[top:bottom, left:right]
    px, py = xs + 0.5 - x0, ys + 0.5 - y0  # pixel centres, relative to the start
    dx, dy = x1 - x0, y1 - y0
    length2 = dx * dx + dy * dy
    t = np.clip((px * dx + py * dy) / length2, 0.0, 1.0) if length2 else np.zeros_like(px)
    inside = (px - t * dx) ** 2 + (py - t * dy) ** 2 <= radius * radius
    mask[top:bottom, left:right][inside] = value


class MaskCanvas(QWidget):
    """The image with its mask over it, painted with the mouse (see the module)."""

    mask_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.brush_size = 24  # diameter, image pixels
        self.erasing = False
        self._image = QImage()
        self.values = np.zeros((0, 0), dtype=np.uint8)  # the mask, rows x columns (QWidget has a mask())
        self.feathered: np.ndarray | None = None  # the mask as the paste-back will blend it; None: no feather
        self._overlay = QImage()
        self._overlay_bytes: bytes = b""
        self._last: tuple[float, float] | None = None  # image position of the stroke so far
        self.setMinimumSize(160, 160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setCursor(Qt.CursorShape.CrossCursor)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(384, 384)

    # --- the image and the mask -------------------------------------------------------
    def set_image(self, image: QImage, mask: np.ndarray | None = None) -> None:
        """Edit a mask for ``image`` (a fresh black one unless ``mask`` of its size is given)."""
        self._image = image.convertToFormat(QImage.Format.Format_RGB32)
        shape = (image.height(), image.width())
        self.values = mask.astype(np.uint8).copy() if mask is not None and mask.shape == shape \
            else np.zeros(shape, dtype=np.uint8)
        self.feathered = None
        self._refresh_overlay()
        self.mask_changed.emit()

    def has_image(self) -> bool:
        return not self._image.isNull()

    def set_mask(self, mask: np.ndarray, feathered: np.ndarray | None = None) -> None:
        self.values = mask.astype(np.uint8)
        self.feathered = feathered
        self._refresh_overlay()
        self.mask_changed.emit()

    def _refresh_overlay(self) -> None:
        shown = self.values if self.feathered is None else self.feathered
        h, w = shown.shape
        rgba = np.empty((h, w, 4), dtype=np.uint8)
        rgba[..., :3] = OVERLAY_RGB
        rgba[..., 3] = (shown.astype(np.float32) * OVERLAY_ALPHA).astype(np.uint8)
        self._overlay_bytes = rgba.tobytes()  # QImage borrows the buffer
        self._overlay = QImage(self._overlay_bytes, w, h, 4 * w, QImage.Format.Format_RGBA8888) if w and h \
            else QImage()
        self.update()

    # --- geometry -------------------------------------------------------------------
    def image_rect(self) -> QRectF:
        """Where the image is drawn: scaled to fit, centred, its aspect kept."""
        if self._image.isNull():
            return QRectF()
        scale = min(self.width() / self._image.width(), self.height() / self._image.height())
        w, h = self._image.width() * scale, self._image.height() * scale
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    def to_image(self, pos: QPoint | QPointF) -> tuple[float, float]:
        """A widget position as image pixel coordinates (x, y)."""
        rect = self.image_rect()
        scale = rect.width() / self._image.width()
        return (pos.x() - rect.x()) / scale, (pos.y() - rect.y()) / scale

    # --- painting ----------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        if event.button() != Qt.MouseButton.LeftButton or not self.has_image():
            return super().mousePressEvent(event)
        self.feathered = None  # the feather is shown again when the stroke ends
        self._last = self.to_image(event.position())
        self._stroke(self._last)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        if self._last is None:  # only while a stroke is on (a press came first)
            return super().mouseMoveEvent(event)
        self._stroke(self.to_image(event.position()))

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        if self._last is None or event.button() != Qt.MouseButton.LeftButton:
            return super().mouseReleaseEvent(event)
        self._stroke(self.to_image(event.position()))
        self._last = None
        self.mask_changed.emit()

    def _stroke(self, to: tuple[float, float]) -> None:
        assert self._last is not None
        stamp_line(self.values, self._last, to, self.brush_size / 2, 0 if self.erasing else 255)
        self._last = to
        self._refresh_overlay()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().base())
        if self._image.isNull():
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "Choose an init image to paint a mask on.")
            return
        rect = self.image_rect()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawImage(rect, self._image)
        if not self._overlay.isNull():
            painter.drawImage(rect, self._overlay)


class MaskEditor(QWidget):
    """A :class:`MaskCanvas` with brush, eraser, size, feather, invert and clear (see the module)."""

    mask_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.canvas = MaskCanvas()
        self.brush_button = QPushButton("Brush")
        self.eraser_button = QPushButton("Eraser")
        tools = QButtonGroup(self)
        for button in (self.brush_button, self.eraser_button):
            button.setCheckable(True)
            tools.addButton(button)
        self.brush_button.setChecked(True)
        self.brush_button.setToolTip("Paint what to repaint (white in the mask)")
        self.eraser_button.setToolTip("Paint back what to keep (black in the mask)")
        self.size_box = spin_box(1, 512)
        self.size_box.setValue(self.canvas.brush_size)
        self.size_box.setSuffix(" px")
        self.size_box.setToolTip("Brush diameter, in pixels of the image")
        self.feather_box = spin_box(0, MAX_FEATHER)
        self.feather_box.setValue(4)
        self.feather_box.setSuffix(" px")
        self.feather_box.setToolTip("Feather: how far the repainted part blends into the kept picture")
        self.invert_button = QPushButton("Invert")
        self.clear_button = QPushButton("Clear")
        self.coverage = QLabel()
        theme.set_role(self.coverage, "muted")
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        for widget in (self.brush_button, self.eraser_button, QLabel("Size"), self.size_box, QLabel("Feather"),
                       self.feather_box, self.invert_button, self.clear_button):
            row.addWidget(widget)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.coverage)
        self.eraser_button.toggled.connect(self._tool_changed)
        self.size_box.valueChanged.connect(self._size_changed)
        self.feather_box.valueChanged.connect(lambda _v: self._show_feather())
        self.invert_button.clicked.connect(self.invert)
        self.clear_button.clicked.connect(self.clear)
        self.canvas.mask_changed.connect(self._canvas_changed)

    def set_image(self, image: QImage | str | Path) -> None:
        self.canvas.set_image(image if isinstance(image, QImage) else QImage(str(image)))

    def mask_array(self) -> np.ndarray:
        """The mask: 255 repaint, 0 keep, the image's size."""
        return self.canvas.values.copy()

    def feather(self) -> int:
        return self.feather_box.value()

    def set_feather(self, radius: int) -> None:
        self.feather_box.setValue(radius)

    def is_empty(self) -> bool:
        return not bool(self.canvas.values.any())

    def invert(self) -> None:
        self.canvas.set_mask(255 - self.canvas.values)

    def clear(self) -> None:
        self.canvas.set_mask(np.zeros_like(self.canvas.values))

    def save(self, path: Path) -> str:
        """Write the mask as a greyscale PNG at ``path``; its sha256."""
        from PIL import Image

        from desktop.core.image.masks import write_mask

        return write_mask(Image.fromarray(self.canvas.values), Path(path))

    def _tool_changed(self, erasing: bool) -> None:
        self.canvas.erasing = erasing

    def _size_changed(self, size: int) -> None:
        self.canvas.brush_size = size

    def _canvas_changed(self) -> None:
        if self.canvas.feathered is None and self.feather() and self.canvas.values.any():
            self._show_feather()  # emits again through the canvas
            return
        share = float((self.canvas.values >= 128).mean()) if self.canvas.values.size else 0.0
        self.coverage.setText(f"{share:.0%} of the image will be repainted" if share else
                              "Paint over the parts to repaint.")
        self.mask_changed.emit()

    def _show_feather(self) -> None:
        """Show the mask as the paste-back will blend it (the core's own blur)."""
        mask = self.canvas.values
        if not self.feather() or not mask.any():
            self.canvas.set_mask(mask, None)
            return
        from PIL import Image

        from desktop.core.image.masks import feather

        soft = np.asarray(feather(Image.fromarray(mask), self.feather()), dtype=np.uint8)
        self.canvas.set_mask(mask, soft)
