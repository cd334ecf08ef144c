"""Running an experiment: every cell not yet in the history, grouped by model, one load per group.

    experiment = start_experiment(load_spec(path), experiments)          # stored, nothing run yet
    summary = run_experiment(experiment.id, experiments=experiments, history=history,
                             cancel=RunToken(), progress=callback)        # a job function

:func:`run_experiment` is also the resume: the cells already saved in the
history (:func:`~desktop.core.experiments.records.saved_cells`) are skipped,
so after a crash, a kill -9 or a cancel no saved cell is generated again.
Cells that failed before are tried again.  A cell that fails (a bad value, out
of memory) is recorded in the experiment with its error and the run goes on;
a model that fails to load fails its cells.  Records are saved through the
history's single writer without waiting for each one, so the run is not
held back by the disk; the run waits for them all before it reports.

Progress: after every cell, a :class:`~desktop.core.jobs.Progress` whose
``payload`` is a :class:`RunProgress` (cells done, failed and total, ETA).
With a :class:`~desktop.core.experiments.control.RunToken` the run pauses
between cells.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Callable

from desktop.core.experiments.cells import CellEngine, ImageCells, TextCells
from desktop.core.experiments.control import RunToken
from desktop.core.experiments.params import TEXT
from desktop.core.experiments.plan import Cell, ModelGroup, plan_cells
from desktop.core.experiments.records import CellSink, CellTag, saved_cells
from desktop.core.experiments.spec import ExperimentSpec
from desktop.core.experiments.store import FINISHED, RUNNING, STOPPED, Experiment, ExperimentStore
from desktop.core.jobs import CancelToken, JobCancelled, Progress, ProgressCallback, no_progress
from desktop.core.records import utc_now

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunProgress:
    """Where a run stands, after a cell (the payload of its progress reports)."""

    done: int  # cells with a record, from this run and before
    failed: int
    total: int
    eta_s: float | None  # None until a cell has been timed
    cell: Cell | None = None
    error: str = ""  # the cell's error when it failed


@dataclass
class RunSummary:
    """What a run did."""

    experiment_id: str
    status: str
    total: int
    done: int  # cells saved in the history, all runs together
    failed: dict[int, str] = field(default_factory=dict)
    generated: int = 0  # cells generated and saved by this run
    skipped: int = 0  # cells already saved before this run
    model_loads: int = 0


def start_experiment(spec: ExperimentSpec, experiments: ExperimentStore, *, name: str | None = None) -> Experiment:
    """Store a new experiment for ``spec``; run it with :func:`run_experiment`."""
    return experiments.create(spec, name=name)


class _Saves:
    """The records queued by a run: which cells are on disk and which saves failed (writer thread)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pending: list[Future] = []
        self.saved: set[int] = set()
        self.failed: dict[int, str] = {}

    def queued(self, tag: CellTag, future: Future) -> None:
        def done(f: Future) -> None:
            with self.lock:
                if f.exception() is None:
                    self.saved.add(tag.cell)
                else:
                    self.failed[tag.cell] = f"Not saved to the history: {f.exception()}"
        with self.lock:
            self.pending.append(future)
        future.add_done_callback(done)

    def wait(self) -> None:
        for future in list(self.pending):
            try:
                future.result(timeout=120)
            except Exception:  # reported through failed
                pass


def run_experiment(experiment_id: str, *, experiments: ExperimentStore, history, cancel: CancelToken | None = None,
                   progress: ProgressCallback = no_progress, text_engine_factory: Callable[[Any], Any] | None = None,
                   image_engine=None, default_load=None, image_settings=None) -> RunSummary:
    """Generate every cell of the experiment not yet saved in ``history``; a job function.

    ``history``: the :class:`~desktop.core.history.store.HistoryStore` the cells go to.
    ``text_engine_factory(sink)``: builds the text engine (a ``TextEngine`` by default);
    ``image_engine``: an ``ImageEngine`` to use (one is made and closed here by default).
    ``default_load`` (text LoadOptions) and ``image_settings`` (ImageSettings): the app's
    settings for what the spec leaves unset.  Returns the :class:`RunSummary`;
    a cancel ends the run with status ``stopped`` (resumable), not an exception.
    """
    cancel = cancel or CancelToken()
    experiment = experiments.get(experiment_id)
    run_lock = experiments.hold_run(experiment)  # ExperimentBusy: another run has it
    try:
        return _run(experiment, experiments=experiments, history=history, cancel=cancel, progress=progress,
                    text_engine_factory=text_engine_factory, image_engine=image_engine,
                    default_load=default_load, image_settings=image_settings)
    finally:
        if run_lock is not None:
            run_lock.release(remove=True)


