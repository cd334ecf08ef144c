"""The "Add collection" dialog: a name and the folders of documents, checked before anything is written.

What it checks (each refusal says what is wrong and what to do, under the
fields, and the dialog stays open): an empty name, a name that is taken
(any case) or reserved (``history``), no folder, a folder that does not
exist, is a file, or cannot be read.  The registry checks the name again
when the collection is added (another GenLab may have taken it meanwhile);
that refusal reaches the workspace's status line.

Hooks (replaceable in tests): ``choose_folder() -> str`` ("" when none was
chosen; a QFileDialog by default).

Signals:
    refused(str): a check failed; the message shown.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.ui import theme

HISTORY = "history"  # the registry's reserved name (desktop.core.knowledge.registry.HISTORY)


def folder_problem(folder: str) -> str:
    """Why ``folder`` cannot be a collection's folder, in a person's words; "" when it can."""
    path = Path(folder).expanduser()
    if not path.exists():
        return f"The folder {path} does not exist. Check the path, or choose it with Add folder…"
    if not path.is_dir():
        return f"{path} is a file, not a folder. Choose the folder that holds it."
    try:
        if not os.access(path, os.R_OK | os.X_OK):
            raise PermissionError
        with os.scandir(path) as entries:
            next(entries, None)
    except PermissionError:
        return f"The folder {path} cannot be read (no permission). Choose a folder you can open."
    except OSError as exc:
        return f"The folder {path} cannot be read: {exc.strerror or exc}. Choose a folder you can open."
    return ""


class AddCollectionDialog(QDialog):
    refused = Signal(str)

    def __init__(self, taken: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add a collection")
        self.setMinimumWidth(520)
        self._taken = {name.casefold() for name in taken}
        self.choose_folder = self._choose_folder
        self.name = QLineEdit()
        self.name.setPlaceholderText("For example: notes")
        self.folders = QListWidget()
        self.folders.setObjectName("knowledgeAddFolders")
        self.add_folder_button = QPushButton("Add folder…")
        self.remove_folder_button = QPushButton("Remove")
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setObjectName("knowledgeAddMessage")
        theme.set_role(self.message, "error")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Add and index")

        folder_buttons = QVBoxLayout()
        folder_buttons.addWidget(self.add_folder_button)
        folder_buttons.addWidget(self.remove_folder_button)
        folder_buttons.addStretch(1)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folders, 1)
        folder_row.addLayout(folder_buttons)
        form = QFormLayout()
        form.addRow("Name:", self.name)
        form.addRow("Folders:", folder_row)
        hint = QLabel("Text, Markdown, HTML, PDF, Word (.docx) and source files in these folders and "
                      "their subfolders are indexed; the documents themselves are never changed.")
        hint.setWordWrap(True)
        theme.set_role(hint, "muted")
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(hint)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)

        self.add_folder_button.clicked.connect(self._add_chosen)
        self.remove_folder_button.clicked.connect(self._remove_selected)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

    # --- folders ----------------------------------------------------------------------
    def _choose_folder(self) -> str:
        return QFileDialog.getExistingDirectory(self, "Choose a folder of documents")

    def _add_chosen(self) -> None:
        folder = self.choose_folder()
        if folder:
            self.add_folder(folder)

    def add_folder(self, folder: str) -> None:
        if folder not in self.folder_list():
            self.folders.addItem(folder)

    def _remove_selected(self) -> None:
        for item in self.folders.selectedItems():
            self.folders.takeItem(self.folders.row(item))

    def folder_list(self) -> list[str]:
        return [self.folders.item(i).text() for i in range(self.folders.count())]

    # --- checking ------------------------------------------------------------------------
    def problem(self) -> str:
        """What stops this collection from being added; "" when nothing does."""
        name = self.name.text().strip()
        if not name:
            return "Give the collection a name."
        if name.casefold() == HISTORY:
            return "“history” is the generation history's own collection. Choose another name."
        if name.casefold() in self._taken:
            return f"A collection named “{name}” exists already. Choose another name, or reindex that one."
        folders = self.folder_list()
        if not folders:
            return "Add at least one folder of documents."
        for folder in folders:
            found = folder_problem(folder)
            if found:
                return found
        return ""

    def accept(self) -> None:
        problem = self.problem()
        self.message.setText(problem)
        if problem:
            self.refused.emit(problem)
            return
        super().accept()

    def result_name(self) -> str:
        return self.name.text().strip()

    def result_folders(self) -> list[Path]:
        return [Path(f).expanduser() for f in self.folder_list()]
