"""summarize: per axis and value, cells, rated and failed cells, mean rating of the rated ones, mean speed."""

from __future__ import annotations

from dataclasses import asdict

import pytest

from desktop.core.experiments.plan import plan_cells
from desktop.core.experiments.records import PARAMETER_KEY, CellTag
from desktop.core.experiments.spec import parse_spec
from desktop.core.experiments.store import Experiment
from desktop.core.experiments.summary import summarize
from desktop.core.records import GenerationRecord


def _experiment(kind: str, axes: dict, fixed: dict | None = None) -> Experiment:
    spec = parse_spec({"name": "s", "kind": kind, "fixed": fixed or {}, "axes": axes}, check_models=False)
    return Experiment(name=spec.name, kind=spec.kind, spec=spec.to_dict(), cell_count=spec.cell_count)


def _record(experiment: Experiment, cell: int, *, rating: int = 0, **timings: float) -> GenerationRecord:
    spec = experiment.parsed_spec(check_models=False)
    planned = plan_cells(spec, resolve=lambda ref: ref).cells[cell]
    tag = CellTag(experiment.id, experiment.name, cell, planned.repeat, planned.coords)
    return GenerationRecord(kind=experiment.kind, prompt=planned.prompt, session_id=experiment.id,
                            parameters={PARAMETER_KEY: asdict(tag)}, rating=rating, timings=dict(timings))


@pytest.fixture
def text_sweep():
    # cells in order: (0.0, "a"), (0.0, "b"), (0.7, "a"), (0.7, "b")
    return _experiment("text", {"temperature": [0.0, 0.7], "prompt": ["a", "b"]},
                       {"model": "/models/tiny.gguf", "max_tokens": 8})


def test_means_per_value_exclude_unrated_cells_and_count_failures(text_sweep):
    text_sweep.failures = {3: "out of memory"}
    records = [_record(text_sweep, 0, rating=4, tokens_per_s=100.0),
               _record(text_sweep, 1, rating=0, tokens_per_s=50.0),  # unrated: not a zero
               _record(text_sweep, 2, rating=1, tokens_per_s=30.0)]
    temperature, prompt = summarize(text_sweep, records)

    assert temperature.axis == "temperature" and temperature.speed_unit == "tok/s"
    cold, warm = temperature.values
    assert (cold.label, cold.cells, cold.done, cold.rated, cold.failed) == ("0", 2, 2, 1, 0)
    assert cold.mean_rating == 4.0
    assert cold.mean_speed == 75.0
    assert (warm.label, warm.cells, warm.done, warm.rated, warm.failed) == ("0.7", 2, 1, 1, 1)
    assert warm.mean_rating == 1.0 and warm.mean_speed == 30.0

    a, b = prompt.values
    assert (a.value, a.rated, a.mean_rating, a.mean_speed) == ("a", 2, 2.5, 65.0)
    assert (b.value, b.rated, b.mean_rating, b.failed) == ("b", 0, None, 1)
    assert b.mean_speed == 50.0


def test_nothing_saved_gives_no_means(text_sweep):
    (temperature, _prompt) = summarize(text_sweep, [])
    assert [(v.cells, v.done, v.mean_rating, v.mean_speed) for v in temperature.values] == [(2, 0, None, None)] * 2


def test_records_of_another_experiment_are_ignored(text_sweep):
    other = _experiment("text", {"temperature": [0.0, 0.7], "prompt": ["a", "b"]}, {"model": "/models/tiny.gguf"})
    temperature, _ = summarize(text_sweep, [_record(other, 0, rating=5, tokens_per_s=9.0)])
    assert temperature.values[0].done == 0 and temperature.values[0].mean_rating is None


def test_an_image_sweep_averages_seconds_per_image():
    sweep = _experiment("image", {"seed": [1, 2], "guidance": [1.5, 7.0]}, {"model": "/models/tiny-sd", "steps": 2, "prompt": "a cat"})
    records = [_record(sweep, 0, rating=3, total_s=2.0), _record(sweep, 1, rating=5, total_s=4.0),
               _record(sweep, 3, total_s=1.0)]
    seed, guidance = summarize(sweep, records)
    assert seed.speed_unit == "s/image"
    assert [(v.value, v.mean_rating, v.mean_speed) for v in seed.values] == [(1, 4.0, 3.0), (2, None, 1.0)]
    assert [(v.label, v.rated, v.mean_speed) for v in guidance.values] == [("1.5", 1, 2.0), ("7", 1, 2.5)]
