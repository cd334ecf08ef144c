"""The run lock: one run of an experiment at a time, a killed run reads as interrupted, and a
delete waits for no run and leaves no lock file behind."""

from __future__ import annotations

import pytest

from desktop.core.experiments.errors import ExperimentBusy
from desktop.core.experiments.runner import run_experiment, start_experiment
from desktop.core.experiments.spec import parse_spec
from desktop.core.experiments.store import FINISHED, INTERRUPTED, RUNNING, ExperimentStore


def spec(model):
    return parse_spec({"name": "locked", "kind": "text", "fixed": {"max_tokens": 4, "seed": 1, "mode": "completion"},
                       "axes": {"model": [str(model)], "prompt": ["Once upon a time"]}})


@pytest.mark.slow
def test_a_second_run_of_a_running_experiment_is_refused_and_the_first_can_still_finish(
        stories260k, experiments, history, counting):
    experiment = start_experiment(spec(stories260k), experiments)
    held = experiments.hold_run(experiment)  # a run in progress (another window or terminal)
    assert held is not None
    try:
        assert experiments.get(experiment.id).status == RUNNING
        with pytest.raises(ExperimentBusy) as refused:
            run_experiment(experiment.id, experiments=experiments, history=history, text_engine_factory=counting)
        assert "already running" in refused.value.message and counting.generations == 0
        with pytest.raises(ExperimentBusy):
            experiments.delete(experiment.id)
        assert experiments.get(experiment.id).id == experiment.id  # nothing was deleted
    finally:
        held.release(remove=True)
    summary = run_experiment(experiment.id, experiments=experiments, history=history, text_engine_factory=counting)
    assert summary.status == FINISHED and counting.generations == 1
    assert not experiments.run_lock_path(experiment.id).exists()  # the run took its lock file away


def test_a_running_row_with_no_run_behind_it_reads_as_interrupted_and_delete_removes_its_lock_file(
        stories260k, history, tmp_path):
    experiments = ExperimentStore.beside(history)
    experiment = start_experiment(spec(stories260k), experiments)
    lock = experiments.run_lock_path(experiment.id)
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_bytes(b"")  # what a killed run leaves: the file, but no lock on it
    assert experiments.get(experiment.id).status == INTERRUPTED
    assert [e.status for e in ExperimentStore.beside(history).list()] == [INTERRUPTED]
    assert experiments.delete(experiment.id)
    assert not lock.exists()
