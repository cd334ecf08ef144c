"""The list of experiments: name, kind, status, cells done of total, failed cells.

Signals:
    selected(str): the person picked the experiment with this id.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QTreeWidget, QTreeWidgetItem

from desktop.ui.widgets import size_columns

COLUMNS = ("Experiment", "Kind", "Status", "Done", "Failed")
ID_ROLE = Qt.ItemDataRole.UserRole


def status_text(status: str, paused: bool = False) -> str:
    return "paused" if paused else status


class ExperimentList(QTreeWidget):
    selected = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("experimentList")
        self.setHeaderLabels(list(COLUMNS))
        self.setRootIsDecorated(False)
        self.setUniformRowHeights(True)
        size_columns(self, 0)
        self.itemSelectionChanged.connect(self._selection_changed)

    def show_rows(self, rows, keep: str | None = None) -> None:
        """Replace the rows with ``rows`` (ExperimentRow), keeping ``keep`` (an id) selected."""
        self.blockSignals(True)
        self.clear()
        for row in rows:
            e = row.experiment
            item = QTreeWidgetItem([e.name, e.kind, e.status, f"{row.done}/{e.cell_count}", str(row.failed)])
            item.setData(0, ID_ROLE, e.id)
            item.setToolTip(0, f"{e.name}\n{e.id}\ncreated {e.created_at.astimezone():%Y-%m-%d %H:%M}")
            for column in (3, 4):
                item.setTextAlignment(column, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.addTopLevelItem(item)
            if e.id == keep:
                item.setSelected(True)
                self.setCurrentItem(item)
        self.blockSignals(False)

    def update_row(self, experiment_id: str, *, status: str | None = None, done: int | None = None,
                   total: int | None = None, failed: int | None = None) -> None:
        item = self.item_for(experiment_id)
        if item is None:
            return
        if status is not None:
            item.setText(2, status)
        if done is not None and total is not None:
            item.setText(3, f"{done}/{total}")
        if failed is not None:
            item.setText(4, str(failed))

    def item_for(self, experiment_id: str) -> QTreeWidgetItem | None:
        for i in range(self.topLevelItemCount()):
            item = self.topLevelItem(i)
            if item.data(0, ID_ROLE) == experiment_id:
                return item
        return None

    def ids(self) -> list[str]:
        return [self.topLevelItem(i).data(0, ID_ROLE) for i in range(self.topLevelItemCount())]

    def select(self, experiment_id: str) -> None:
        item = self.item_for(experiment_id)
        if item is not None:
            self.setCurrentItem(item)

    def _selection_changed(self) -> None:
        items = self.selectedItems()
        if items:
            self.selected.emit(items[0].data(0, ID_ROLE))
