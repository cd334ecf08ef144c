"""The "Upscale…" dialog of the Images gallery: which upscaler, and how to tile.

The combo lists the upscaler files in ``<models dir>/upscalers`` (the folder
A1111 calls ESRGAN/); Browse… adds any .safetensors/.pth file on disk.  The
tile side and its padding are the ones ``genlab upscale --tile --pad`` takes.
The model is loaded and run by the workspace's engine job, not here: the
dialog only checks what it can without reading the file (the optional
spandrel package is there, a file is chosen and exists, the tiling is
valid) and says so in its own words, with OK disabled until it is right.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.core.errors import GenLabError
from desktop.core.image import upscale
from desktop.ui import theme
from desktop.ui.widgets import spin_box

FILTER = "Upscaler models (*.safetensors *.pth *.pt *.ckpt)"


class UpscaleDialog(QDialog):
    """Choose an upscaler and tiling for one image; :meth:`choice` is (path, tile, pad) once accepted."""

    def __init__(self, image_path: str, parent: QWidget | None = None, *, last_model: str = "") -> None:
        super().__init__(parent)
        self.setObjectName("upscaleDialog")
        self.setWindowTitle("Upscale image")
        self.image_path = image_path
        self.unavailable = upscale.available()  # "" when spandrel imports
        self.model = QComboBox()
        self.model.setMinimumContentsLength(28)
        self.model.setPlaceholderText("No upscaler yet: Browse… for a .pth or .safetensors file")
        for path in upscale.upscaler_files():
            self.model.addItem(path.stem, str(path))
        if self.model.count():
            self.model.setCurrentIndex(0)  # a placeholder keeps the combo unselected otherwise
        if last_model and Path(last_model).is_file():
            self._add_path(last_model)
        self.browse_button = QPushButton("Browse…")
        self.browse_button.setToolTip("Any Real-ESRGAN, SwinIR, HAT, DAT… model spandrel reads")
        self.tile = spin_box(0, 4096, 64, special="whole image")
        self.tile.setValue(upscale.DEFAULT_TILE)
        self.tile.setSuffix(" px")
        self.tile.setToolTip("The image is upscaled in tiles of this side (less memory); "
                             "'whole image' runs it at once")
        self.pad = spin_box(0, 256, 8)
        self.pad.setValue(upscale.DEFAULT_PAD)
        self.pad.setSuffix(" px")
        self.pad.setToolTip("Context around each tile, cut off afterwards, so tile seams do not show")
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setObjectName("upscaleMessage")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Upscale")

        model_row = QHBoxLayout()
        model_row.addWidget(self.model, 1)
        model_row.addWidget(self.browse_button)
        form = QFormLayout()
        form.addRow("Upscaler", model_row)
        form.addRow("Tile size", self.tile)
        form.addRow("Tile padding", self.pad)
        layout = QVBoxLayout(self)
        source = QLabel(f"Upscale {Path(image_path).name}; the result is a new image in the gallery and History.")
        source.setWordWrap(True)
        theme.set_role(source, "muted")
        layout.addWidget(source)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)

        self.browse_button.clicked.connect(self._browse)
        self.model.currentIndexChanged.connect(self._check)
        self.tile.valueChanged.connect(self._check)
        self.pad.valueChanged.connect(self._check)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self._check()

    def _add_path(self, path: str) -> None:
        resolved = str(Path(path).resolve())
        for i in range(self.model.count()):
            if str(Path(self.model.itemData(i)).resolve()) == resolved:
                self.model.setCurrentIndex(i)
                return
        self.model.addItem(Path(path).stem, path)
        self.model.setCurrentIndex(self.model.count() - 1)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose an upscaler model", "", FILTER)
        if path:
            self.choose_file(path)

    def choose_file(self, path: str) -> None:
        """Put this file in the combo and select it (Browse…'s result)."""
        self._add_path(path)
        self._check()

    def problem(self) -> str:
        """Why Upscale cannot run yet, in the user's words; "" when it can."""
        if self.unavailable:
            return self.unavailable
        path = self.model.currentData()
        if not path:
            return (f"Choose an upscaler: Browse… for a .pth or .safetensors file, or put one in "
                    f"{upscale.upscalers_folder()}.")
        if not Path(path).is_file():
            return f"The upscaler file {path} is gone. Browse… for another."
        if Path(path).suffix.lower() not in upscale.SUFFIXES:
            return f"{Path(path).name} is not an upscaler file: choose a .safetensors, .pth, .pt or .ckpt file."
        try:
            upscale.check_tiling(self.tile.value(), self.pad.value())
        except GenLabError as exc:
            return str(exc)
        return ""

    def _check(self, *_: object) -> None:
        problem = self.problem()
        self.message.setText(problem)
        self.message.setVisible(bool(problem))
        if problem:
            self.message.setStyleSheet(f"color: {theme.colours().danger}")
        self.ok_button.setEnabled(not problem)
        for widget in (self.model, self.browse_button, self.tile, self.pad):
            widget.setEnabled(not self.unavailable)

    def choice(self) -> tuple[str, int, int]:
        return str(self.model.currentData()), self.tile.value(), self.pad.value()
