"""The result views of the History workspace: a list for text, a grid for images.

``ResultsView`` shows :class:`~desktop.core.history.search.Hit` objects.  In
list mode each row is a rich-text label with the matched words in bold (whole
words only: "art" is not marked inside "start"); when
the query is empty rows are grouped under a header per day, and within a day
the records of one session (two or more of them that day) follow a session
row naming it: time span, kind, model, first prompt, number of records
(:mod:`desktop.core.history.sessions`).  Every result names its session in its
meta line (when not under a session row) and in its tooltip.  Image rows start
with a small thumbnail.  Grid mode shows image thumbnails.  Thumbnails are decoded and scaled off the GUI thread
(:mod:`desktop.ui.thumbnails`): rows show a grey placeholder until theirs
arrives, and a dark red one with "missing" when the file is gone.

Both views allow extended selection (Ctrl/Shift-click, Ctrl+A) of several
results, e.g. to export them; day headers (bold, in the normal text colour) and
session rows cannot be selected.  Secondary text (reply previews, session names)
is a palette-derived grey readable in light and dark themes.  With no hits the
view shows its :class:`~desktop.ui.history.empty.HistoryEmptyState` (``empty``), worded
by the workspace through :meth:`ResultsView.set_empty_state`.
Clicking a session row asks to show that session; the context menu of a
session row or a result offers "Show this session" and "Delete this session…".

Signals:
    selected(object): the Hit of the row the user selected, or None.
    selection_changed(int): how many results are selected now (0 after new hits are shown).
    session_requested(str): show only this session (a session row was clicked, or the menu asked).
    session_delete_requested(str): delete this session (the workspace asks first).
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics, QIcon, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QStackedWidget,
    QWidget,
)

from desktop.core.history.record_text import whole_word_spans
from desktop.core.history.sessions import SessionGroup, group_by_day, summaries_from_records
from desktop.ui.history.empty import HistoryEmptyState
from desktop.ui.history.style import secondary_text_color
from desktop.ui.thumbnails import ThumbnailLoader

HIT_ROLE = Qt.ItemDataRole.UserRole + 1
SESSION_ROLE = Qt.ItemDataRole.UserRole + 2  # the session id of a session row
GROUP_INDENT = 24
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


def secondary(text_html: str, color: str) -> str:
    """``text_html`` in the secondary colour; in the row's own colour when ``color`` is '' (a selected row)."""
    return f"<span style='color:{color}'>{text_html}</span>" if color else text_html


def _reply_preview(hit, color: str, limit: int = 140) -> str:
    """A grey line with the start of a text record's reply, unless the snippet already comes from it."""
    reply = " ".join((hit.record.output_text or "").split())
    shown = hit.snippet.strip("…")[:40]
    if hit.record.kind != "text" or not reply or (shown and shown in reply):
        return ""
    more = "…" if len(reply) > limit else ""
    return "<br>" + secondary(f"→ {html.escape(reply[:limit])}{more}", color)


