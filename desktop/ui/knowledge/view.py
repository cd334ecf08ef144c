"""The Knowledge workspace (Ctrl+8): the document collections chat can be grounded in.

A row of actions (Add collection…, Reindex, Delete…, Refresh) above the list
of collections (:class:`~desktop.ui.knowledge.collections_table.CollectionsTable`),
a progress row while a collection is indexed (files, chunks, time left, and
Stop), and below them the files the selected collection's last run skipped
with the reason, beside a search box to try a query against it
(:class:`~desktop.ui.knowledge.search_panel.SearchPanel`).

All work is ``io`` jobs on the shared :attr:`Services.knowledge`: listing
(the registry, and whether each folder is still there), adding, indexing
(:meth:`Knowledge.index` with the job's cancel token and progress), deleting
and searching; results reach the widgets by the jobs' signals only.  One
collection is indexed at a time from here; a stopped run keeps what it wrote
and the next Reindex continues it.  Adding a collection starts indexing it.

Hooks (replaceable in tests): ``confirm(title, text) -> bool`` (a question box).

Signals:
    status_message(str): a line for the status bar.
    collections_shown(list): the collections now listed (a list of ``Collection``).
    add_dialog_opened(object): the AddCollectionDialog now open (non-modal).
    added(str): a collection was registered (its name); indexing follows.
    index_progressed(object): an ``IndexProgress`` of the running index job.
    index_finished(object): the ``IndexReport`` of a run that completed.
    index_stopped(str): the run of this collection was stopped (what it wrote stays).
    deleted(str): a collection and its chunks were removed (its name).
    failed(str): a job was refused or failed; the message shown.
"""

from __future__ import annotations

import functools
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.core.jobs import Job
from desktop.core.knowledge.indexer import IndexProgress, IndexReport
from desktop.core.knowledge.registry import Collection
from desktop.ui import theme
from desktop.ui.knowledge.add_dialog import AddCollectionDialog
from desktop.ui.knowledge.collections_table import CollectionsTable
from desktop.ui.knowledge.loader import CollectionsLoader
from desktop.ui.knowledge.search_panel import SearchPanel
from desktop.ui.runner import JobHandle


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def report_line(name: str, report: IndexReport) -> str:
    """One line about a finished run."""
    parts = [f"Indexed “{name}”: {_plural(report.read, 'file')} read"]
    if report.unchanged:
        parts.append(f"{report.unchanged:,} unchanged")
    if report.removed:
        parts.append(f"{report.removed:,} removed")
    parts.append(f"{_plural(report.chunks_total, 'chunk')} in all")
    if report.problems:
        parts.append(f"{_plural(len(report.problems), 'file')} skipped (see below)")
    if report.missing_folders:
        parts.append(f"{_plural(len(report.missing_folders), 'folder')} missing")
    return ", ".join(parts) + f" ({report.seconds:.1f} s)."


def _short_path(path: str, folders: list[str]) -> str:
    """``path`` inside the collection's folder it is in (the folder itself, a missing one, stays whole)."""
    for folder in folders:
        try:
            inside = Path(path).relative_to(folder)
        except ValueError:
            continue
        if inside.parts:
            return str(inside)
    return path


def progress_line(p: IndexProgress) -> str:
    left = f" · about {p.eta_s:.0f} s left" if p.eta_s is not None and p.files_done < p.files_total else ""
    return f"{p.files_done:,} of {p.files_total:,} files · {_plural(p.chunks_written, 'chunk')}{left}"


WAITING = "Waiting for the history to open…"


