"""The Chat workspace's list of threads: search box, "New chat", pinned first, newest next.

Each row is one :class:`~desktop.core.text.thread.ChatThread`; the list keeps
when the thread began and was last used, and reads names and pins from
:class:`~desktop.core.history.thread_labels.ThreadLabels`.  A title is the
thread's name, else its first message elided; when two titles read the same
the date tells them apart.  The filter box hides the rows whose title does
not contain what is typed.  Renaming and pinning happen here; deleting is
the workspace's (the records go from the history too), so the row's menu
only asks for it.

Signals:
    selected(object): the ChatThread the person picked.
    new_requested(): "New chat" was pressed.
    delete_requested(str): the row menu's Delete was confirmed for this thread id.
    message(str): a rename or pin could not be saved (for the status line).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from PySide6.QtCore import QPoint, QSize, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QInputDialog,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QPushButton,
    QStyledItemDelegate,
    QVBoxLayout,
    QWidget,
)

from desktop.core.history.sessions import shorten
from desktop.core.history.thread_labels import ThreadLabels
from desktop.core.text.thread import ChatThread

TITLE_CHARS = 60
PIN = "★ "  # in every UI font (an emoji pin is a blank box where no emoji font is installed)


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class ThreadEntry:
    thread: ChatThread
    first_at: datetime
    last_at: datetime


class _ElidingDelegate(QStyledItemDelegate):
    """Rows as wide as the list, so a long title elides instead of scrolling sideways."""

    def sizeHint(self, option, index) -> QSize:
        return QSize(0, super().sizeHint(option, index).height())


class ThreadList(QWidget):
    selected = Signal(object)
    new_requested = Signal()
    delete_requested = Signal(str)
    message = Signal(str)

    def __init__(self, labels: ThreadLabels, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.labels = labels
        self._entries: dict[str, ThreadEntry] = {}
        self._current = ""
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.new_button = QPushButton("New chat")
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Search chats")
        self.filter.setClearButtonEnabled(True)
        self.list = QListWidget()
        self.list.setItemDelegate(_ElidingDelegate(self.list))
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.setObjectName("chatThreads")
        self.list.setSpacing(3)  # rows a click apart, not a dense table
        for widget in (self.new_button, self.filter, self.list):
            layout.addWidget(widget)
        self.new_button.clicked.connect(self.new_requested)
        self.filter.textChanged.connect(self._apply_filter)
        self.list.currentItemChanged.connect(self._on_current)
        self.list.customContextMenuRequested.connect(self._menu)

    # --- contents ---------------------------------------------------------------------
    def add(self, thread: ChatThread, first_at: datetime | None = None, last_at: datetime | None = None,
            *, select: bool = True) -> None:
        """Add ``thread`` (a thread already listed keeps its row) and show the list in order."""
        if thread.id not in self._entries:
            first_at = first_at or _now()
            self._entries[thread.id] = ThreadEntry(thread, first_at, last_at or first_at)
        if select:
            self._current = thread.id
        self._rebuild()

    def remove(self, thread_id: str) -> None:
        self._entries.pop(thread_id, None)
        if self._current == thread_id:
            self._current = ""
        self._rebuild()

    def touch(self, thread: ChatThread) -> None:
        """``thread`` was just used (a reply came): it moves to the top of the unpinned ones."""
        entry = self._entries.get(thread.id)
        if entry is not None:
            entry.last_at = _now()
        self._rebuild()

    def select(self, thread: ChatThread) -> None:
        """Make ``thread`` the current row without emitting ``selected``."""
        self._current = thread.id
        self._rebuild()

    def threads(self) -> list[ChatThread]:
        """Every listed thread, in the order shown (filtered-out ones included)."""
        return [self._entries[i].thread for i in self._order()]

    def entry(self, thread_id: str) -> ThreadEntry | None:
        return self._entries.get(thread_id)

    def has(self, thread_id: str) -> bool:
        return thread_id in self._entries

    def visible_titles(self) -> list[str]:
        """The titles the person sees now, top first (for tests and the screenshot check)."""
        rows = (self.list.item(i) for i in range(self.list.count()))
        return [item.text().removeprefix(PIN) for item in rows if not item.isHidden()]

    # --- titles -----------------------------------------------------------------------
    def titles(self) -> dict[str, str]:
        """Thread id → title; a date is added where two titles would read the same."""
        base = {}
        for thread_id, entry in self._entries.items():
            name = self.labels.get(thread_id).name
            base[thread_id] = name or shorten(entry.thread.title, TITLE_CHARS) or "New chat"
        counts: dict[str, int] = {}
        for title in base.values():
            counts[title.casefold()] = counts.get(title.casefold(), 0) + 1
        out = {}
        for thread_id, title in base.items():
            if counts[title.casefold()] > 1 and self._entries[thread_id].thread.turns:
                title = f"{title} · {self._entries[thread_id].first_at.astimezone():%d %b %H:%M}"
            out[thread_id] = title
        return out

    def title_of(self, thread: ChatThread) -> str:
        return self.titles().get(thread.id, thread.title)

    # --- rename, pin --------------------------------------------------------------------
    def rename(self, thread_id: str, name: str) -> bool:
        """Call the thread ``name`` (empty: its first message again)."""
        return self._label(thread_id, name=name)

    def set_pinned(self, thread_id: str, pinned: bool) -> bool:
        return self._label(thread_id, pinned=pinned)

    def _label(self, thread_id: str, **change) -> bool:
        if thread_id not in self._entries:
            return False
        try:
            self.labels.change(thread_id, **change)
        except OSError as exc:
            self.message.emit(f"Could not save the chat's name or pin to {self.labels.path}: "
                              f"{exc.strerror or exc}.")
            return False
        self._rebuild()
        return True

    # --- rows -------------------------------------------------------------------------
    def _order(self) -> list[str]:
        def key(thread_id: str):
            entry = self._entries[thread_id]
            return (not self.labels.get(thread_id).pinned, -entry.last_at.timestamp())

        return sorted(self._entries, key=key)

    def _rebuild(self) -> None:
        titles = self.titles()
        self.list.blockSignals(True)
        self.list.clear()
        for thread_id in self._order():
            pinned = self.labels.get(thread_id).pinned
            item = QListWidgetItem((PIN if pinned else "") + titles[thread_id])
            item.setData(Qt.ItemDataRole.UserRole, thread_id)
            entry = self._entries[thread_id]
            item.setToolTip(f"{titles[thread_id]}\n{entry.first_at.astimezone():%Y-%m-%d %H:%M}"
                            + (" · pinned" if pinned else ""))
            if pinned:
                font = QFont(item.font())
                font.setBold(True)
                item.setFont(font)
            self.list.addItem(item)
            if thread_id == self._current:
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)
        self._apply_filter()

    def _apply_filter(self) -> None:
        query = self.filter.text().strip().casefold()
        for i in range(self.list.count()):
            item = self.list.item(i)
            item.setHidden(bool(query) and query not in item.text().casefold())

    def _on_current(self, item: QListWidgetItem | None, _previous) -> None:
        if item is None:
            return
        thread_id = item.data(Qt.ItemDataRole.UserRole)
        self._current = thread_id
        self.selected.emit(self._entries[thread_id].thread)

    def _menu(self, pos: QPoint) -> None:
        item = self.list.itemAt(pos)
        if item is None:
            return
        thread_id = item.data(Qt.ItemDataRole.UserRole)
        pinned = self.labels.get(thread_id).pinned
        menu = QMenu(self)
        rename = menu.addAction("Rename…")
        pin = menu.addAction("Unpin" if pinned else "Pin to the top")
        delete = menu.addAction("Delete…")
        chosen = menu.exec(self.list.viewport().mapToGlobal(pos))
        if chosen is rename:
            name, ok = QInputDialog.getText(self, "Rename chat", "Name (empty: its first message):",
                                            text=self.labels.get(thread_id).name or item.text().removeprefix(PIN))
            if ok:
                self.rename(thread_id, name)
        elif chosen is pin:
            self.set_pinned(thread_id, not pinned)
        elif chosen is delete:
            answer = QMessageBox.question(
                self, "Delete chat", f"Delete “{item.text().removeprefix(PIN)}” and its records in the "
                                     "history? This cannot be undone.")
            if answer == QMessageBox.StandardButton.Yes:
                self.delete_requested.emit(thread_id)
