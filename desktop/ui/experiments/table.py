"""A table of an experiment's cells: text replies or image thumbnails, placed by a GridLayout.

The columns and rows are the layout's labels (one column per value of the
chosen axis), so the headers are the axis labels.  A cell waits as "…"
until its record is placed with :meth:`CellTable.place`, shows the error of
a failed cell, and otherwise the reply elided (the whole reply is its
tooltip) with its tokens/s and time to first token, or the image's
thumbnail (decoded off the GUI thread by a
:class:`~desktop.ui.thumbnails.ThumbnailLoader`), and its stars.

A cell's tags follow its stars, and its note is in its tooltip.  The image
grid zooms (:meth:`CellTable.set_thumb_side`, Ctrl+wheel): the cells resize
at once and every thumbnail is decoded again at the new size off the GUI
thread; the current cell stays.

Keyboard: the arrows move between cells, 1–5 rate the current cell, 0
clears its rating, T and N edit its tags and note.

Signals:
    record_activated(object): the GenerationRecord of the cell clicked or moved to.
    rate_requested(str, int): rate the record with this id 0–5.
    edit_tags_requested(): T on a cell with a record.
    edit_note_requested(): N on a cell with a record.
    zoom_requested(int): Ctrl+wheel on the image grid: +1 (in) or -1 (out) steps.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from desktop.core.image.output import THUMB_SIDE as THUMB_FILE_SIDE
from desktop.core.records import GenerationRecord
from desktop.ui.experiments.diff import DIFF_ROLE, DiffDelegate, word_diff_html
from desktop.ui.experiments.layout import GridLayout
from desktop.ui.thumbnails import ThumbnailLoader

INDEX_ROLE = Qt.ItemDataRole.UserRole
REPLY_CHARS = 140
TEXT_ROW_HEIGHT = 96
TEXT_COLUMN_WIDTH = 260
THUMB_SIDE = 160  # the image grid's default zoom
THUMB_SIDES = (64, 512)  # the zoom's range


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


def tags_line(record: GenerationRecord) -> str:
    return f"  [{', '.join(record.tags)}]" if record.tags else ""


def note_html(record: GenerationRecord) -> str:
    return f"<p><i>{html.escape(record.note)}</i></p>" if record.note else ""


def elided(text: str, limit: int = REPLY_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


class CellTable(QTableWidget):
    record_activated = Signal(object)
    rate_requested = Signal(str, int)
    edit_tags_requested = Signal()
    edit_note_requested = Signal()
    zoom_requested = Signal(int)

    def __init__(self, layout: GridLayout, tab: int, kind: str, parent=None) -> None:
        super().__init__(len(layout.rows), len(layout.columns), parent)
        self.layout_ = layout
        self.tab = tab
        self.kind = kind
        self.records: dict[int, GenerationRecord] = {}
        self.diff = False
        self.thumb_side = THUMB_SIDE
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
            header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
            self._size_cells()
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
            item.setText(stars(record.rating) + tags_line(record))
            item.setToolTip(f"<p>{html.escape(record.prompt)}<br>{html.escape(speed_line(record))}"
                            f"{html.escape(tags_line(record))}</p>{note_html(record)}")
            self._request_thumbnail(index, record)
        else:
            item.setText(f"{elided(record.output_text)}\n{speed_line(record)}  {stars(record.rating)}{tags_line(record)}")
            item.setToolTip(f"<p style='white-space:pre-wrap'>{html.escape(record.output_text)}</p>"
                            f"{note_html(record)}")
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
            item.setData(DIFF_ROLE, f"{marked}<br>{html.escape(speed_line(record))}  {stars(record.rating)}"
                                    f"{html.escape(tags_line(record))}")

    def set_thumb_side(self, side: int) -> None:
        """Zoom the image grid: cells of ``side`` px, every thumbnail decoded again at that size."""
        side = max(THUMB_SIDES[0], min(THUMB_SIDES[1], side))
        if self.kind != "image" or side == self.thumb_side:
            return
        self.thumb_side = side
        self._size_cells()
        self.thumbnails.cancel_pending()  # the old size's decodes still queued are not needed
        for index, record in self.records.items():
            self._request_thumbnail(index, record)

    def _size_cells(self) -> None:
        side = self.thumb_side
        self.setIconSize(QSize(side, side))
        self.horizontalHeader().setDefaultSectionSize(side + 16)
        self.verticalHeader().setDefaultSectionSize(side + 34)

    def _request_thumbnail(self, index: int, record: GenerationRecord) -> None:
        side = self.thumb_side
        # the thumbnail file while it is big enough (quicker to decode), past it the full image
        files = [record.thumbnail_path, record.image_path]
        candidates = files if side <= THUMB_FILE_SIDE else files[::-1]
        image = self.thumbnails.request(f"{index}:{side}", candidates, QSize(side, side))
        item = self.item_of(index)
        if image is not None and item is not None:
            item.setData(Qt.ItemDataRole.DecorationRole, QPixmap.fromImage(image))

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
        if key in (Qt.Key.Key_T, Qt.Key.Key_N) and not event.modifiers():
            if self.current_record() is not None:
                (self.edit_tags_requested if key == Qt.Key.Key_T else self.edit_note_requested).emit()
            return
        super().keyPressEvent(event)

    def wheelEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if self.kind == "image" and event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            steps = event.angleDelta().y() // 120 or (1 if event.angleDelta().y() > 0 else -1)
            if event.angleDelta().y():
                self.zoom_requested.emit(steps)
            event.accept()
            return
        super().wheelEvent(event)

    def _current_changed(self, row: int, column: int, _old_row: int, _old_column: int) -> None:
        self._activate(row, column)

    def _activate(self, row: int, column: int) -> None:
        item = self.item(row, column)
        record = self.records.get(item.data(INDEX_ROLE)) if item is not None else None
        if record is not None:
            self.record_activated.emit(record)

    def _thumbnail_ready(self, key: str, image) -> None:
        index, side = (int(part) for part in key.split(":"))
        item = self.item_of(index)
        if item is not None and not image.isNull() and side == self.thumb_side:  # not one decoded before a zoom
            item.setData(Qt.ItemDataRole.DecorationRole, QPixmap.fromImage(image))
