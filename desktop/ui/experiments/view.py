"""The Experiments workspace (Ctrl+5): design a sweep, run it unattended, compare and rate its cells.

Left: "New experiment" and the list of experiments with their status (running,
stopped, finished), cells done of total and failed cells.  Right: an empty
state with a call to action while there is no experiment; the spec editor
(TOML, Open spec… / Save spec…, Check shows cells, model loads and the time
estimate or the spec's error); or the selected experiment: its progress
(cells done / total with ETA), Pause / Resume / Cancel while it runs,
Resume for a stopped one, and its results (``results.py``) with a Summary
tab beside them (``summary.py``: mean rating and speed per axis value).

The history store and the experiments beside it are opened by an ``io`` job
(``Services.history_store``); checking, creating, listing, reading records
and rating are ``io`` jobs; a run is ONE ``engine`` job calling
:func:`~desktop.core.experiments.runner.run_experiment` on the app's shared
text or image engine, so the Jobs panel and the status bar show it and the
one engine slot is respected.  Progress reaches the workspace by the job's
signals only; after each finished cell the records are read again (debounced)
and the cells fill in.  Cells saved before a stop are never generated again
by Resume (the core skips them).

Export… writes the selected experiment's cells to CSV or Parquet; Delete…
asks whether its records go too (``manage.py``, both ``io`` jobs).

Hooks (replaceable in tests): ``editor.choose_path``, ``choose_png_path``,
``actions.choose_export_path``, ``actions.ask_delete``.

Signals:
    status_message(str): a line for the status bar.
    experiments_listed(int): the list was read (how many experiments).
    checked(object): a Check or Run parsed the spec (the CheckResult).
    check_failed(str): the spec's error, as shown under the editor.
    run_started(str): an experiment's run job was queued (its id).
    run_progressed(object): a RunProgress of the running experiment.
    run_finished(object): the RunSummary of an ended run (finished or stopped).
    results_shown(object): the Results of the selected experiment were (re)displayed.
    record_rated(object): a record's new rating is saved (the updated GenerationRecord).
    record_annotated(object): a record's new tags and note are saved (the updated GenerationRecord).
    grid_saved(str): "Save grid as PNG" wrote this file.
    show_in_history_requested(str): list this experiment's records (its session id) in History.
    experiment_exported(str): Export… wrote this file.
    experiment_deleted(str): Delete… deleted the experiment with this id (and its records if asked).
"""

from __future__ import annotations

import functools
import logging

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.core.experiments.runner import RunProgress
from desktop.core.experiments.store import RESUMABLE, RUNNING
from desktop.core.jobs import Job
from desktop.ui import theme
from desktop.ui.experiments import jobs
from desktop.ui.experiments.editor import SpecEditor
from desktop.ui.experiments.listing import ExperimentList
from desktop.ui.experiments.manage import ExperimentActions
from desktop.ui.experiments.results import ResultsPane
from desktop.ui.experiments.summary import SummaryPanel
from desktop.ui.icons import icon
from desktop.ui.widgets import EmptyState

log = logging.getLogger(__name__)
REFRESH_MS = 250  # a burst of finished cells becomes one read of the records
EMPTY, EDITOR, EXPERIMENT = range(3)