def shorten_tip(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


@dataclass
class _HitRow:
    """A result row of the list: its item, its text, and how the text is drawn."""

    item: QListWidgetItem
    label: QLabel
    image: bool  # starts with a thumbnail
    with_session: bool  # names its session (not under a session row)
    selected: bool = False  # drawn as selected: no grey on the highlight


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
    session_requested = Signal(str)
    session_delete_requested = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.list = QListWidget()
        self.list.setObjectName("historyList")
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # long rows are elided
        self._rows: list[_HitRow] = []
        self.list.viewport().installEventFilter(self)
        self.grid = QListWidget()
        self.grid.setObjectName("historyGrid")
        self.grid.setViewMode(QListView.ViewMode.IconMode)
        self.grid.setIconSize(QSize(THUMB, THUMB))
        self.grid.setResizeMode(QListView.ResizeMode.Adjust)
        self.grid.setGridSize(QSize(THUMB + 24, THUMB + 40))
        self.empty = HistoryEmptyState()
        self.addWidget(self.list)
        self.addWidget(self.grid)
        self.addWidget(self.empty)
        self._grid = False
        self.hits: list = []
        self.sessions: dict = {}  # session id -> SessionSummary
        self.list.itemClicked.connect(self._item_clicked)
        self.list.itemActivated.connect(self._item_clicked)
        for view in (self.list, self.grid):
            view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
            view.customContextMenuRequested.connect(lambda pos, view=view: self._context_menu(view, pos))
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
        return self._grid

    def _view(self) -> QListWidget:
        """The list or the grid, whichever the mode shows (even while the empty state covers it)."""
        return self.grid if self._grid else self.list

    def set_grid_mode(self, grid: bool) -> None:
        self._grid = grid
        self.show_hits(self.hits, self._grouped, self.sessions)

    def set_empty_state(self, title: str, detail: str, can_clear: bool = False) -> None:
        """What to say when there are no hits (see :func:`~desktop.ui.history.empty.empty_state_text`)."""
        self.empty.show_state(title, detail, can_clear)

    _grouped = False

    def show_hits(self, hits: list, grouped_by_day: bool = False, sessions: dict | None = None) -> None:
        """Show ``hits``; ``sessions`` (id -> SessionSummary) names their sessions, else the hits do."""
        self.hits = list(hits)
        self._grouped = grouped_by_day
        self.sessions = {**summaries_from_records(h.record for h in self.hits), **(sessions or {})}
        view = self._view()
        self.setCurrentWidget(view if self.hits else self.empty)
        self._secondary = secondary_text_color(self.list.palette())
        self._rows.clear()  # before clear(): its modelReset reaches _selection_changed
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
                item.setToolTip(self._tooltip(hit))
                self.grid.addItem(item)
                self._load_thumbnail(hit, THUMB, lambda pixmap, item=item: item.setIcon(QIcon(pixmap)), item)
            return
        if not grouped_by_day:
            for hit in self.hits:
                self._add_hit_row(hit)
            return
        for day, entries in group_by_day(self.hits):
            header = QListWidgetItem(day)
            header.setFlags(Qt.ItemFlag.ItemIsEnabled)  # not selectable, but drawn in the normal text colour
            font = header.font()
            font.setBold(True)
            header.setFont(font)
            self.list.addItem(header)
            for entry in entries:
                if isinstance(entry, SessionGroup):
                    self._add_session_row(entry)
                    for hit in entry.hits:
                        self._add_hit_row(hit, in_session_row=True)
                else:
                    self._add_hit_row(entry)

    def _add_session_row(self, group: SessionGroup) -> None:
        """A clickable, unselectable row heading the records of one session of a day."""
        summary = self.sessions.get(group.session_id)
        shown = len(group.hits)
        total = shown if summary is None else summary.count
        records = f"{shown} records" if total == shown else f"{shown} of {total} records"
        parts = [group.span()]  # the title first: the row is often cut on the right
        if summary is not None:
            parts = [summary.label, *parts, *(x for x in (summary.kind_text, summary.model_text) if x)]
        parts.append(records)
        item = QListWidgetItem("▾ Session " + " · ".join(parts))
        item.setData(SESSION_ROLE, group.session_id)
        item.setFlags(Qt.ItemFlag.ItemIsEnabled)
        item.setToolTip((summary.describe() if summary else group.session_id) + "\nClick to show only this session.")
        font = item.font()
        font.setItalic(True)
        item.setFont(font)
        item.setSizeHint(QSize(200, QFontMetrics(font).height() + 8))  # as wide as the list, elided
        self.list.addItem(item)

    def _add_hit_row(self, hit, in_session_row: bool = False) -> None:
        item = QListWidgetItem()
        item.setData(HIT_ROLE, hit)
        label = QLabel(self._row_html(hit, with_session=not in_session_row))
        label.setTextFormat(Qt.TextFormat.RichText)
        label.setWordWrap(True)
        indent = GROUP_INDENT if in_session_row else 6
        image = hit.record.kind == "image"
        label.setContentsMargins(6 if image else indent, 3, 6, 3)  # an image row indents its thumbnail
        widget = self._image_row(hit, label, indent) if image else label
        widget.setToolTip(self._tooltip(hit))
        self._rows.append(_HitRow(item, label, image, with_session=not in_session_row))
        self._fit_row(item, label, image)
        self.list.addItem(item)
        self.list.setItemWidget(item, widget)

    def _fit_row(self, item: QListWidgetItem, label: QLabel, image: bool) -> None:
        """Size a row to its text wrapped at the list's current width."""
        width = max(200, self.list.viewport().width() - (LIST_THUMB + 12 if image else 0))
        height = label.heightForWidth(width)
        if image:
            height = max(height, LIST_THUMB + 6)
        item.setSizeHint(QSize(200, height + 8))

    def eventFilter(self, watched, event) -> bool:
        if watched is self.list.viewport() and event.type() == QEvent.Type.Resize:
            if event.size().width() != event.oldSize().width():
                for row in self._rows:  # the text wraps anew: rows change height
                    self._fit_row(row.item, row.label, row.image)
        return super().eventFilter(watched, event)

    def _image_row(self, hit, label: QLabel, indent: int = 6) -> QWidget:
        """A list row for an image hit: a small thumbnail, then the text."""
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(indent, 0, 0, 0)
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

    def _row_html(self, hit, with_session: bool = True, selected: bool = False) -> str:
        """The row's rich text; a selected row has no grey (it would be unreadable on the highlight)."""
        grey = "" if selected else self._secondary
        r = hit.record
        meta = f"{r.created_at.astimezone():%Y-%m-%d %H:%M} · {r.kind} · {html.escape(r.model.name or r.model.file)}"
        if r.rating:
            meta += " · " + "★" * r.rating
        if hit.image_missing:
            meta += " · <i>image missing</i>"
        summary = self.sessions.get(r.session_id) if with_session else None
        if summary is not None:
            meta += " · " + secondary(f"session {html.escape(summary.label)}", grey)
        text = highlighted_html(hit.snippet, whole_word_spans(hit.snippet, hit.highlights))
        return f"<small>{meta}</small><br>{text}{_reply_preview(hit, grey)}"

    def _tooltip(self, hit) -> str:
        r = hit.record
        summary = self.sessions.get(r.session_id)
        session = summary.describe() if summary is not None else "No session"
        return f"{shorten_tip(r.prompt)}\n\n{session}"

    def session_of(self, item) -> str:
        """The session id of a session row or a result row ('' for none)."""
        if item is None:
            return ""
        hit = item.data(HIT_ROLE)
        return hit.record.session_id if hit is not None else item.data(SESSION_ROLE) or ""

    def menu_for(self, item) -> QMenu | None:
        """The context menu of a row: show or delete its session (disabled without one)."""
        if item is None or (item.data(HIT_ROLE) is None and item.data(SESSION_ROLE) is None):
            return None
        session = self.session_of(item)
        menu = QMenu(self)
        show = menu.addAction("Show this session", lambda: self.session_requested.emit(session))
        delete = menu.addAction("Delete this session…", lambda: self.session_delete_requested.emit(session))
        for action in (show, delete):
            action.setEnabled(bool(session))
        return menu

    def _context_menu(self, view, pos) -> None:
        menu = self.menu_for(view.itemAt(pos))
        if menu is not None:
            menu.exec(view.viewport().mapToGlobal(pos))
            menu.deleteLater()

    def _item_clicked(self, item) -> None:
        session = item.data(SESSION_ROLE) if item is not None else None
        if session:
            self.session_requested.emit(session)

    def row_count(self) -> int:
        view = self._view()
        return sum(1 for i in range(view.count()) if view.item(i).data(HIT_ROLE) is not None)

    def select_row(self, index: int) -> None:
        """Select the index-th result (headers skipped)."""
        view = self._view()
        rows = [i for i in range(view.count()) if view.item(i).data(HIT_ROLE) is not None]
        view.setCurrentRow(rows[index])

    def scroll_position(self) -> int:
        return self._view().verticalScrollBar().value()

    def select_record(self, record_id: str, scroll: int | None = None) -> bool:
        """Select the result of this record if shown (False if not), scrolled into view.

        ``scroll``: a :meth:`scroll_position` to go back to first, so a refreshed list keeps its place."""
        view = self._view()
        for i in range(view.count()):
            hit = view.item(i).data(HIT_ROLE)
            if hit is not None and hit.record.id == record_id:
                if scroll is not None:
                    view.doItemsLayout()  # the rows were just added: lay them out so the position exists
                    view.verticalScrollBar().setValue(scroll)
                view.setCurrentRow(i)
                view.scrollToItem(view.item(i))
                return True
        return False

    def _current_changed(self, current, _previous) -> None:
        self.selected.emit(current.data(HIT_ROLE) if current is not None else None)

    def selected_hits(self) -> list:
        """The Hits of the selected results of the view shown, in display order."""
        view = self._view()
        items = sorted(view.selectedItems(), key=view.row)
        return [hit for hit in (item.data(HIT_ROLE) for item in items) if hit is not None]

    def _selection_changed(self) -> None:
        for row in self._rows:
            if row.item.isSelected() != row.selected:
                row.selected = not row.selected
                row.label.setText(self._row_html(row.item.data(HIT_ROLE), row.with_session, row.selected))
        self.selection_changed.emit(len(self.selected_hits()))