class KnowledgeWorkspace(QWidget):
    status_message = Signal(str)
    collections_shown = Signal(list)
    add_dialog_opened = Signal(object)
    added = Signal(str)
    index_progressed = Signal(object)
    index_finished = Signal(object)
    index_stopped = Signal(str)
    deleted = Signal(str)
    failed = Signal(str)

    def __init__(self, services, runner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.runner = runner
        self.confirm = self._confirm
        self.add_dialog: AddCollectionDialog | None = None
        self.indexing: JobHandle | None = None
        self._indexing_name = ""
        self._select_next = ""  # select this collection when the list is next shown
        self.loader = CollectionsLoader(services, runner, self)
        self.loader.loaded.connect(self._listed)
        self.loader.failed.connect(self._fail)
        self.loader.waiting.connect(lambda: self.notice.setText(WAITING))

        self.add_button = QPushButton("Add collection…")
        self.reindex_button = QPushButton("Reindex")
        self.reindex_button.setToolTip("Read what changed in the folders since the last run")
        self.delete_button = QPushButton("Delete…")
        self.delete_button.setToolTip("Forget the collection and remove its index (the documents stay)")
        self.refresh_button = QPushButton("Refresh")
        self.table = CollectionsTable()
        self.progress = QProgressBar()
        self.progress.setObjectName("knowledgeProgress")
        self.progress.setRange(0, 1000)
        self.progress_label = QLabel("")
        self.progress_label.setObjectName("knowledgeProgressLabel")
        self.cancel_button = QPushButton("Stop")
        self.cancel_button.setToolTip("Stop indexing; what was indexed is kept and Reindex continues")
        self.notice = QLabel("")
        self.notice.setObjectName("knowledgeNotice")
        self.notice.setWordWrap(True)
        self.skipped = QTableWidget(0, 2)
        self.skipped.setObjectName("knowledgeSkipped")
        self.skipped.setHorizontalHeaderLabels(("File", "Why it was skipped"))
        self.skipped.verticalHeader().hide()
        self.skipped.horizontalHeader().setStretchLastSection(True)
        self.skipped.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.skipped.setWordWrap(True)  # a reason is a sentence: all of it shows
        self.search_panel = SearchPanel(services, runner)
        self._build()
        self._show_progress(False)
        self._update_buttons()

        self.add_button.clicked.connect(self.open_add_dialog)
        self.reindex_button.clicked.connect(lambda: self.reindex(self.table.selected_name()))
        self.delete_button.clicked.connect(lambda: self.delete(self.table.selected_name()))
        self.refresh_button.clicked.connect(self.refresh)
        self.cancel_button.clicked.connect(self.stop)
        self.table.selection_changed.connect(self._selected)

    def _build(self) -> None:
        actions = QHBoxLayout()
        for button in (self.add_button, self.reindex_button, self.delete_button, self.refresh_button):
            actions.addWidget(button)
        actions.addStretch(1)
        progress_row = QHBoxLayout()
        progress_row.addWidget(self.progress, 1)
        progress_row.addWidget(self.progress_label)
        progress_row.addWidget(self.cancel_button)
        self._progress_row = QWidget()
        self._progress_row.setLayout(progress_row)
        progress_row.setContentsMargins(0, 0, 0, 0)

        skipped_box = QGroupBox("Skipped files")
        QVBoxLayout(skipped_box).addWidget(self.skipped)
        search_box = QGroupBox("Try a search")
        QVBoxLayout(search_box).addWidget(self.search_panel)
        lower = QSplitter(Qt.Orientation.Horizontal)
        lower.addWidget(skipped_box)
        lower.addWidget(search_box)
        lower.setStretchFactor(1, 2)
        lower.setSizes([380, 700])
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addLayout(actions)
        top_layout.addWidget(self.table, 1)
        top_layout.addWidget(self._progress_row)
        top_layout.addWidget(self.notice)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(lower)
        split.setSizes([220, 520])  # a few collections; the skipped files and the results get the room
        layout = QVBoxLayout(self)
        layout.addWidget(split)
        theme.set_role(self.notice, "muted")

    # --- the protocols of ui/workspace.py ------------------------------------------------
    def focus_search(self) -> None:
        """Ctrl+F: the query box."""
        self.search_panel.query.setFocus()
        self.search_panel.query.selectAll()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        self.refresh()  # a `genlab knowledge` command may have changed the list meanwhile

    # --- listing ---------------------------------------------------------------------------
    def refresh(self) -> None:
        """Read the collections (and whether their folders are still there) on an ``io`` job."""
        self.loader.load()

    def _listed(self, collections: list[Collection]) -> None:
        if self.notice.text() == WAITING:  # the history is open now: the wait is over
            self.notice.clear()
        self.table.show_collections(collections)
        if self._select_next in self.table.names():  # the collection just added
            self.table.select_name(self._select_next)
            self._select_next = ""
        self.table.set_indexing(self._indexing_name)
        self._selected(self.table.selected_name())
        self.collections_shown.emit(collections)

    def _selected(self, name: str) -> None:
        self.search_panel.set_collection(name)
        collection = self.table.collection(name)
        rows = []
        if collection is not None:
            rows = [(folder, "The folder is missing (its chunks are kept until it is back or the collection "
                             "is deleted).") for folder in collection.state.missing_folders]
            rows += [(p.path, p.reason) for p in collection.state.problems]
        self.skipped.setRowCount(len(rows))
        for row, (path, reason) in enumerate(rows):
            item = QTableWidgetItem(_short_path(path, collection.folders if collection else []))
            item.setToolTip(path)
            self.skipped.setItem(row, 0, item)
            why = QTableWidgetItem(reason)
            why.setToolTip(reason)
            self.skipped.setItem(row, 1, why)
        self.skipped.resizeColumnToContents(0)
        self.skipped.resizeRowsToContents()
        self._update_buttons()

    def skipped_rows(self) -> list[tuple[str, str]]:
        """The skipped files listed now, (path, reason) (tests, screen readers)."""
        return [(self.skipped.item(r, 0).text(), self.skipped.item(r, 1).text()) for r in range(self.skipped.rowCount())]

    # --- adding --------------------------------------------------------------------------------
    def open_add_dialog(self) -> AddCollectionDialog:
        """Open the Add dialog (non-modal); accepting it adds the collection and starts indexing it."""
        if self.add_dialog is not None:
            self.add_dialog.close()
        dialog = self.add_dialog = AddCollectionDialog(self.table.names(), self)
        dialog.accepted.connect(lambda: self.add(dialog.result_name(), [str(f) for f in dialog.result_folders()]))
        dialog.open()
        self.add_dialog_opened.emit(dialog)
        return dialog

    def add(self, name: str, folders: list[str]) -> None:
        """Register ``name`` with ``folders`` on an ``io`` job, then index it."""
        services = self.services

        def work(*, cancel, progress):
            return services.knowledge.add(name, [Path(f) for f in folders])

        def done(collection: Collection) -> None:
            self._say(f"Added “{collection.name}”.")
            self.added.emit(collection.name)
            self._select_next = collection.name
            self.refresh()
            self.reindex(collection.name)

        self._submit(f"Add collection {name}", work, done)

    # --- indexing ---------------------------------------------------------------------------------
    def reindex(self, name: str) -> None:
        """Bring ``name`` up to date (only what changed is read again) on an ``io`` job."""
        if not name:
            return self._fail("Select a collection to reindex.")
        if self.indexing is not None:
            return self._fail(f"“{self._indexing_name}” is being indexed; wait for it or stop it first.")
        collection = self.table.collection(name)
        if collection is not None and collection.is_history:
            return self._fail("The history is indexed as records are saved; there is nothing to reindex.")
        services = self.services

        def work(*, cancel, progress):
            return services.knowledge.index(name, cancel=cancel, progress=progress)

        handle = self.runner.submit(Job(f"Index {name}", work, kind="io", reports_failure=True))
        self.indexing, self._indexing_name = handle, name
        handle.progressed.connect(self._on_progress)
        handle.finished.connect(functools.partial(self._indexed, name))
        handle.cancelled.connect(functools.partial(self._index_stopped, name))
        handle.failed.connect(lambda message, _tb: self._fail(message))
        handle.ended.connect(self._index_ended)
        self.table.set_indexing(name)
        self.progress.setRange(0, 0)  # busy until the first count
        self.progress_label.setText("Starting (the embedding model may be loading)…")
        self._show_progress(True)
        self._update_buttons()

    def stop(self) -> None:
        """Stop the running index job; what it committed stays."""
        if self.indexing is not None:
            self.indexing.cancel()
            self.progress_label.setText("Stopping…")

    def _on_progress(self, batch: list) -> None:
        last = batch[-1]
        payload = next((p.payload for p in reversed(batch) if isinstance(p.payload, IndexProgress)), None)
        if payload is None:
            self.progress_label.setText(last.message)
            return
        self.progress.setRange(0, 1000)
        self.progress.setValue(round(1000 * payload.files_done / payload.files_total) if payload.files_total else 1000)
        self.progress_label.setText(progress_line(payload))
        self.index_progressed.emit(payload)

    def _indexed(self, name: str, report: IndexReport) -> None:
        self._say(report_line(name, report))
        self.index_finished.emit(report)

    def _index_stopped(self, name: str) -> None:
        self._say(f"Stopped indexing “{name}”; what was indexed is kept, and Reindex continues from there.")
        self.index_stopped.emit(name)

    def _index_ended(self) -> None:
        self.indexing, self._indexing_name = None, ""
        self.table.set_indexing("")
        self._show_progress(False)
        self._update_buttons()
        self.refresh()

    def _show_progress(self, shown: bool) -> None:
        self._progress_row.setVisible(shown)

    # --- deleting -----------------------------------------------------------------------------------
    def _confirm(self, title: str, text: str) -> bool:
        return QMessageBox.question(self, title, text) == QMessageBox.StandardButton.Yes

    def delete(self, name: str) -> None:
        """Delete ``name``'s index after asking (its documents stay where they are)."""
        collection = self.table.collection(name)
        if collection is None:
            return self._fail("Select a collection to delete.")
        if collection.is_history:
            return self._fail("The history collection cannot be deleted here; delete records in History.")
        if name == self._indexing_name:
            return self._fail(f"“{name}” is being indexed; stop it before deleting it.")
        if not self.confirm("Delete collection",
                            f"Delete “{name}” and its index ({_plural(collection.state.chunks, 'chunk')})? "
                            "The documents in its folders are not touched."):
            return
        services = self.services

        def work(*, cancel, progress):
            services.knowledge.delete(name)
            return name

        def done(_name: str) -> None:
            self._say(f"Deleted “{name}” and its index.")
            self.deleted.emit(name)
            self.refresh()

        self._submit(f"Delete collection {name}", work, done)

    # --- plumbing ---------------------------------------------------------------------------------------
    def _submit(self, title: str, work, on_finished) -> JobHandle:
        handle = self.runner.submit(Job(title, work, kind="io", reports_failure=True))
        handle.finished.connect(on_finished)
        handle.failed.connect(lambda message, _tb: self._fail(message))
        return handle

    def _update_buttons(self) -> None:
        selected = self.table.collection(self.table.selected_name())
        documents = selected is not None and not selected.is_history
        self.reindex_button.setEnabled(documents and self.indexing is None)
        self.delete_button.setEnabled(documents and selected is not None and selected.name != self._indexing_name)

    def _say(self, message: str) -> None:
        theme.set_role(self.notice, "muted")
        self.notice.setText(message)
        self.status_message.emit(message)

    def _fail(self, message: str) -> None:
        theme.set_role(self.notice, "error")
        self.notice.setText(message)
        self.status_message.emit(message)
        self.failed.emit(message)
