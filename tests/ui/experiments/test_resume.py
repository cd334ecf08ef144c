"""A stopped experiment resumes from the workspace without generating its saved cells again; a run
paused from the workspace and cancelled stays resumable."""

from __future__ import annotations

import pytest

from desktop.core.experiments.records import saved_cells
from desktop.core.experiments.runner import run_experiment, start_experiment
from desktop.core.experiments.spec import parse_spec
from desktop.core.experiments.store import ExperimentStore
from desktop.core.jobs import CancelToken
from tests.ui.experiments.conftest import text_spec


def _stopped_after_two(history, model):
    import tomllib

    experiments = ExperimentStore.beside(history)
    experiment = start_experiment(parse_spec(tomllib.loads(text_spec(model))), experiments)
    token = CancelToken()
    seen = []

    def progress(report):
        if report.payload is not None:
            seen.append(report.payload)
            if len(seen) == 2:
                token.cancel()

    summary = run_experiment(experiment.id, experiments=experiments, history=history, cancel=token,
                             progress=progress)
    assert (summary.status, summary.done) == ("stopped", 2)
    return experiment, dict(saved_cells(history, experiment.id))


@pytest.mark.slow
def test_resume_of_a_stopped_experiment_generates_only_the_missing_cells(qtbot, open_workspace, history,
                                                                         stories260k):
    experiment, before = _stopped_after_two(history, stories260k)
    w = open_workspace()
    assert w.listing.item_for(experiment.id).text(2) == "stopped"
    assert w.listing.item_for(experiment.id).text(3) == "2/4"
    with qtbot.waitSignal(w.results_shown, timeout=30000):
        w.listing.select(experiment.id)
    assert w.resume_button.isVisible()
    assert sum(1 for t in w.results.tables for _ in t.records) == 2
    with qtbot.waitSignal(w.run_finished, timeout=120000) as finished:
        w.resume_button.click()
    summary = finished.args[0]
    assert (summary.status, summary.done, summary.generated, summary.skipped) == ("finished", 4, 2, 2)
    after = saved_cells(history, experiment.id)
    assert {i: after[i] for i in before} == before  # the saved cells are the same records
    assert history.count(f"session_id = '{experiment.id}'") == 4
    qtbot.waitUntil(lambda: not w.resume_button.isVisible(), timeout=30000)


@pytest.mark.slow
def test_pause_then_cancel_stops_the_run_resumable(qtbot, open_workspace, history, stories260k):
    w = open_workspace()
    w.new_experiment()
    w.editor.set_text(text_spec(stories260k))
    with qtbot.waitSignal(w.run_started, timeout=30000):
        w.editor.run_button.click()
    w.toggle_pause()  # before the first cell: the run waits there
    assert w.pause_button.text() == "Resume"
    qtbot.waitUntil(lambda: w.status_label.text() == "Paused", timeout=60000)
    with qtbot.waitSignal(w.run_finished, timeout=60000) as finished:
        w.cancel_button.click()
    assert (finished.args[0].status, finished.args[0].done) == ("stopped", 0)
    qtbot.waitUntil(lambda: w.resume_button.isVisible(), timeout=30000)
    with qtbot.waitSignal(w.run_finished, timeout=120000) as finished:
        w.resume_button.click()
    assert (finished.args[0].status, finished.args[0].done) == ("finished", 4)
