"""A table of an experiment's cells: text replies or image thumbnails, placed by a GridLayout.

The columns and rows are the layout's labels (one column per value of the
chosen axis), so the headers are the axis labels.  A cell waits as "…"
until its record is placed with :meth:`CellTable.place`, shows the error of
a failed cell, and otherwise the reply elided (the whole reply is its
tooltip) with its tokens/s and time to first token, or the image's
thumbnail (decoded off the GUI thread by a
:class:`~desktop.ui.thumbnails.ThumbnailLoader`), and its stars.

Keyboard: the arrows move between cells, 1–5 rate the current cell, 0
clears its rating.

Signals:
    record_activated(object): the GenerationRecord of the cell clicked or moved to.
    rate_requested(str, int): rate the record with this id 0–5.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from desktop.core.records import GenerationRecord
from desktop.ui.experiments.diff import DIFF_ROLE, DiffDelegate, word_diff_html
from desktop.ui.experiments.layout import GridLayout
from desktop.ui.thumbnails import ThumbnailLoader

INDEX_ROLE = Qt.ItemDataRole.UserRole
REPLY_CHARS = 140
TEXT_ROW_HEIGHT = 96
TEXT_COLUMN_WIDTH = 260
THUMB_SIDE = 160


def stars(rating: int) -> str:
    return "★" * rating + "☆" * (5 - rating)


def speed_line(record: GenerationRecord) -> str:
    t = record.timings
    parts = []
    if isinstance(t.get("tokens_per_s"), (int, float)):
        parts.append(f"{t['tokens_per_s']:.1f} tok/s")
    if isinstance(t.get("ttft_s"), (int, float)):
        parts.append(f"TTFT {t['ttft_s'] * 1000:.0f} ms")
    if isinstance(t.get("total_s"), (int, float)) and record.kind == "image":
        parts.append(f"{t['total_s']:.1f} s")
    return " · ".join(parts)


def elided(text: str, limit: int = REPLY_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


class CellTable(QTableWidget):
    record_activated = Signal(object)
    rate_requested = Signal(str, int)

    def __init__(self, layout: GridLayout, tab: int, kind: str, parent=None) -> None:
        super().__init__(len(layout.rows), len(layout.columns), parent)
        self.layout_ = layout
        self.tab = tab
        self.kind = kind
        self.records: dict[int, GenerationRecord] = {}
        self.diff = False
        self.setObjectName("experimentCells")
        self.setHorizontalHeaderLabels(layout.columns)
        self.setVerticalHeaderLabels(layout.rows or [""])
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setWordWrap(True)
        self.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.setToolTip("")
        header = self.horizontalHeader()
        header.setToolTip(f"Columns: {layout.column_axis}")
        self.verticalHeader().setToolTip("Rows: " + ", ".join(layout.row_axes))
        if kind == "image":
            self.setIconSize(QSize(THUMB_SIDE, THUMB_SIDE))
            header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
            header.setDefaultSectionSize(THUMB_SIDE + 16)
            self.verticalHeader().setDefaultSectionSize(THUMB_SIDE + 34)
        else:
            header.setDefaultSectionSize(TEXT_COLUMN_WIDTH)
            header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
            self.verticalHeader().setDefaultSectionSize(TEXT_ROW_HEIGHT)
            self.setItemDelegate(DiffDelegate(self))
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.thumbnails = ThumbnailLoader(self)
        self.thumbnails.ready.connect(self._thumbnail_ready)
        for index, slot in layout.slots.items():
            if slot.tab == tab:
                item = QTableWidgetItem("…")
                item.setData(INDEX_ROLE, index)
                item.setTextAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft
                                      if kind == "text" else Qt.AlignmentFlag.AlignCenter)
                self.setItem(slot.row, slot.column, item)
        self.currentCellChanged.connect(self._current_changed)
        self.cellClicked.connect(lambda row, column: self._activate(row, column))

    def indexes(self) -> list[int]:
        return [i for i, s in self.layout_.slots.items() if s.tab == self.tab]

    def item_of(self, index: int) -> QTableWidgetItem | None:
        slot = self.layout_.slots.get(index)
        return None if slot is None or slot.tab != self.tab else self.item(slot.row, slot.column)

    def place(self, index: int, record: GenerationRecord) -> None:
        item = self.item_of(index)
        if item is None:
            return
        self.records[index] = record
        if self.kind == "image":
            item.setText(stars(record.rating))
            item.setToolTip(html.escape(f"{record.prompt}\n{speed_line(record)}"))
            pixmap = self.thumbnails.request(str(index), [record.thumbnail_path, record.image_path],
                                             QSize(THUMB_SIDE, THUMB_SIDE))
            if pixmap is not None:
                item.setData(Qt.ItemDataRole.DecorationRole, QPixmap.fromImage(pixmap))
        else:
            item.setText(f"{elided(record.output_text)}\n{speed_line(record)}  {stars(record.rating)}")
            item.setToolTip(f"<p style='white-space:pre-wrap'>{html.escape(record.output_text)}</p>")
            if self.diff:
                self._mark_row(self.layout_.slots[index].row)

    def set_diff(self, on: bool) -> None:
        """Mark, in every row, the words of each reply that differ from the row's first reply."""
        self.diff = on
        for row in range(self.rowCount()):
            self._mark_row(row)

    def _mark_row(self, row: int) -> None:
        items = [self.item(row, c) for c in range(self.columnCount())]
        placed = [(i, self.records.get(i.data(INDEX_ROLE))) for i in items if i is not None]
        reference = next((r.output_text for _, r in placed if r is not None), None)
        for item, record in placed:
            if record is None or reference is None or not self.diff:
                item.setData(DIFF_ROLE, None)
                continue
            marked = word_diff_html(reference, elided(record.output_text))
            item.setData(DIFF_ROLE, f"{marked}<br>{html.escape(speed_line(record))}  {stars(record.rating)}")

    def fail(self, index: int, error: str) -> None:
        item = self.item_of(index)
        if item is not None and index not in self.records:
            item.setText(f"failed: {elided(error, 80)}")
            item.setToolTip(html.escape(error))

    def current_record(self) -> GenerationRecord | None:
        item = self.currentItem()
        if item is None:
            return None
        return self.records.get(item.data(INDEX_ROLE))

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt's name
        key = event.key()
        if Qt.Key.Key_0 <= key <= Qt.Key.Key_5 and not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            record = self.current_record()
            if record is not None:
                self.rate_requested.emit(record.id, key - Qt.Key.Key_0)
            return
        super().keyPressEvent(event)

    def _current_changed(self, row: int, column: int, _old_row: int, _old_column: int) -> None:
        self._activate(row, column)

    def _activate(self, row: int, column: int) -> None:
        item = self.item(row, column)
        record = self.records.get(item.data(INDEX_ROLE)) if item is not None else None
        if record is not None:
            self.record_activated.emit(record)

    def _thumbnail_ready(self, key: str, image) -> None:
        item = self.item_of(int(key))
        if item is not None and not image.isNull():
            item.setData(Qt.ItemDataRole.DecorationRole, QPixmap.fromImage(image))
