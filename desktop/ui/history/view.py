"""The History workspace: search everything ever generated, look at it, act on it.

``HistoryWorkspace(services, runner)`` opens the shared history store (an
``io`` job; ``Services.history_store``), then shows
recent records grouped by day and, within a day, by session (a session row
names it: time span, kind, model, first prompt, size).  Typing in the search box searches after a
short pause (debounced); every search, update, delete, import and export is
an ``io`` job, so the GUI never waits on the database.  Results that arrive
after a newer search started are dropped.  Text results are a list with the
matched words in bold; image results (or the grid toggle) show thumbnails.
An import reports the records read of the file's total, then "Embedding N of
M records", through its job's progress (status bar, Jobs panel, notice line).

Clicking a session row, "Show this session" in a result's context menu or
"Show session" in the record pane filters to that session: a chip names it by
its first prompt (the raw id is in its tooltip) and clicking the chip clears
the filter.  ``experiment:NAME`` (or ``experiment:"two words"``) in the search
box lists the records of the experiment(s) with that name or id prefix; an
unknown name is said in the notice line.  "Delete this session…" (a row's context menu, or the More menu for
the session shown or selected) asks first.  Session names are read by the
same ``io`` job as the search.

The result list and grid take extended selection; "Export selected…" in the
More menu exports the selected records and is disabled while none is selected.
After a change (rating, delete, import...) the list is refreshed and the
selected record, if still there, stays selected and in view.

With nothing to list, the results area says why: no results for the query
(how it searched, which filters, with a "Clear filters" button when any is
set), or, for an empty history, what will appear here.

The results list takes the larger share of the width (3:2) beside the record
pane, which needs under 400 px; the workspace fits a 900 px wide window.

Hooks (replaceable, so tests answer them without a modal loop):
    confirm(str) -> bool, choose_path(save: bool) -> str.

Signals:
    status_message(str): a line for the status bar.
    rerun_requested(object), continue_requested(object), reuse_requested(object):
        a GenerationRecord to re-run exactly (emitted only when its model is found
        in the library by sha256), continue in Chat, or reuse in Images; the main
        window routes them to the engines' workspaces.
    upscale_requested(object): an image GenerationRecord to upscale in Images (More → Upscale…).
    results_shown(int): a search result was displayed (how many hits).

A failed save (full disk...) reported by the store's writer is shown in the
notice line and sent as a status message.

The list is live: when the store reports saved records (a generation, a
re-run, an import; ``HistoryStore.add_saved_listener``) the search shown is
run again after a short pause, keeping the selection, if the workspace is
visible; otherwise ``refresh_pending`` is set and the search runs when the
workspace is next shown.  "Clear" resets the filters and the search box.

Semantic and hybrid results below a relevance floor are left out; the floor
is shown and adjustable beside the mode ("Relevance ≥ 0.28") and a line
above the results says how many weaker matches it hid, with "Show them"
(:class:`~desktop.ui.history.floor.RelevanceFloor`).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QPushButton,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.core.jobs import Job
from desktop.ui.history.details import DetailsPanel
from desktop.ui.history.empty import empty_state_text
from desktop.ui.history.experiment_term import split_experiment_term
from desktop.ui.history.floor import RelevanceFloor
from desktop.ui.history.results import ResultsView
from desktop.ui.incognito import BANNER_STYLE, INCOGNITO_LINE

DEBOUNCE_MS = 250
REFRESH_MS = 400  # a burst of saves (a batch of images, an import) becomes one refresh
# QLineEdit cuts what is typed or pasted at 32,767 characters without a word; the box takes far more
# and the search says when it shortened the query (search.MAX_QUERY_CHARS).
QUERY_MAX_LENGTH = 1_000_000
RESULTS_MIN_WIDTH = 300


def import_summary(result) -> str:
    """One line for an ImportResult: the counts, the first broken lines with their numbers, the embedding."""
    text = result.summary().capitalize() + "."
    if result.broken:
        text += " Skipped: " + "; ".join(result.problems[:3])
        if result.broken > 3:
            text += f" (and {result.broken - 3} more)"
    if result.embedded:
        text += f" Embedded {result.embedded}."
    if result.embed_note:
        text += " " + result.embed_note
    return text


class HistoryWorkspace(QWidget):
    status_message = Signal(str)
    rerun_requested = Signal(object)
    continue_requested = Signal(object)
    reuse_requested = Signal(object)
    upscale_requested = Signal(object)
    results_shown = Signal(int)
    _write_failed = Signal(str)  # from the history writer thread, delivered on the GUI thread
    _records_saved = Signal()  # from the history writer thread, delivered on the GUI thread

    def __init__(self, services, runner, parent=None) -> None:
        super().__init__(parent)
        self.services = services
        self.runner = runner
        self.store = None
        self._search_seq = 0
        self.last_result = None
        self.sessions: dict = {}  # session id -> SessionSummary of the sessions seen in results
        self._session_id = ""  # the session filter ("" for none)
        self._experiment_name: str | None = None  # the search box's experiment:NAME term, if any
        self._shown_query = None  # the SearchQuery of the results shown
        self.confirm = self._confirm_dialog
        self.choose_path = self._path_dialog
        self._build()
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self.search_now)
        self._write_failed.connect(self._show_error)
        self.refresh_pending = False  # records were saved while hidden: search again when shown
        self._refresh = QTimer(self)
        self._refresh.setSingleShot(True)
        self._refresh.setInterval(REFRESH_MS)
        self._refresh.timeout.connect(lambda: self.search_now(keep_selection=True))
        self._records_saved.connect(self._on_records_saved)
        self._open_store()

    # --- layout ---------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        self.search_box = QLineEdit()
        self.search_box.setPlaceholderText("Search your history by meaning or keyword (Ctrl+F)")
        self.search_box.setClearButtonEnabled(True)
        self.search_box.setMaxLength(QUERY_MAX_LENGTH)
        self.search_box.setToolTip('experiment:NAME (or experiment:"two words") lists the records of that experiment')
        self.mode = QComboBox()
        for label, value in (("Hybrid", "hybrid"), ("Keyword", "keyword"), ("Semantic", "semantic")):
            self.mode.addItem(label, value)
        self.sort = QComboBox()
        self.sort.addItem("Relevance", "relevance")
        self.sort.addItem("Newest first", "date")
        self.grid_toggle = QCheckBox("Grid")
        self.incognito = QCheckBox("Incognito")
        self.incognito.setChecked(self.services.settings.history.incognito)
        self.more = QToolButton()
        self.more.setText("More")
        self.more.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.more)
        menu.addAction("Import…", self.import_dialog)
        menu.addAction("Export all…", lambda: self.export_dialog())
        self.export_selected_action = menu.addAction("Export selected…", self.export_selected_dialog)
        self.export_selected_action.setEnabled(False)  # until results are selected
        menu.addAction("Export dataset…", self.export_dataset_dialog)  # training sets: desktop.ui.datasets
        menu.addSeparator()
        menu.addAction("Delete this session…", self.delete_current_session)
        menu.addAction("Delete everything…", self.delete_everything)
        self.more.setMenu(menu)
        for w in (self.search_box,):
            top.addWidget(w, 1)
        from desktop.core.history.search import default_min_relevance

        self.floor = RelevanceFloor(self, default_min_relevance(self.services.settings.history.embedder))
        for w in (self.mode, self.floor.spin, self.sort, self.grid_toggle, self.incognito, self.more):
            top.addWidget(w)
        layout.addLayout(top)

        chips = QHBoxLayout()
        self.kind = QComboBox()
        for label, value in (("Any kind", ""), ("Text", "text"), ("Images", "image")):
            self.kind.addItem(label, value)
        self.rating = QComboBox()
        self.rating.addItem("Any rating", "")
        for n in range(1, 6):
            self.rating.addItem("★" * n + " or more", n)
        self.origin = QComboBox()
        for label, value in (("Any origin", ""), ("Generated here", "generated"), ("Imported", "imported"),
                             ("From the API", "api")):
            self.origin.addItem(label, value)
        self.model = QLineEdit()
        self.model.setPlaceholderText("model")
        self.tag = QLineEdit()
        self.tag.setPlaceholderText("tag")
        self.session_chip = QPushButton()
        self.session_chip.setObjectName("sessionChip")
        self.session_chip.setVisible(False)  # shown while the results are filtered to one session
        self.date_from = QLineEdit()
        self.date_from.setPlaceholderText("from YYYY-MM-DD")
        self.date_to = QLineEdit()
        self.date_to.setPlaceholderText("to YYYY-MM-DD")
        self.clear_filters = QPushButton("Clear")
        for w in (self.kind, self.rating, self.origin, self.model, self.tag, self.session_chip, self.date_from,
                  self.date_to, self.clear_filters):
            chips.addWidget(w)
        layout.addLayout(chips)

        self.banner = QLabel(INCOGNITO_LINE)
        self.banner.setObjectName("incognitoBanner")
        self.banner.setStyleSheet(BANNER_STYLE)
        self.banner.setVisible(self.incognito.isChecked())
        layout.addWidget(self.banner)
        self.notice = QLabel()
        self.notice.setObjectName("historyNotice")
        self.notice.setWordWrap(True)
        layout.addWidget(self.notice)
        layout.addWidget(self.floor.note)

        self.split = split = QSplitter(Qt.Orientation.Horizontal)
        self.results = ResultsView()
        self.results.setMinimumWidth(RESULTS_MIN_WIDTH)
        self.details = DetailsPanel()
        split.addWidget(self.results)
        split.addWidget(self.details)
        split.setChildrenCollapsible(False)
        split.setStretchFactor(0, 3)  # the list takes the larger share as the window grows
        split.setStretchFactor(1, 2)
        split.setSizes([3000, 2000])  # proportions until the person drags the handle
        layout.addWidget(split, 1)

        self.search_box.textChanged.connect(self._schedule)
        for combo in (self.mode, self.sort, self.kind, self.rating, self.origin):
            combo.currentIndexChanged.connect(self._schedule)
        for edit in (self.model, self.tag, self.date_from, self.date_to):
            edit.textChanged.connect(self._schedule)
        self.session_chip.clicked.connect(self.clear_session)
        self.results.session_requested.connect(self.show_session)
        self.results.session_delete_requested.connect(self.delete_session)
        self.details.session_requested.connect(self.show_session)
        self.kind.currentIndexChanged.connect(self._auto_grid)
        self.grid_toggle.toggled.connect(self.results.set_grid_mode)
        self.clear_filters.clicked.connect(self.clear_all)
        self.floor.changed.connect(self._schedule)
        self.mode.currentIndexChanged.connect(lambda: self.floor.set_mode(self.mode.currentData()))
        self.results.empty.clear_filters_requested.connect(self.reset_filters)
        self.incognito.toggled.connect(self.set_incognito)
        self.results.selected.connect(self.details.show_hit)
        self.results.selection_changed.connect(lambda n: self.export_selected_action.setEnabled(n > 0))
        self.details.rate_tag_note.connect(self.update_record)
        self.details.delete_requested.connect(self.delete_record)
        self.details.rerun_requested.connect(self.rerun)
        self.details.continue_requested.connect(self.continue_requested)
        self.details.reuse_requested.connect(self.reuse_requested)
        self.details.upscale_requested.connect(self.upscale_requested)

    # --- public slots ------------------------------------------------------------
    def focus_search(self) -> None:
        self.search_box.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search_box.selectAll()

    def filters(self) -> dict:
        values = {"kind": self.kind.currentData(), "rating": self.rating.currentData(),
                  "origin": self.origin.currentData(), "model": self.model.text().strip(),
                  "tag": self.tag.text().strip(), "session": self._session_id,
                  "date_from": self.date_from.text().strip(), "date_to": self.date_to.text().strip()}
        return {k: v for k, v in values.items() if v not in ("", None)}

    def clear_all(self) -> None:
        """The filter row's "Clear": every filter and the search box."""
        self.search_box.clear()
        self.reset_filters()

    def reset_filters(self) -> None:
        for combo in (self.kind, self.rating, self.origin):
            combo.setCurrentIndex(0)
        for edit in (self.model, self.tag, self.date_from, self.date_to):
            edit.clear()
        if self.floor.reset() or self._session_id:
            self._set_session("")
            self._schedule()

    def set_incognito(self, on: bool) -> None:
        from desktop.core.errors import GenLabError

        self.services.settings.history.incognito = bool(on)
        self.banner.setVisible(bool(on))
        try:
            self.services.save_settings()
        except GenLabError as exc:
            self._show_error(str(exc))
        self._update_empty_state()
        self.status_message.emit(f"{INCOGNITO_LINE}." if on else "Incognito off: new generations are recorded.")

    # --- the session filter ----------------------------------------------------------
    def session_label(self, session_id: str) -> str:
        """A readable name for a session: its first prompt when known, else the start of its id."""
        summary = self.sessions.get(session_id)
        return summary.label if summary is not None else f"{session_id[:8]}…"

    def show_session(self, session_id: str) -> None:
        """List every record of one session (the chip shows its name; clicking the chip clears it).

        The search text is cleared so the whole session shows, by day; typing then searches within it."""
        if session_id and (session_id != self._session_id or self.search_box.text()):
            self._set_session(session_id)
            self.search_box.clear()
            self.search_now()

    def clear_session(self) -> None:
        if self._session_id:
            self._set_session("")
            self.search_now()

    def _set_session(self, session_id: str) -> None:
        self._session_id = session_id
        self.session_chip.setVisible(bool(session_id))
        if session_id:
            summary = self.sessions.get(session_id)
            self.session_chip.setText(f"Session {self.session_label(session_id)}  ✕")
            self.session_chip.setToolTip((summary.describe() if summary else f"id {session_id}")
                                         + "\nClick to show every session again.")

    # --- store and searching ---------------------------------------------------------
    def _open_store(self) -> None:
        services = self.services
        self.notice.setText("Opening the history…")
        handle = self.runner.submit(Job("Open history", lambda cancel, progress: services.history_store, kind="io"))
        handle.finished.connect(self._store_opened)
        handle.failed.connect(lambda msg, _tb: self._show_error(msg))

    def _store_opened(self, store) -> None:
        self.store = store
        store.add_error_listener(lambda error: self._write_failed.emit(str(error)))
        store.add_saved_listener(lambda records: self._records_saved.emit())
        self.notice.clear()
        self.search_now()

    def _schedule(self) -> None:
        self._debounce.start()

    def _on_records_saved(self) -> None:
        if not self.isVisible():
            self.refresh_pending = True
        elif not self._refresh.isActive():  # not restarted: constant saves still refresh now and then
            self._refresh.start()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self.refresh_pending:
            self.refresh_pending = False
            self.search_now(keep_selection=True)

    def _auto_grid(self) -> None:
        self.grid_toggle.setChecked(self.kind.currentData() == "image")

    def search_now(self, keep_selection: bool = False) -> None:
        """Run the search described by the widgets (stale answers are dropped).

        ``keep_selection``: a refresh after a change; the selected record stays selected and in view."""
        if self.store is None:
            return
        from desktop.core.history.search import SearchQuery

        self._debounce.stop()
        self._refresh.stop()
        self.refresh_pending = False
        text, experiment = split_experiment_term(self.search_box.text())
        query = SearchQuery(text, mode=self.mode.currentData(), filters=self.filters(),
                            sort=self.sort.currentData(), limit=100, min_relevance=self.floor.query_value())
        self._search_seq += 1
        seq, store = self._search_seq, self.store
        self._experiment_name = experiment

        def search(cancel, progress):
            from desktop.core.history.search import SearchResult
            from desktop.core.history.sessions import load_session_summaries

            if experiment is not None:
                from desktop.core.experiments.errors import ExperimentNotFound
                from desktop.core.experiments.lookup import matching_ids
                from desktop.core.experiments.store import ExperimentStore

                try:  # the history core knows sessions, not experiments: the name becomes session ids here
                    query.filters["sessions"] = matching_ids(ExperimentStore.beside(store), experiment)
                except ExperimentNotFound as exc:
                    return SearchResult(hits=[], mode=query.mode, notice=str(exc)), {}
            result = store.search(query)
            return result, load_session_summaries(store, (hit.record.session_id for hit in result.hits))

        handle = self.runner.submit(Job("History search", search, kind="io"))
        keep = self.details.hit.record.id if keep_selection and self.details.hit is not None else ""
        handle.finished.connect(lambda answer: self._show_result(seq, query, *answer, keep=keep))
        handle.failed.connect(lambda msg, _tb: seq == self._search_seq and self._show_error(msg))

    def _show_result(self, seq: int, query, result, sessions: dict, keep: str = "") -> None:
        if seq != self._search_seq:
            return
        self.last_result = result
        self._shown_query = query
        self.sessions.update(sessions)
        if self._session_id in sessions:
            self._set_session(self._session_id)  # its name may be known only now
        self.notice.setStyleSheet("")
        self.notice.setText(result.notice)
        self.floor.show_result(result)
        self._update_empty_state()
        scroll = self.results.scroll_position()
        self.results.show_hits(result.hits, grouped_by_day=result.mode == "recent", sessions=sessions)
        if not (keep and self.results.select_record(keep, scroll)):
            self.details.show_hit(None)
        self.results_shown.emit(len(result.hits))

    def filter_words(self, filters: dict) -> list[str]:
        """The filters of a query in words, as the filter row shows them."""
        words = []
        for key, combo in (("kind", self.kind), ("rating", self.rating), ("origin", self.origin)):
            if key in filters:
                index = combo.findData(filters[key])
                words.append(combo.itemText(index) if index >= 0 else str(filters[key]))
        for key in ("model", "tag"):
            if key in filters:
                words.append(f"{key} “{filters[key]}”")
        if "session" in filters:
            words.append(f"session {self.session_label(filters['session'])}")
        if "sessions" in filters and self._experiment_name:
            words.append(f"experiment “{self._experiment_name}”")
        words += [f"{label} {filters[key]}" for key, label in (("date_from", "from"), ("date_to", "to"))
                  if key in filters]
        return words

    def _update_empty_state(self) -> None:
        query, result = self._shown_query, self.last_result
        if query is None or result is None:
            return
        filters = self.filter_words(query.filters)
        title, detail = empty_state_text(query.text, result.mode, filters, self.services.settings.history.incognito)
        self.results.set_empty_state(title, detail, can_clear=bool(filters))

    def _show_error(self, message: str) -> None:
        self.notice.setStyleSheet("color:#c0392b")
        self.notice.setText(message)
        self.status_message.emit(message)

    # --- actions -------------------------------------------------------------------
    def _run(self, name: str, fn, done_message=None) -> None:
        """Run ``fn(cancel, progress)`` as an io job; ``done_message`` is a format string with
        ``{result}`` or a function of the result, shown when it finishes."""
        if self.store is None:
            return
        handle = self.runner.submit(Job(name, lambda cancel, progress: fn(cancel, progress), kind="io"))
        handle.failed.connect(lambda msg, _tb: self._show_error(msg))
        handle.progressed.connect(lambda reports: self.notice.setText(reports[-1].message))

        def finished(result) -> None:
            if done_message:
                text = done_message(result) if callable(done_message) else done_message.format(result=result)
                self.status_message.emit(text)
                self.notice.setText(text)
            self.search_now(keep_selection=True)

        handle.finished.connect(finished)

    def rerun(self, record) -> None:
        """Re-run exactly: only when the very model file (by sha256) is in the library."""
        from desktop.core.errors import GenLabError
        from desktop.core.history.rerun import model_for_rerun
        from desktop.core.image.upscale import is_upscale_record

        if is_upscale_record(record):  # Images finds its upscaler and source image by sha256
            self.status_message.emit("Re-running the upscale in Images.")
            self.rerun_requested.emit(record)
            return
        try:
            model = model_for_rerun(record)
        except GenLabError as exc:
            self._show_error(str(exc))
            return
        self.status_message.emit(f"Re-running with {model.name}.")
        self.rerun_requested.emit(record)

    def update_record(self, record_id: str, rating: int, tags: list, note: str) -> None:
        store = self.store
        self._run("Update history record", lambda c, p: store.update(record_id, rating=rating, tags=tags, note=note),
                  "Saved.")

    def delete_record(self, record_id: str) -> None:
        if self.confirm("Delete this record for good? Its text and images are removed from disk."):
            if self.details.hit is not None and self.details.hit.record.id == record_id:
                self.details.forget_changes()
            store = self.store
            self._run("Delete history record", lambda c, p: store.delete([record_id]), "Deleted {result} record(s).")

    def delete_current_session(self) -> None:
        """Delete the session shown (the session filter), else the selected record's session."""
        hit = self.details.hit
        session = self._session_id or (hit.record.session_id if hit is not None else "")
        if not session:
            self._show_error("Show a session, or select a record of the session to delete first.")
            return
        self.delete_session(session)

    def delete_session(self, session_id: str) -> None:
        """Delete every record of a session, after asking."""
        if not session_id:
            return
        summary = self.sessions.get(session_id)
        size = f" ({summary.count} records)" if summary is not None else ""
        if self.confirm(f"Delete every record of the session {self.session_label(session_id)}{size} for good? "
                        "Their text and images are removed from disk."):
            if session_id == self._session_id:
                self._set_session("")  # the search after the deletion shows the rest of the history
            if self.details.hit is not None and self.details.hit.record.session_id == session_id:
                self.details.forget_changes()
            store = self.store
            self._run("Delete history session", lambda c, p: store.delete(session=session_id),
                      "Deleted {result} record(s).")

    def delete_everything(self) -> None:
        if self.confirm("Delete the whole history for good? This cannot be undone."):
            self.details.forget_changes()
            store = self.store
            self._run("Delete all history", lambda c, p: store.delete(everything=True), "Deleted {result} record(s).")

    def import_dialog(self) -> None:
        path = self.choose_path(False)
        if path:
            from desktop.core.history.import_job import import_and_embed

            store = self.store
            self._run("Import history", lambda c, p: import_and_embed(store, path, cancel=c, progress=p),
                      import_summary)

    def export_dataset_dialog(self):
        """The fine-tuning / preference set export, with this view's model, tag, rating and search filled in."""
        from desktop.ui.datasets.dialog import ExportDialog

        dialog = ExportDialog(self.services, self.runner, filters=self.filters(), query=self.search_box.text().strip(),
                              parent=self)
        dialog.show()
        return dialog

    def export_dialog(self, ids: list[str] | None = None) -> None:
        """Export every record (``ids`` None) or the given ones to a file the user picks."""
        path = self.choose_path(True)
        if path:
            from desktop.core.history.export import export_history

            fmt = "parquet" if path.lower().endswith(".parquet") else "jsonl"
            images = path.lower().endswith(".zip")
            store = self.store
            self._run("Export history", lambda c, p: export_history(store, path, fmt=fmt, images=images, ids=ids,
                                                                    cancel=c, progress=p),
                      "Exported {result.records} records.")

    def export_selected_dialog(self) -> None:
        ids = [hit.record.id for hit in self.results.selected_hits()]
        if not ids:
            self._show_error("Select the records to export first (Ctrl- or Shift-click, Ctrl+A for all).")
            return
        self.export_dialog(ids)

    # --- dialogs (replaceable) --------------------------------------------------------
    def _confirm_dialog(self, text: str) -> bool:
        return QMessageBox.question(self, "GenLab", text) == QMessageBox.StandardButton.Yes

    def _path_dialog(self, save: bool) -> str:
        filters = "History (*.jsonl *.zip *.parquet)"
        if save:
            return QFileDialog.getSaveFileName(self, "Export history", "history.jsonl", filters)[0]
        return QFileDialog.getOpenFileName(self, "Import history", "", filters)[0]
