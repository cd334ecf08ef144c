"""The result views of the History workspace: a list for text, a grid for images.

``ResultsView`` shows :class:`~desktop.core.history.search.Hit` objects.  In
list mode each row is a rich-text label with the matched words in bold; when
the query is empty rows are grouped under a header per day (the history's
sessions by day); image rows start with a small thumbnail.  Grid mode shows
image thumbnails.  Thumbnails are decoded and scaled off the GUI thread
(:mod:`desktop.ui.thumbnails`): rows show a grey placeholder until theirs
arrives, and a dark red one with "missing" when the file is gone.

Both views allow extended selection (Ctrl/Shift-click, Ctrl+A) of several
results, e.g. to export them; day headers cannot be selected.

Signals:
    selected(object): the Hit of the row the user selected, or None.
    selection_changed(int): how many results are selected now (0 after new hits are shown).
"""

from __future__ import annotations

import html

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListView, QListWidget, QListWidgetItem, QStackedWidget, QWidget

from desktop.ui.thumbnails import ThumbnailLoader

HIT_ROLE = Qt.ItemDataRole.UserRole + 1
THUMB = 128
LIST_THUMB = 48
PLACEHOLDER_COLOR = "#777777"
MISSING_COLOR = "#6b2a2a"


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


_placeholders: dict[tuple[int, bool], QPixmap] = {}


def placeholder_pixmap(side: int, missing: bool = False) -> QPixmap:
    """A plain square shown while a thumbnail loads (grey) or when its file is gone (dark red)."""
    key = (side, missing)
    if key not in _placeholders:
        pixmap = QPixmap(side, side)
        pixmap.fill(QColor(MISSING_COLOR if missing else PLACEHOLDER_COLOR))
        _placeholders[key] = pixmap
    return _placeholders[key]


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
        self.thumbnails = ThumbnailLoader(self)
        self.thumbnails.ready.connect(self._thumbnail_ready)
        self._thumb_targets: dict[str, tuple] = {}  # request key -> (show(pixmap), side, grid item or None)
        self._thumb_seq = 0

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
        self.thumbnails.cancel_pending()  # the rows they were for are gone
        self._thumb_targets.clear()
        if view is self.grid:
            for hit in self.hits:
                label = "missing" if hit.image_missing else hit.record.prompt[:40]
                item = QListWidgetItem(label)
                item.setData(HIT_ROLE, hit)
                item.setToolTip(hit.record.prompt[:300])
                self.grid.addItem(item)
                self._load_thumbnail(hit, THUMB, lambda pixmap, item=item: item.setIcon(QIcon(pixmap)), item)
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
            widget, height = label, label.sizeHint().height()
            if hit.record.kind == "image":
                widget, height = self._image_row(hit, label), max(height, LIST_THUMB + 6)
            item.setSizeHint(QSize(200, height + 8))
            self.list.addItem(item)
            self.list.setItemWidget(item, widget)

    def _image_row(self, hit, label: QLabel) -> QWidget:
        """A list row for an image hit: a small thumbnail, then the text."""
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(6, 0, 0, 0)
        thumb = QLabel()
        thumb.setObjectName("listThumbnail")
        thumb.setFixedSize(LIST_THUMB, LIST_THUMB)
        thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(thumb)
        layout.addWidget(label, 1)
        self._load_thumbnail(hit, LIST_THUMB, thumb.setPixmap)
        return row

    def _load_thumbnail(self, hit, side: int, show, grid_item=None) -> None:
        """Show a placeholder through ``show(pixmap)`` now, the decoded thumbnail when it arrives."""
        record = hit.record
        if hit.image_missing:
            show(placeholder_pixmap(side, missing=True))
            return
        self._thumb_seq += 1
        key = str(self._thumb_seq)
        self._thumb_targets[key] = (show, side, grid_item)
        previous = self.thumbnails.request(key, (record.thumbnail_path, record.image_path), QSize(side, side))
        show(QPixmap.fromImage(previous) if previous is not None else placeholder_pixmap(side))

    def _thumbnail_ready(self, key: str, image) -> None:
        target = self._thumb_targets.pop(key, None)
        if target is None:
            return  # for rows that a newer result replaced
        show, side, grid_item = target
        try:
            if image.isNull():
                show(placeholder_pixmap(side, missing=True))
                if grid_item is not None:
                    grid_item.setText("missing")
            else:
                show(QPixmap.fromImage(image))
        except RuntimeError:
            pass  # the row's widget was deleted

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
