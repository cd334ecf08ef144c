"""The inpaint, outpaint and hires-fix controls of the Images parameter panel.

- :class:`MaskControl`: "Paint mask…" opens a :class:`MaskDialog` (the
  :class:`~desktop.ui.images.mask_editor.MaskEditor` on the init image);
  "Use mask" saves the painted mask under ``<data root>/masks/`` (the
  engine copies it beside the image it makes, so the record never depends
  on this file) and the request carries it as ``mask_image`` with the
  feather as ``mask_blur``.  Painting again starts from the current mask.
- :class:`OutpaintControl`: pixels to add on the left, top, right and
  bottom (``outpaint``; all 0 is none).  Mask and outpaint exclude each
  other in the engine, which says so.
- :class:`HiresControl`: hires fix scale (1× is off), the second pass's
  denoise strength and the upscaling method.

The engine checks every value (sizes, ranges, combinations) and reports a
bad one by name; these widgets only keep the boxes in range.

Signals (each class):
    changed(): its value changed.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.core.image.hires import HIRES_METHODS, MAX_SCALE
from desktop.ui import theme
from desktop.ui.icons import icon
from desktop.ui.images.mask_editor import MaskEditor
from desktop.ui.widgets import double_spin_box, spin_box

MAX_PAD = 1024


class MaskDialog(QDialog):
    """The mask editor on one image, with "Use mask" and "Cancel" (shown non-modal: :meth:`open`)."""

    def __init__(self, image: QImage, mask: np.ndarray | None, feather: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Paint the mask: white is repainted")
        self.editor = MaskEditor()
        self.editor.canvas.set_image(image, mask)
        self.editor.set_feather(feather)
        self.problem = QLabel()
        theme.set_role(self.problem, "error")
        self.problem.hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.use_button = self.buttons.addButton("Use mask", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.rejected.connect(self.reject)
        self.use_button.clicked.connect(self._use)
        layout = QVBoxLayout(self)
        layout.addWidget(self.editor, 1)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        self.resize(640, 640)

    def _use(self) -> None:
        if self.editor.is_empty():  # the engine refuses an all-black mask; say it here, before any job
            self.problem.setText("The mask is empty: paint the parts to repaint first (or Cancel).")
            self.problem.show()
            return
        self.accept()


class MaskControl(QWidget):
    """The mask of the next inpaint: paint it, clear it, see whether there is one (see the module)."""

    changed = Signal()

    def __init__(self, init_path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._init_path = init_path  # () -> str: the panel's init image
        self.path = ""  # the saved mask file; "" none
        self.feather = 4
        self._painted: np.ndarray | None = None  # what the dialog showed last, to paint on again
        self.dialog: MaskDialog | None = None
        self.paint_button = QPushButton(icon("pencil-simple"), "Paint mask…")
        self.paint_button.setToolTip("Paint over the init image what to repaint (inpainting)")
        self.clear_button = QToolButton()
        self.clear_button.setIcon(icon("x"))
        self.clear_button.setToolTip("No mask: plain img2img")
        self.state = QLabel("none")
        theme.set_role(self.state, "muted")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.paint_button)
        row.addWidget(self.clear_button)
        row.addWidget(self.state, 1)
        self.paint_button.clicked.connect(self.open_editor)
        self.clear_button.clicked.connect(self.clear)
        self.update_enabled()

    def update_enabled(self) -> None:
        has_init = bool(self._init_path())
        self.paint_button.setEnabled(has_init)
        self.clear_button.setEnabled(bool(self.path))

    def open_editor(self) -> MaskDialog | None:
        """Open the editor on the init image (non-modal); its "Use mask" saves and applies the mask."""
        path = self._init_path()
        image = QImage(path) if path else QImage()
        if image.isNull():
            self.state.setText("The init image cannot be read; choose another one.")
            return None
        mask = self._painted if self._painted is not None and self._painted.shape == (image.height(),
                                                                                       image.width()) else None
        self.dialog = MaskDialog(image, mask, self.feather, self)
        self.dialog.accepted.connect(self._accepted)
        self.dialog.open()
        return self.dialog

    def _accepted(self) -> None:
        from desktop.core import paths

        assert self.dialog is not None
        editor = self.dialog.editor
        target = paths.data_root() / "masks" / f"{uuid.uuid4().hex}.png"
        editor.save(target)
        self._painted = editor.mask_array()
        self.set_mask(str(target), editor.feather())

    def set_mask(self, path: str, feather: int) -> None:
        self.path, self.feather = path, feather
        self.state.setText(f"{Path(path).name} · feather {feather} px" if path else "none")
        self.state.setToolTip(path)
        self.update_enabled()
        self.changed.emit()

    def clear(self) -> None:
        self._painted = None
        self.set_mask("", self.feather)


class OutpaintControl(QWidget):
    """Pixels to add on each side of the init image (see the module)."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.boxes = {}
        for side, label in (("left", "L"), ("top", "T"), ("right", "R"), ("bottom", "B")):
            box = spin_box(0, MAX_PAD, 8)
            box.setToolTip(f"Pixels to add on the {side} (rounded to the model's size step)")
            box.valueChanged.connect(self.changed)
            self.boxes[side] = box
            row.addWidget(QLabel(label))
            row.addWidget(box, 1)

    def pads(self) -> list[int]:
        """``[left, top, right, bottom]``, or ``[]`` when nothing is added."""
        values = [box.value() for box in self.boxes.values()]
        return values if any(values) else []

    def set_pads(self, pads: list[int]) -> None:
        for box, value in zip(self.boxes.values(), pads or [0, 0, 0, 0]):
            box.setValue(int(value))


class HiresControl(QWidget):
    """Hires fix: scale (1× off), strength of the second pass, upscaling method (see the module)."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.scale = double_spin_box(1.0, MAX_SCALE, 0.25)
        self.scale.setSpecialValueText("off")
        self.scale.setSuffix("×")
        self.scale.setToolTip("Make the image, enlarge it by this much and denoise it again (1×: off)")
        self.strength = double_spin_box(0.01, 1.0, 0.05)
        self.strength.setValue(0.5)
        self.strength.setToolTip("Denoise strength of the second pass")
        self.method = QComboBox()
        self.method.addItems(list(HIRES_METHODS))
        self.method.setCurrentText("lanczos")
        self.method.setToolTip("latent: enlarge the latents (SD 1.x/2.x/XL); bicubic, lanczos: the pixels")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.scale, 1)
        row.addWidget(QLabel("strength"))
        row.addWidget(self.strength, 1)
        row.addWidget(self.method)
        for signal in (self.scale.valueChanged, self.strength.valueChanged, self.method.currentIndexChanged):
            signal.connect(self.changed)
        self.scale.valueChanged.connect(self._update_enabled)
        self._update_enabled()

    def hires_scale(self) -> float:
        """The request's ``hires_scale``: 0 when off."""
        value = round(self.scale.value(), 2)
        return value if value > 1.0 else 0.0

    def set_values(self, scale: float, strength: float, method: str) -> None:
        self.scale.setValue(scale if scale > 1.0 else 1.0)
        self.strength.setValue(strength)
        self.method.setCurrentText(method)

    def _update_enabled(self, *_: object) -> None:
        on = self.hires_scale() > 0
        self.strength.setEnabled(on)
        self.method.setEnabled(on)
