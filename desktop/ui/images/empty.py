"""What the Images workspace shows before a model is chosen: a call to action.

The shared :class:`~desktop.ui.widgets.EmptyState` with three ways to a
model: open a folder (the primary action), open a file, or go to Models.

Signals:
    open_folder_requested(): "Open folder…" was clicked.
    open_file_requested(): "Open file…" was clicked.
    models_requested(): "Models" was clicked (find or download a model).
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget

from desktop.ui.widgets import EmptyState

TITLE = "Load an image model"
DETAIL = ("Open a diffusers model folder (with model_index.json) or a single .safetensors checkpoint, "
          "or find one in Models. Stable Diffusion 1.x, 2.x, SDXL and the Turbo models work.")


class ImagesEmptyState(EmptyState):
    open_folder_requested = Signal()
    open_file_requested = Signal()
    models_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("image", TITLE, DETAIL, "Open folder…", action_icon="folder-open", parent=parent)
        self.setObjectName("imagesEmptyState")
        self.folder_button = self.button
        self.file_button = self.add_button("Open file…", "file")
        self.models_button = self.add_button("Models", "cube")
        self.models_button.setToolTip("Find, download or import a model")
        self.action_requested.connect(self.open_folder_requested)
        self.file_button.clicked.connect(self.open_file_requested)
        self.models_button.clicked.connect(self.models_requested)
