"""The result views of the History workspace: a list for text, a grid for images.

``ResultsView`` shows :class:`~desktop.core.history.search.Hit` objects.  In
list mode each row is a rich-text label with the matched words in bold; when
the query is empty rows are grouped under a header per day (the history's
sessions by day).  Grid mode shows image thumbnails (a placeholder when the
file is gone).

Both views allow extended selection (Ctrl/Shift-click, Ctrl+A) of several
results, e.g. to export them; day headers cannot be selected.

Signals:
    selected(object): the Hit of the row the user selected, or None.
    selection_changed(int): how many results are selected now (0 after new hits are shown).
"""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QLabel, QListView, QListWidget, QListWidgetItem, QStackedWidget

HIT_ROLE = Qt.ItemDataRole.UserRole + 1
THUMB = 128


def highlighted_html(snippet: str, spans: list[tuple[int, int]]) -> str:
    """The snippet as HTML with every span in bold."""
    out, last = [], 0
    for start, end in sorted(spans):
        if start < last:
            continue
        out.append(html.escape(snippet[last:start]))
        out.append(f"<b>{html.escape(snippet[start:end])}</b>")
        last = end
    out.append(html.escape(snippet[last:]))
    return "".join(out)


def thumbnail_icon(hit) -> QIcon:
    record = hit.record
    for candidate in (record.thumbnail_path, record.image_path):
        if candidate and Path(candidate).is_file():
            pixmap = QPixmap(candidate)
            if not pixmap.isNull():
                return QIcon(pixmap.scaled(THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio,
                                           Qt.TransformationMode.SmoothTransformation))
    pixmap = QPixmap(THUMB, THUMB)
    pixmap.fill(QColor("#777777"))
    return QIcon(pixmap)


class ResultsView(QStackedWidget):
    selected = Signal(object)
    selection_changed = Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.list = QListWidget()
        self.list.setObjectName("historyList")
        self.grid = QListWidget()
        self.grid.setObjectName("historyGrid")
        self.grid.setViewMode(QListView.ViewMode.IconMode)
        self.grid.setIconSize(QSize(THUMB, THUMB))
        self.grid.setResizeMode(QListView.ResizeMode.Adjust)
        self.grid.setGridSize(QSize(THUMB + 24, THUMB + 40))
        self.addWidget(self.list)
        self.addWidget(self.grid)
        self.hits: list = []
        for view in (self.list, self.grid):
            view.currentItemChanged.connect(self._current_changed)
            view.setSelectionMode(QListView.SelectionMode.ExtendedSelection)
            view.itemSelectionChanged.connect(self._selection_changed)
            view.model().modelReset.connect(self._selection_changed)  # clear() runs with the view's signals blocked

    @property
    def grid_mode(self) -> bool:
        return self.currentWidget() is self.grid

    def set_grid_mode(self, grid: bool) -> None:
        self.setCurrentWidget(self.grid if grid else self.list)
        self.show_hits(self.hits, self._grouped)

    _grouped = False

    def show_hits(self, hits: list, grouped_by_day: bool = False) -> None:
        self.hits = list(hits)
        self._grouped = grouped_by_day
        view = self.currentWidget()
        for v in (self.list, self.grid):
            v.blockSignals(True)
            v.clear()
            v.blockSignals(False)
        if view is self.grid:
            for hit in self.hits:
                label = "missing" if hit.image_missing else hit.record.prompt[:40]
                item = QListWidgetItem(thumbnail_icon(hit), label)
                item.setData(HIT_ROLE, hit)
                item.setToolTip(hit.record.prompt[:300])
                self.grid.addItem(item)
            return
        day = None
        for hit in self.hits:
            if grouped_by_day:
                this_day = hit.record.created_at.astimezone().strftime("%A %d %B %Y")
                if this_day != day:
                    day = this_day
                    header = QListWidgetItem(day)
                    header.setFlags(Qt.ItemFlag.NoItemFlags)
                    font = header.font()
                    font.setBold(True)
                    header.setFont(font)
                    self.list.addItem(header)
            item = QListWidgetItem()
            item.setData(HIT_ROLE, hit)
            label = QLabel(self._row_html(hit))
            label.setTextFormat(Qt.TextFormat.RichText)
            label.setWordWrap(True)
            label.setContentsMargins(6, 3, 6, 3)
            item.setSizeHint(QSize(200, label.sizeHint().height() + 8))
            self.list.addItem(item)
            self.list.setItemWidget(item, label)

    @staticmethod
    def _row_html(hit) -> str:
        r = hit.record
        meta = f"{r.created_at.astimezone():%Y-%m-%d %H:%M} · {r.kind} · {html.escape(r.model.name or r.model.file)}"
        if r.rating:
            meta += " · " + "★" * r.rating
        if hit.image_missing:
            meta += " · <i>image missing</i>"
        return f"<small>{meta}</small><br>{highlighted_html(hit.snippet, hit.highlights)}"

    def row_count(self) -> int:
        view = self.currentWidget()
        return sum(1 for i in range(view.count()) if view.item(i).data(HIT_ROLE) is not None)

    def select_row(self, index: int) -> None:
        """Select the index-th result (headers skipped)."""
        view = self.currentWidget()
        rows = [i for i in range(view.count()) if view.item(i).data(HIT_ROLE) is not None]
        view.setCurrentRow(rows[index])

    def _current_changed(self, current, _previous) -> None:
        self.selected.emit(current.data(HIT_ROLE) if current is not None else None)

    def selected_hits(self) -> list:
        """The Hits of the selected results of the view shown, in display order."""
        view = self.currentWidget()
        items = sorted(view.selectedItems(), key=view.row)
        return [hit for hit in (item.data(HIT_ROLE) for item in items) if hit is not None]

    def _selection_changed(self) -> None:
        self.selection_changed.emit(len(self.selected_hits()))
