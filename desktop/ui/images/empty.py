"""What the Images workspace shows before a model is chosen: a call to action.

Signals:
    open_folder_requested(): "Open folder…" was clicked.
    open_file_requested(): "Open file…" was clicked.
    models_requested(): "Models" was clicked (find or download a model).
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from desktop.ui import theme
from desktop.ui.icons import icon

TITLE = "Load an image model"
DETAIL = ("Open a diffusers model folder (with model_index.json) or a single .safetensors checkpoint, "
          "or find one in Models. Stable Diffusion 1.x, 2.x, SDXL and the Turbo models work.")


class ImagesEmptyState(QWidget):
    open_folder_requested = Signal()
    open_file_requested = Signal()
    models_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("imagesEmptyState")
        picture = QLabel()
        picture.setPixmap(icon("image", QPalette.ColorRole.PlaceholderText).pixmap(QSize(56, 56)))
        picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title = QLabel(TITLE)
        theme.set_role(self.title, "title")
        self.detail = QLabel(DETAIL)
        theme.set_role(self.detail, "muted")
        self.detail.setWordWrap(True)
        self.detail.setFixedWidth(460)
        for label in (self.title, self.detail):
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.folder_button = QPushButton(icon("folder-open"), "Open folder…")
        theme.set_role(self.folder_button, "primary")
        self.file_button = QPushButton(icon("file"), "Open file…")
        self.models_button = QPushButton(icon("cube"), "Models")
        self.models_button.setToolTip("Find, download or import a model")
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for b in (self.folder_button, self.file_button, self.models_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setSpacing(theme.SPACE_M)
        layout.addStretch(2)
        layout.addWidget(picture)
        layout.addWidget(self.title)
        detail_row = QHBoxLayout()  # a wrapped label keeps its height in a row, not with an alignment flag
        detail_row.addStretch(1)
        detail_row.addWidget(self.detail)
        detail_row.addStretch(1)
        layout.addLayout(detail_row)
        layout.addSpacing(theme.SPACE_S)
        layout.addLayout(buttons)
        layout.addStretch(3)
        self.folder_button.clicked.connect(self.open_folder_requested)
        self.file_button.clicked.connect(self.open_file_requested)
        self.models_button.clicked.connect(self.models_requested)
