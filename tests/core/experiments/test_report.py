"""The HTML report of an experiment, read back with html.parser: a row per text cell, an image per
image cell (files beside it or embedded), the summary per axis value, and markup in a reply escaped."""

from __future__ import annotations

import base64
import dataclasses
from pathlib import Path

import pytest

from desktop.core.experiments.export import export_experiment
from desktop.core.experiments.records import experiment_records
from desktop.core.experiments.runner import run_experiment, start_experiment
from desktop.core.experiments.spec import parse_spec
from tests.core.experiments.report_parse import ReportPage

# the slow set: most tests here load a real model or pipeline, or spawn processes
pytestmark = pytest.mark.slow

MARKUP = "<script>alert('reply')</script>"


@pytest.fixture
def text_sweep(stories260k, experiments, history, counting):
    """2 temperatures x 2 prompts on stories260K (one prompt is markup); one reply is rewritten to markup."""
    spec = parse_spec({"name": "report <b>sweep</b>", "kind": "text", "description": "temperatures & prompts",
                       "fixed": {"max_tokens": 8, "seed": 7, "mode": "completion", "model": str(stories260k)},
                       "axes": {"temperature": [0.0, 0.7], "prompt": ["Once upon a time", "<script>x</script>"]}})
    experiment = start_experiment(spec, experiments)
    run_experiment(experiment.id, experiments=experiments, history=history, text_engine_factory=counting)
    record = experiment_records(history, experiment.id)[0]
    history.update(record.id, rating=4)
    # a reply that is markup, as an imported or edited record can hold: it must stay text in the page
    marked = dataclasses.replace(history.get(record.id), output_text=MARKUP)
    history.delete([record.id])
    history.save_and_wait(marked)
    return experiments.get(experiment.id)


def test_a_text_report_has_a_row_per_cell_a_summary_per_axis_value_and_escapes_markup(text_sweep, history,
                                                                                       tmp_path):
    path = tmp_path / "report.html"
    assert export_experiment(text_sweep, history, path) == 4
    html = path.read_text(encoding="utf-8")
    page = ReportPage.read(path)
    assert page.scripts == 0 and "<script>" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(" in html
    header, *cells = page.tables["cells"]
    assert header == ["Cell", "temperature", "prompt", "Reply", "tok/s", "TTFT (s)", "Rating"]
    assert len(cells) == 4
    assert [c[1] for c in cells] == ["0", "0", "0.7", "0.7"]
    assert MARKUP in [c[3] for c in cells] and "<script>x</script>" in [c[2] for c in cells]
    assert all(c[3] and float(c[4]) > 0 and float(c[5]) > 0 for c in cells)
    assert sorted(c[6] for c in cells) == ["", "", "", "4"]
    assert [r[0] for r in page.tables["axes"][1:]] == ["temperature", "prompt"]
    header, *summary = page.tables["summary"]
    assert header == ["Axis", "Value", "Cells", "Done", "Failed", "Mean rating", "Mean tok/s"]
    assert [tuple(r[:5]) for r in summary] == [
        ("temperature", "0", "2", "2", "0"), ("temperature", "0.7", "2", "2", "0"),
        ("prompt", "Once upon a time", "2", "2", "0"), ("prompt", "<script>x</script>", "2", "2", "0")]
    assert sum(r[5] == "4.00" for r in summary) == 2 and all(float(r[6]) > 0 for r in summary)
    assert "report &lt;b&gt;sweep&lt;/b&gt;" in html
    assert "temperatures &amp; prompts" in html


@pytest.fixture
def image_sweep(tiny_sd_pipeline, experiments, history, one_torch_thread):
    from desktop.core.image.engine import ImageEngine

    spec = parse_spec({"name": "seeds by guidance", "kind": "image",
                       "fixed": {"model": str(tiny_sd_pipeline), "steps": 1, "size": "64x64", "prompt": "a square"},
                       "axes": {"seed": [1, 2], "guidance": [1.0, 5.0]}})
    experiment = start_experiment(spec, experiments)
    engine = ImageEngine()
    try:
        run_experiment(experiment.id, experiments=experiments, history=history, image_engine=engine)
    finally:
        engine.close()
    return experiments.get(experiment.id)


def test_an_image_report_is_a_grid_of_images_copied_beside_it_or_embedded(image_sweep, history, tmp_path):
    originals = {r.seed * 10 + int(r.parameters["guidance"]): Path(r.image_path).read_bytes()
                 for r in experiment_records(history, image_sweep.id)}
    path = tmp_path / "out" / "grid.html"
    assert export_experiment(image_sweep, history, path) == 4
    page = ReportPage.read(path)
    header, *rows = page.tables["grid"]
    assert header == ["seed \\ guidance", "1", "5"] and [r[0] for r in rows] == ["seed=1", "seed=2"]
    assert len(page.images) == 4 and all(not s.startswith(("/", "data:", "file:")) for s in page.images)
    files = [path.parent / src for src in page.images]
    assert all(f.is_file() and f.parent == path.parent / "grid_files" for f in files)
    assert sorted(f.read_bytes() for f in files) == sorted(originals.values())
    header, *summary = page.tables["summary"]
    assert header[-1] == "Mean seconds per image"
    assert [(r[0], r[1], r[2]) for r in summary] == [("seed", "1", "2"), ("seed", "2", "2"),
                                                     ("guidance", "1", "2"), ("guidance", "5", "2")]
    assert all(float(r[-1]) > 0 for r in summary)

    embedded = tmp_path / "alone" / "grid.html"
    assert export_experiment(image_sweep, history, embedded, embed_images=True) == 4
    page = ReportPage.read(embedded)
    prefix = "data:image/png;base64,"
    assert len(page.images) == 4 and all(s.startswith(prefix) for s in page.images)
    assert sorted(base64.b64decode(s[len(prefix):]) for s in page.images) == sorted(originals.values())
    assert [p.name for p in embedded.parent.iterdir()] == ["grid.html"]
