"""Running sweeps on the real text engine: one load per model, every cell a tagged history record,
failed cells recorded, cancel and resume, pause, and cells that re-run to the same text."""

from __future__ import annotations

import threading

import pytest

from desktop.core.experiments.control import RunToken
from desktop.core.experiments.records import CellTag, experiment_records
from desktop.core.experiments.runner import RunProgress, run_experiment, start_experiment
from desktop.core.experiments.spec import parse_spec
from desktop.core.experiments.store import FINISHED, STOPPED

# the slow set: most tests here load a real model or pipeline, or spawn processes
pytestmark = pytest.mark.slow


def text_spec(models, *, prompts=("Once upon a time", "The little dog"), temperatures=(0.0, 0.7), **fixed):
    return parse_spec({"name": "sweep", "kind": "text",
                       "fixed": {"max_tokens": 8, "seed": 7, "mode": "completion", **fixed},
                       "axes": {"model": [str(m) for m in models], "temperature": list(temperatures),
                                "prompt": list(prompts)}})


def run(experiment, experiments, history, counting, **kwargs):
    return run_experiment(experiment.id, experiments=experiments, history=history,
                          text_engine_factory=counting, **kwargs)


def test_a_sweep_saves_one_tagged_record_per_cell_and_loads_the_model_once(
        stories260k, experiments, history, counting):
    experiment = start_experiment(text_spec([stories260k]), experiments)
    reports: list[RunProgress] = []
    summary = run(experiment, experiments, history, counting, progress=lambda p: reports.append(p.payload)
                  if isinstance(p.payload, RunProgress) else None)
    assert summary.status == FINISHED and summary.done == summary.total == 4 and not summary.failed
    assert summary.model_loads == counting.loads == 1 and counting.generations == 4
    assert [(r.done, r.total) for r in reports] == [(1, 4), (2, 4), (3, 4), (4, 4)]
    records = experiment_records(history, experiment.id)
    assert len(records) == history.count() == 4
    tags = [CellTag.of(r) for r in records]
    assert [t.cell for t in tags] == [0, 1, 2, 3]
    assert [(t.coords["temperature"], t.coords["prompt"]) for t in tags] == [
        (0.0, "Once upon a time"), (0.0, "The little dog"), (0.7, "Once upon a time"), (0.7, "The little dog")]
    for record, tag in zip(records, tags):
        assert record.session_id == experiment.id and tag.id == experiment.id and tag.name == "sweep"
        assert record.prompt == tag.coords["prompt"] and record.parameters["temperature"] == tag.coords["temperature"]
        assert record.parameters["max_tokens"] == 8 and record.seed == 7 and record.output_text
    stored = experiments.get(experiment.id)
    assert stored.status == FINISHED and stored.finished_at is not None and stored.cell_count == 4


def test_two_models_load_once_each_even_when_the_model_axis_varies_fastest(
        stories260k, smollm2, experiments, history, counting):
    spec = parse_spec({"kind": "text", "fixed": {"max_tokens": 4, "seed": 1, "mode": "completion"},
                       "axes": {"prompt": ["Once", "The dog"], "model": [str(stories260k), str(smollm2)]}})
    summary = run(start_experiment(spec, experiments), experiments, history, counting)
    assert summary.done == 4 and summary.model_loads == counting.loads == 2
    models = [r.model.file for r in experiment_records(history, summary.experiment_id)]
    assert models == [stories260k.name, smollm2.name, stories260k.name, smollm2.name]


def test_a_failing_cell_is_recorded_with_its_error_and_the_run_goes_on(stories260k, experiments, history, counting):
    long_prompt = "once upon a time " * 200  # more tokens than a 64-token context holds
    spec = text_spec([stories260k], prompts=("Once", long_prompt, "The dog"), temperatures=(0.0,), ctx=64)
    summary = run(start_experiment(spec, experiments), experiments, history, counting)
    assert summary.status == FINISHED and summary.done == 2
    assert list(summary.failed) == [1] and "context" in summary.failed[1].lower()
    assert experiments.get(summary.experiment_id).failures == summary.failed
    assert [CellTag.of(r).cell for r in experiment_records(history, summary.experiment_id)] == [0, 2]


def test_a_cancelled_run_stops_resumable_and_its_resume_generates_only_the_rest(
        stories260k, experiments, history, counting):
    token = RunToken()
    experiment = start_experiment(text_spec([stories260k]), experiments)

    def cancel_after_two(report):
        if isinstance(report.payload, RunProgress) and report.payload.done == 2:
            token.cancel()

    first = run(experiment, experiments, history, counting, cancel=token, progress=cancel_after_two)
    assert first.status == STOPPED and first.done == 2 and experiments.get(experiment.id).status == STOPPED
    second = run(experiment, experiments, history, counting)
    assert second.status == FINISHED and second.skipped == 2 and second.generated == 2 and second.done == 4
    assert counting.generations == 4  # no cell generated twice
    assert sorted(CellTag.of(r).cell for r in experiment_records(history, experiment.id)) == [0, 1, 2, 3]
    third = run(experiment, experiments, history, counting)
    assert third.generated == 0 and third.model_loads == 0 and counting.generations == 4


def test_a_paused_run_waits_between_cells_until_resumed(stories260k, experiments, history, counting):
    token = RunToken()
    messages: list[str] = []
    resumed = threading.Event()

    def pause_after_first(report):
        messages.append(report.message)
        if isinstance(report.payload, RunProgress) and report.payload.done == 1:
            token.pause()
        if report.message == "Paused":
            assert counting.generations == 1  # nothing more runs while paused
            threading.Thread(target=lambda: (token.resume(), resumed.set())).start()

    summary = run(start_experiment(text_spec([stories260k]), experiments), experiments, history, counting,
                  cancel=token, progress=pause_after_first)
    assert resumed.wait(10) and summary.done == 4 and messages.count("Paused") == 1


def test_a_cell_re_runs_to_the_identical_text(stories260k, experiments, history, counting):
    from desktop.core.history.rerun import text_rerun_request
    from desktop.core.text.engine import TextEngine

    spec = text_spec([stories260k], temperatures=(0.0, 0.9))
    first = run(start_experiment(spec, experiments), experiments, history, counting)
    again = run(start_experiment(spec, experiments), experiments, history, counting)
    texts = [[r.output_text for r in experiment_records(history, s.experiment_id)] for s in (first, again)]
    assert texts[0] == texts[1] and len(set(texts[0])) > 1
    engine = TextEngine()
    try:
        engine.load(stories260k)
        for record in experiment_records(history, first.experiment_id):
            assert engine.generate(text_rerun_request([record])).text == record.output_text
    finally:
        engine.close()


def test_a_model_gone_since_the_sweep_was_made_fails_its_cells_and_the_other_model_runs(
        stories260k, tmp_path, experiments, history, counting):
    copy = tmp_path / "copy.gguf"
    copy.write_bytes(stories260k.read_bytes())
    experiment = start_experiment(text_spec([copy, stories260k], prompts=("Once",), temperatures=(0.0,)),
                                  experiments)
    copy.unlink()
    summary = run(experiment, experiments, history, counting)
    assert summary.status == FINISHED and summary.done == 1 and list(summary.failed) == [0]
    assert "Could not load the model copy.gguf" in summary.failed[0] and counting.loads == 1