class ExperimentsWorkspace(QWidget):
    status_message = Signal(str)
    experiments_listed = Signal(int)
    checked = Signal(object)
    check_failed = Signal(str)
    run_started = Signal(str)
    run_progressed = Signal(object)
    run_finished = Signal(object)
    results_shown = Signal(object)
    record_rated = Signal(object)
    record_annotated = Signal(object)
    grid_saved = Signal(str)
    show_in_history_requested = Signal(str)
    experiment_exported = Signal(str)
    experiment_deleted = Signal(str)

    def __init__(self, services, runner, parent=None) -> None:
        super().__init__(parent)
        self.services = services
        self.runner = runner
        self.history = None
        self.experiments = None
        self.token: jobs.LinkedRunToken | None = None
        self.run_handle = None
        self.running_id: str | None = None
        self.selected_id: str | None = None
        self._pending: list = []  # actions waiting for the stores to open
        self._refresh = QTimer(self, singleShot=True, interval=REFRESH_MS)
        self._refresh.timeout.connect(self._read_results)

        self.new_button = QPushButton(icon("plus"), "New experiment")
        self.new_button.clicked.connect(self.new_experiment)
        self.listing = ExperimentList()
        self.listing.selected.connect(self.select_experiment)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(theme.SPACE_M, theme.SPACE_M, 0, theme.SPACE_M)
        left_layout.addWidget(self.new_button)
        left_layout.addWidget(self.listing, 1)

        self.empty = EmptyState("sliders-horizontal", "No experiments yet",
                                "Sweep prompts, models, seeds and parameters, run every combination "
                                "unattended, then compare the results side by side and rate them.",
                                "New experiment", action_icon="plus")
        self.empty.action_requested.connect(self.new_experiment)
        self.editor = SpecEditor()
        self.editor.check_requested.connect(self.check)
        self.editor.run_requested.connect(self.generate)
        self.editor.message.connect(self.status_message)

        self.title = QLabel()
        theme.set_role(self.title, "subtitle")
        self.status_label = QLabel()
        self.status_label.setObjectName("runStatus")
        theme.set_role(self.status_label, "muted")
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.pause_button = QPushButton("Pause")
        self.pause_button.clicked.connect(self.toggle_pause)
        self.cancel_button = QPushButton(icon("stop"), "Cancel")
        self.cancel_button.clicked.connect(self.stop)
        self.resume_button = QPushButton(icon("play"), "Resume")
        self.resume_button.setToolTip("Generate the cells not saved yet; saved cells are kept")
        self.resume_button.clicked.connect(self.resume_selected)
        self.history_button = QPushButton(icon("clock-counter-clockwise"), "Show in History")
        self.history_button.setToolTip("List this experiment's records in History (search, export, delete)")
        self.history_button.clicked.connect(self._show_in_history)
        self.actions = ExperimentActions(self, lambda name, fn, on_done: self._io(name, fn, on_done))
        self.actions.message.connect(self.status_message)
        self.actions.exported.connect(lambda path, _rows: self.experiment_exported.emit(path))
        self.actions.deleted.connect(self._deleted)
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Write one row per cell (axis values, output, rating, speeds) to CSV or Parquet")
        self.export_button.clicked.connect(self.export_selected)
        self.delete_button = QPushButton(icon("trash"), "Delete…")
        self.delete_button.setToolTip("Delete this experiment, and its records too if you choose")
        self.delete_button.clicked.connect(self.delete_selected)
        self.results = ResultsPane()
        self.results.rate_requested.connect(self.rate)
        self.results.annotate_requested.connect(self.annotate)
        self.results.save_grid_requested.connect(self.save_grid)
        controls = QHBoxLayout()
        controls.addWidget(self.status_label, 1)
        for b in (self.pause_button, self.cancel_button, self.resume_button, self.history_button,
                  self.export_button, self.delete_button):
            controls.addWidget(b)
        page = QWidget()
        page_layout = QVBoxLayout(page)
        page_layout.setContentsMargins(0, 0, 0, 0)
        page_layout.addWidget(self.title)
        page_layout.addLayout(controls)
        page_layout.addWidget(self.progress)
        self.summary = SummaryPanel()
        self.result_tabs = QTabWidget()
        self.result_tabs.setDocumentMode(True)
        self.result_tabs.addTab(self.results, "Cells")
        self.result_tabs.addTab(self.summary, "Summary")
        page_layout.addWidget(self.result_tabs, 1)

        self.pages = QStackedWidget()
        for widget in (self.empty, self.editor, page):
            self.pages.addWidget(widget)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, theme.SPACE_M, theme.SPACE_M, theme.SPACE_M)
        right_layout.addWidget(self.pages)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(1, 1)
        split.setSizes([260, 940])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(split)
        self._update_controls()
        self._open_stores()

    # --- stores and the list ------------------------------------------------------------------
    def _io(self, name: str, fn, on_done=None, on_failed=None):
        handle = self.runner.submit(Job(name, fn, kind="io", reports_failure=True))
        if on_done is not None:
            handle.finished.connect(on_done)
        handle.failed.connect(lambda message, _tb: (on_failed or self._show_error)(message))
        return handle

    def _open_stores(self) -> None:
        self._io("Opening experiments", functools.partial(jobs.open_experiments_job, self.services), self._opened)

    def _opened(self, stores) -> None:
        self.history, self.experiments = stores
        self.refresh_list()
        pending, self._pending = self._pending, []
        for action in pending:
            action()

    def _when_open(self, action) -> None:
        if self.experiments is None:
            self._pending.append(action)
        else:
            action()

    def refresh_list(self) -> None:
        if self.experiments is None:
            return
        self._io("List experiments", functools.partial(jobs.list_job, self.history, self.experiments), self._listed)

    def _listed(self, rows) -> None:
        self.listing.show_rows(rows, keep=self.selected_id)
        if self.running_id is not None:
            self.listing.update_row(self.running_id, status="paused" if self._paused() else RUNNING)
        if not rows and self.pages.currentIndex() != EDITOR:
            self.pages.setCurrentIndex(EMPTY)
        elif rows and self.pages.currentIndex() == EMPTY:
            self.pages.setCurrentIndex(EDITOR)
        self.experiments_listed.emit(len(rows))

    def _show_error(self, message: str) -> None:
        self.status_message.emit(message)

    # --- editor: check and run ----------------------------------------------------------------
    def new_experiment(self) -> None:
        self.listing.clearSelection()
        self.selected_id = None
        self.pages.setCurrentIndex(EDITOR)
        self.editor.text_edit.setFocus()

    def check(self, then=None) -> None:
        text, base = self.editor.text(), self.editor.base_dir

        def start() -> None:
            self.editor.show_plan("Checking…")
            self._io("Check experiment", functools.partial(jobs.check_job, text, base, self.history),
                     lambda result: self._checked(result, then), self._check_failed)

        self._when_open(start)

    def _checked(self, result: jobs.CheckResult, then) -> None:
        self.editor.show_plan(result.summary)
        self.checked.emit(result)
        if then is not None:
            then(result)

    def _check_failed(self, message: str) -> None:
        self.editor.show_error(message)
        self.check_failed.emit(message)

    def generate(self) -> None:
        """Run the spec in the editor (Ctrl+Enter); on an experiment's page, resume it."""
        if self.pages.currentIndex() == EXPERIMENT:
            self.resume_selected()
            return
        if self._refuse_run():
            return
        self.check(then=self._create)

    def _refuse_run(self) -> bool:
        if self.services.settings.history.incognito:
            self._check_failed("Incognito is on, and every cell of an experiment is a history record. "
                               "Turn incognito off to run experiments.")
            return True
        if self.run_handle is not None:
            self._check_failed("An experiment is running; cancel it or wait for it to end first.")
            return True
        return False

    def _create(self, result: jobs.CheckResult) -> None:
        self._io("Create experiment", functools.partial(jobs.create_job, result.spec, self.experiments),
                 lambda experiment: self.start_run(experiment.id, experiment.name), self._check_failed)

    def resume_selected(self) -> None:
        if self.selected_id is not None and not self._refuse_run():
            results = self.results.results
            name = results.experiment.name if results is not None and results.experiment.id == self.selected_id else ""
            self.start_run(self.selected_id, name)

    def start_run(self, experiment_id: str, name: str = "") -> None:
        """Queue the run (or resume) of ``experiment_id`` as one engine job and show it."""
        self.token = jobs.LinkedRunToken()
        self.running_id = experiment_id
        fn = functools.partial(jobs.run_job, self.services, self.history, self.experiments, experiment_id,
                               self.token)
        name = f"Experiment: {name}" if name else "Experiment"
        handle = self.runner.submit(Job(name, fn, kind="engine", reports_failure=True))
        self.run_handle = handle
        handle.progressed.connect(self._run_progress)
        handle.finished.connect(self._run_finished)
        handle.failed.connect(lambda message, _tb: self._run_failed(message))
        handle.cancelled.connect(lambda: self._run_failed("The experiment was cancelled before it started."))
        handle.ended.connect(self._run_ended)
        self.selected_id = experiment_id
        self.progress.setValue(0)
        self.status_label.setText("Queued…")
        self.pages.setCurrentIndex(EXPERIMENT)
        self.refresh_list()
        self._read_results()
        self._update_controls()
        self.run_started.emit(experiment_id)

    def _run_progress(self, reports: list) -> None:
        for report in reports:
            payload = report.payload
            if isinstance(payload, RunProgress):
                self.progress.setRange(0, max(1, payload.total))
                self.progress.setValue(payload.done + payload.failed)
                self.progress.setFormat("%v / %m cells")
                eta = f" · ETA {payload.eta_s:.0f} s" if payload.eta_s is not None else ""
                failed = f", {payload.failed} failed" if payload.failed else ""
                self.status_label.setText(f"{payload.done + payload.failed} of {payload.total} cells{failed}{eta}")
                if self.running_id is not None:
                    self.listing.update_row(self.running_id, done=payload.done, total=payload.total,
                                            failed=payload.failed)
                self.run_progressed.emit(payload)
                if self.selected_id == self.running_id:
                    self._refresh.start()
            elif report.message:
                self.status_label.setText(report.message)

    def _run_finished(self, summary) -> None:
        failed = f", {len(summary.failed)} failed" if summary.failed else ""
        line = f"{summary.status.capitalize()}: {summary.done} of {summary.total} cells{failed}."
        self.status_label.setText(line)
        self.status_message.emit(f"Experiment {line[0].lower()}{line[1:]}")
        self.run_finished.emit(summary)

    def _run_failed(self, message: str) -> None:
        self.status_label.setText(message)
        self.status_message.emit(message)

    def _run_ended(self) -> None:
        self.run_handle = None
        self.token = None
        self.running_id = None
        self.refresh_list()
        self._read_results()
        self._update_controls()

    def _paused(self) -> bool:
        return self.token is not None and self.token.paused

    def toggle_pause(self) -> None:
        if self.token is None:
            return
        if self.token.paused:
            self.token.resume()
            self.status_label.setText("Resumed.")
        else:
            self.token.pause()
            self.status_label.setText("Pausing after the cell being generated…")
        if self.running_id is not None:
            self.listing.update_row(self.running_id, status="paused" if self.token.paused else RUNNING)
        self._update_controls()

    def stop(self) -> None:
        """Cancel the running experiment (Esc); it stays resumable."""
        if self.token is not None:
            self.token.cancel()
        if self.run_handle is not None:
            self.run_handle.cancel()

    def _update_controls(self) -> None:
        running_here = self.run_handle is not None and self.selected_id == self.running_id
        self.pause_button.setVisible(running_here)
        self.cancel_button.setVisible(running_here)
        self.pause_button.setText("Resume" if self._paused() else "Pause")
        self.pause_button.setIcon(icon("play" if self._paused() else "stop"))
        results = self.results.results
        status = results.experiment.status if results is not None else ""
        resumable = status in RESUMABLE or (results is not None and bool(results.experiment.failures))
        self.resume_button.setVisible(not running_here and self.run_handle is None and resumable)
        self.progress.setVisible(running_here or results is not None)
        self.editor.set_busy(False)

    # --- the selected experiment ----------------------------------------------------------------
    def select_experiment(self, experiment_id: str) -> None:
        self.selected_id = experiment_id
        self.pages.setCurrentIndex(EXPERIMENT)
        if self.results.experiment_id != experiment_id:
            self.title.setText("")
            self.status_label.setText("Reading…")
        self._read_results()
        self._update_controls()

    def _read_results(self) -> None:
        experiment_id = self.selected_id
        if experiment_id is None or self.experiments is None:
            return
        self._io("Read experiment", functools.partial(jobs.results_job, self.history, self.experiments,
                                                      experiment_id), self._results_read)

    def _results_read(self, results: jobs.Results) -> None:
        if results.experiment.id != self.selected_id:
            return  # another experiment was picked meanwhile
        self.results.show_results(results)
        self.summary.show_results(results)
        e = results.experiment
        self.title.setText(f"{e.name} · {e.kind} · {e.cell_count} cells")
        if self.running_id != e.id:
            done, failed = len(results.records), len(e.failures)
            self.progress.setRange(0, max(1, e.cell_count))
            self.progress.setValue(done + failed)
            self.progress.setFormat("%v / %m cells")
            failed_text = f", {failed} failed" if failed else ""
            self.status_label.setText(f"{e.status.capitalize()}: {done} of {e.cell_count} cells{failed_text}.")
        self._update_controls()
        self.results_shown.emit(results)

    def _show_in_history(self) -> None:
        if self.selected_id is not None:
            self.show_in_history_requested.emit(self.selected_id)

    # --- rating, tags and notes, and the grid image ----------------------------------------------
    def rate(self, record_id: str, rating: int) -> None:
        if self.history is None:
            return
        self._io("Rate cell", functools.partial(jobs.rate_job, self.history, record_id, rating),
                 lambda record: self._record_changed(record, self.record_rated))

    def annotate(self, record_id: str, tags: list, note: str) -> None:
        """Save a cell's tags and note on its history record (History's own fields)."""
        if self.history is None:
            return
        self._io("Tag cell", functools.partial(jobs.annotate_job, self.history, record_id, tags, note),
                 lambda record: self._record_changed(record, self.record_annotated))

    def _record_changed(self, record, signal) -> None:
        self.results.update_record(record)
        if self.results.results is not None:
            self.summary.show_results(self.results.results)
        signal.emit(record)

    def choose_png_path(self) -> str:
        return QFileDialog.getSaveFileName(self, "Save grid as PNG", "grid.png", "PNG images (*.png)")[0]

    def save_grid(self) -> None:
        results, layout, table = self.results.results, self.results.layout_, self.results.current_table()
        if results is None or layout is None or table is None:
            return
        path = self.choose_png_path()
        if not path:
            return
        from desktop.ui.experiments.grid_png import save_grid_job

        self._io("Save grid image", functools.partial(save_grid_job, results, layout, table.tab, path),
                 lambda saved: (self.status_message.emit(f"Saved the grid to {saved}."), self.grid_saved.emit(saved)))

    # --- export and delete ----------------------------------------------------------------------
    def _selected_results(self):
        results = self.results.results
        return results if results is not None and results.experiment.id == self.selected_id else None

    def export_selected(self) -> None:
        results = self._selected_results()
        if results is not None:
            self.actions.export(self.experiments, self.history, results.experiment.id, results.experiment.name)

    def delete_selected(self) -> None:
        results = self._selected_results()
        if results is None:
            return
        if self.run_handle is not None and self.running_id == results.experiment.id:
            self.status_message.emit("This experiment is running; cancel it before deleting it.")
            return
        self.actions.delete(self.experiments, self.history, results.experiment.id, results.experiment.name,
                            len(results.records))

    def _deleted(self, experiment_id: str, _records: int) -> None:
        if self.selected_id == experiment_id:
            self.selected_id = None
            self.pages.setCurrentIndex(EMPTY)  # the list read next shows the editor if any experiment is left
        self.refresh_list()
        self.experiment_deleted.emit(experiment_id)
