"""An image sweep on the real image engine and the tiny pipeline: one load, a tagged record per cell,
and the same pixels when it runs again."""

from __future__ import annotations

import pytest

from desktop.core.experiments.records import CellTag, experiment_records
from desktop.core.experiments.runner import run_experiment, start_experiment
from desktop.core.experiments.spec import parse_spec

pytestmark = [pytest.mark.usefixtures("one_torch_thread"), pytest.mark.slow]


def test_an_image_sweep_over_seeds_and_guidance_loads_once_and_repeats_pixel_for_pixel(
        tiny_sd_pipeline, experiments, history):
    from PIL import Image

    from desktop.core.image.engine import ImageEngine

    spec = parse_spec({"kind": "image", "fixed": {"model": str(tiny_sd_pipeline), "steps": 2, "size": "64x64",
                                                  "prompt": "a red square"},
                       "axes": {"seed": [1, 2], "guidance": [1.0, 5.0]}})
    engine = ImageEngine()
    loads: list[str] = []
    original = engine._load
    engine._load = lambda info, cancel, progress: (loads.append(info.name), original(info, cancel, progress))[1]
    try:
        summaries = [run_experiment(start_experiment(spec, experiments).id, experiments=experiments,
                                    history=history, image_engine=engine) for _ in range(2)]
    finally:
        engine.close()
    assert all(s.done == 4 and not s.failed for s in summaries) and loads == [tiny_sd_pipeline.name]
    runs = [experiment_records(history, s.experiment_id) for s in summaries]
    for record in runs[0]:
        tag = CellTag.of(record)
        assert record.seed == tag.coords["seed"] and record.parameters["guidance"] == tag.coords["guidance"]
        assert (record.parameters["width"], record.parameters["height"], record.parameters["steps"]) == (64, 64, 2)
    for first, again in zip(*runs):
        assert first.image_path != again.image_path
        assert Image.open(first.image_path).tobytes() == Image.open(again.image_path).tobytes()
    assert len({Image.open(r.image_path).tobytes() for r in runs[0]}) == 4
