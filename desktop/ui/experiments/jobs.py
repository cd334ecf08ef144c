"""The Experiments workspace's job functions (run by the JobRunner) and the seams they need.

Every function here is plain long work: it takes its inputs and ``cancel`` /
``progress`` and returns a small dataclass, so the workspace only submits
jobs and takes their results by signal.  The run itself is
:func:`~desktop.core.experiments.runner.run_experiment` on the app's shared
engines: :class:`SharedTextEngine` lends the one text engine to the run
(its records go to the run's sink, and closing the run does not close the
app's engine), and the shared image engine is passed as it is.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desktop.core.experiments.control import RunToken
from desktop.core.experiments.errors import SpecError
from desktop.core.jobs import CancelToken, JobCancelled
from desktop.core.records import GenerationRecord


class LinkedRunToken(RunToken):
    """A :class:`RunToken` that is also cancelled when the job's own token is (the Jobs panel's
    Cancel, the app quitting), so the run stops whichever way it was asked to."""

    def __init__(self) -> None:
        super().__init__()
        self.outer: CancelToken | None = None

    @property
    def cancelled(self) -> bool:
        outer = self.outer
        if outer is not None and outer.cancelled and not super().cancelled:
            self.cancel(outer.reason)
        return super().cancelled

    def raise_if_cancelled(self) -> None:
        if self.cancelled:
            raise JobCancelled()

    def wait(self, timeout: float) -> bool:
        return self.cancelled or super().wait(timeout) or self.cancelled

    def wait_while_paused(self, poll: float = 0.2) -> None:
        while self.paused and not self.cancelled:
            self._running.wait(poll)


class SharedTextEngine:
    """The app's text engine as a run's engine: records go to ``sink``, ``close`` leaves it open."""

    def __init__(self, engine, sink) -> None:
        self.engine = engine
        self.sink = sink

    def load(self, path, options=None, **kwargs: Any):
        return self.engine.load(path, options, **kwargs)

    def generate(self, request, **kwargs: Any):
        return self.engine.generate(request, sink=self.sink, **kwargs)

    def close(self) -> None:
        """The engine is the app's; the loaded model stays for Chat."""


@dataclass(frozen=True)
class ExperimentRow:
    """An experiment as the list shows it."""

    experiment: Any  # desktop.core.experiments.store.Experiment
    done: int

    @property
    def failed(self) -> int:
        return len(self.experiment.failures)


@dataclass(frozen=True)
class CheckResult:
    """A spec that parsed, its plan and the time estimate."""

    spec: Any  # ExperimentSpec
    plan: Any  # Plan
    estimate: Any  # Estimate

    @property
    def summary(self) -> str:
        loads = self.plan.model_loads
        return (f"{self.plan.cell_count} cells, {loads} model load{'s' if loads != 1 else ''}, "
                f"{self.estimate.summary}.")


@dataclass
class Results:
    """An experiment with its planned cells and the records saved so far (cell index -> record)."""

    experiment: Any
    spec: Any
    cells: list = field(default_factory=list)
    records: dict[int, GenerationRecord] = field(default_factory=dict)


def open_experiments_job(services, *, cancel, progress):
    """The history store and the experiments beside it (opens both on first use)."""
    from desktop.core.experiments.store import ExperimentStore

    history = services.history_store
    return history, ExperimentStore.beside(history)


def list_job(history, experiments, *, cancel, progress) -> list[ExperimentRow]:
    from desktop.core.experiments.records import saved_cells

    return [ExperimentRow(e, len(saved_cells(history, e.id))) for e in experiments.list()]


def parse_text(text: str, base_dir: Path | None):
    """The spec in the editor's TOML text; a SpecError in words for a bad one."""
    from desktop.core.experiments.spec import parse_spec

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"The spec is not valid TOML: {exc}.", "Fix the line it names.") from exc
    return parse_spec(data, base_dir=base_dir)


def check_job(text: str, base_dir: Path | None, history, *, cancel, progress) -> CheckResult:
    from desktop.core.experiments.estimate import estimate_plan
    from desktop.core.experiments.plan import plan_cells

    spec = parse_text(text, base_dir)
    plan = plan_cells(spec)
    # From this machine's recorded speeds only: measuring the memory bandwidth takes seconds.
    return CheckResult(spec, plan, estimate_plan(plan, history))


def create_job(spec, experiments, *, cancel, progress):
    from desktop.core.experiments.runner import start_experiment

    return start_experiment(spec, experiments)


def run_job(services, history, experiments, experiment_id: str, token: LinkedRunToken, *, cancel, progress):
    """Run (or resume) the experiment on the shared engines; a cancel stops it resumable."""
    from desktop.core.experiments.runner import run_experiment
    from desktop.core.text.engine import LoadOptions

    token.outer = cancel
    text = services.settings.text
    load = LoadOptions(n_ctx=text.context_size, n_threads=text.threads, n_gpu_layers=text.n_gpu_layers)
    kind = experiments.get(experiment_id).kind
    kwargs: dict[str, Any] = {}
    if kind == "image":
        kwargs["image_engine"] = services.image_engine
    else:
        engine = services.text_engine
        kwargs["text_engine_factory"] = lambda sink: SharedTextEngine(engine, sink)
    return run_experiment(experiment_id, experiments=experiments, history=history, cancel=token, progress=progress,
                          default_load=load, image_settings=services.settings.image, **kwargs)


def results_job(history, experiments, experiment_id: str, *, cancel, progress) -> Results:
    from desktop.core.experiments.plan import plan_cells
    from desktop.core.experiments.records import CellTag, experiment_records

    experiment = experiments.get(experiment_id)
    spec = experiment.parsed_spec(check_models=False)
    cells = plan_cells(spec, resolve=Path).cells  # placing cells needs no model file
    records: dict[int, GenerationRecord] = {}
    for record in experiment_records(history, experiment.id):
        tag = CellTag.of(record)
        if tag is not None:
            records.setdefault(tag.cell, record)
    return Results(experiment, spec, cells, records)


def rate_job(history, record_id: str, rating: int, *, cancel, progress) -> GenerationRecord:
    return history.update(record_id, rating=rating)


def annotate_job(history, record_id: str, tags: list[str], note: str, *, cancel, progress) -> GenerationRecord:
    return history.update(record_id, tags=tags, note=note)