def _run(experiment: Experiment, *, experiments: ExperimentStore, history, cancel: CancelToken,
         progress: ProgressCallback, text_engine_factory, image_engine, default_load, image_settings) -> RunSummary:
    # Checked when it was created; a model gone since then fails its own cells, not the whole run.
    plan = plan_cells(experiment.parsed_spec(check_models=False))
    already = saved_cells(history, experiment.id)
    saves = _Saves()
    sink = CellSink(history, saves.queued)
    engine: CellEngine
    if plan.spec.kind == TEXT:
        engine = TextCells(sink, engine_factory=text_engine_factory, default_load=default_load)
    else:
        engine = ImageCells(sink, engine=image_engine, image_settings=image_settings)
    engine.experiment_id = experiment.id
    summary = RunSummary(experiment.id, RUNNING, plan.cell_count, len(already), skipped=len(already))
    failures = {i: e for i, e in experiment.failures.items() if i not in already}
    experiment.status, experiment.finished_at, experiment.failures = RUNNING, None, failures
    experiments.save(experiment)
    pending = [(g, [c for c in g.cells if c.index not in already]) for g in plan.groups]
    todo = sum(len(cells) for _, cells in pending)
    timer = _Eta(todo)
    stopped = False
    try:
        for group, cells in pending:
            if not cells:
                continue
            if not _load(engine, group, cells, experiment, failures, cancel, progress):
                if cancel.cancelled:
                    stopped = True
                    break
                experiments.save(experiment)
                continue
            summary.model_loads += 1
            for cell in cells:
                if isinstance(cancel, RunToken) and cancel.paused:
                    progress(Progress(None, "Paused"))
                    cancel.wait_while_paused()
                if cancel.cancelled:
                    stopped = True
                    break
                error = _run_cell(engine, sink, experiment, cell, cancel)
                if error is CANCELLED:
                    stopped = True  # stopped mid-cell: nothing of it was kept
                    break
                timer.one_done()
                if error is None:
                    failures.pop(cell.index, None)
                    summary.generated += 1
                else:
                    failures[cell.index] = error
                    experiments.save(experiment)
                done = len(already) + summary.generated
                progress(Progress((done + len(failures)) / max(1, plan.cell_count),
                                  f"Cell {done + len(failures)}/{plan.cell_count}" + timer.text(),
                                  done + len(failures), plan.cell_count,
                                  payload=RunProgress(done, len(failures), plan.cell_count, timer.eta(), cell,
                                                      error or "")))
            if stopped:
                break
    finally:
        engine.close()
        saves.wait()
        for index, error in saves.failed.items():
            failures[index] = error
        final = saved_cells(history, experiment.id)
        summary.done = len(final)
        summary.generated = len(final) - len(already)
        for index in final:
            failures.pop(index, None)
        summary.failed = dict(sorted(failures.items()))
        finished = not stopped and summary.done + len(failures) >= plan.cell_count
        experiment.status = FINISHED if finished else STOPPED
        experiment.finished_at = utc_now() if finished else None
        experiment.failures = summary.failed
        summary.status = experiment.status
        experiments.save(experiment)
    return summary


def _load(engine: CellEngine, group: ModelGroup, cells: list[Cell], experiment: Experiment,
          failures: dict[int, str], cancel: CancelToken, progress: ProgressCallback) -> bool:
    """Load the group's model; on failure every cell of the group fails with the error."""
    try:
        engine.load(group, cancel=cancel, progress=progress)
        return True
    except JobCancelled:
        return False
    except Exception as exc:  # a bad model file fails its cells; the sweep goes on
        log.warning("experiment %s: could not load %s: %s", experiment.id, group.model, exc)
        for cell in cells:
            failures[cell.index] = f"Could not load the model {group.path.name}: {exc}"
        experiment.failures = failures
        return False


CANCELLED = "cancelled"  # _run_cell's outcome for a cell stopped before its record was made


def _run_cell(engine: CellEngine, sink: CellSink, experiment: Experiment, cell: Cell,
              cancel: CancelToken) -> str | None:
    """Generate one cell: None when its record was queued, CANCELLED, or the error as text."""
    sink.current = CellTag(experiment.id, experiment.name, cell.index, cell.repeat, cell.coords)
    sink.produced = 0
    try:
        engine.run(cell, cancel=cancel, progress=no_progress)
        return None if sink.produced else "The engine made no record for this cell."
    except JobCancelled:
        return CANCELLED
    except Exception as exc:  # out of memory, a value the engine refuses: recorded, the run goes on
        log.warning("experiment %s: cell %d failed: %s", experiment.id, cell.index, exc)
        return str(exc) or type(exc).__name__
    finally:
        sink.current = None


class _Eta:
    """Remaining time from the mean time of the cells this run has generated."""

    def __init__(self, todo: int) -> None:
        self.todo = todo
        self.count = 0
        self.start = time.monotonic()

    def one_done(self) -> None:
        self.count += 1

    def eta(self) -> float | None:
        if not self.count:
            return None
        return (time.monotonic() - self.start) / self.count * max(0, self.todo - self.count)

    def text(self) -> str:
        eta = self.eta()
        return "" if eta is None else f" · ETA {eta:.0f} s"
