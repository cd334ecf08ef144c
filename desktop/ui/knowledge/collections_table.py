"""The list of collections: one row each, name, folders, files, chunks, state and when last indexed.

The state is said in words: the history is always up to date; a folder that
is gone is "Folder missing" (its chunks are kept, a disconnected drive is no
deletion); a run stopped part way says the next one continues.  The row
being indexed says so while it runs.

Signals:
    selection_changed(str): the name of the collection now selected ("" for none).
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

from desktop.core.knowledge.registry import Collection

COLUMNS = ("Name", "Folders", "Files", "Chunks", "State", "Last indexed")
INDEXING = "Indexing…"


def state_text(collection: Collection) -> str:
    """The state column's words for ``collection``."""
    state = collection.state
    if collection.is_history:
        return "Up to date (indexed as records are saved)"
    if state.missing_folders:
        n = len(state.missing_folders)
        return "Folder missing" if n == 1 else f"{n} folders missing"
    if not state.indexed_at:
        return "Not indexed yet"
    if not state.complete:
        return "Stopped part way (reindex continues)"
    skipped = len(state.problems)
    return f"Indexed, {skipped} file{'s' if skipped != 1 else ''} skipped" if skipped else "Indexed"


def when_text(iso: str) -> str:
    if not iso:
        return "never"
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


class CollectionsTable(QTableWidget):
    selection_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setObjectName("knowledgeCollections")
        self.setHorizontalHeaderLabels(COLUMNS)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.verticalHeader().hide()
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self._collections: list[Collection] = []
        self._indexing = ""
        self.itemSelectionChanged.connect(lambda: self.selection_changed.emit(self.selected_name()))

    def show_collections(self, collections: list[Collection]) -> None:
        """List ``collections``, keeping the selected one selected."""
        keep = self.selected_name()
        self._collections = list(collections)
        self.blockSignals(True)
        self.setRowCount(len(collections))
        for row, c in enumerate(collections):
            folders = "(your generation history)" if c.is_history else "\n".join(c.folders)
            files = "" if c.is_history else f"{c.state.files:,}"
            chunks = "" if c.is_history else f"{c.state.chunks:,}"
            state = INDEXING if c.name == self._indexing else state_text(c)
            when = "" if c.is_history else when_text(c.state.indexed_at)
            for col, text in enumerate((c.name, folders, files, chunks, state, when)):
                item = QTableWidgetItem(text)
                if col in (2, 3):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if col == 4 and c.state.missing_folders:
                    item.setToolTip("Not found:\n" + "\n".join(c.state.missing_folders)
                                    + "\nIts chunks are kept; reconnect the drive or delete the collection.")
                self.setItem(row, col, item)
        self.resizeRowsToContents()
        self.blockSignals(False)
        names = [c.name for c in collections]
        self.select_name(keep if keep in names else (names[1] if len(names) > 1 else (names[0] if names else "")))

    def set_indexing(self, name: str) -> None:
        """Mark ``name`` as being indexed ("" when nothing is)."""
        self._indexing = name
        for row, c in enumerate(self._collections):
            item = self.item(row, 4)
            if item is not None:
                item.setText(INDEXING if c.name == name else state_text(c))

    def select_name(self, name: str) -> None:
        for row, c in enumerate(self._collections):
            if c.name == name:
                self.selectRow(row)
                return
        self.clearSelection()
        self.selection_changed.emit("")

    def selected_name(self) -> str:
        rows = self.selectionModel().selectedRows() if self.selectionModel() else []
        if not rows or rows[0].row() >= len(self._collections):
            return ""
        return self._collections[rows[0].row()].name

    def collection(self, name: str) -> Collection | None:
        return next((c for c in self._collections if c.name == name), None)

    def names(self) -> list[str]:
        return [c.name for c in self._collections]

    def row_texts(self, name: str) -> list[str]:
        """The cells of ``name``'s row as shown (tests, screen readers)."""
        for row, c in enumerate(self._collections):
            if c.name == name:
                return [self.item(row, col).text() for col in range(self.columnCount())]
        return []
