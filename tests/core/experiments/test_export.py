"""Export of an experiment (CSV and Parquet read back) and its deletion, with or without its records."""

from __future__ import annotations

import csv

import pytest

from desktop.core.experiments.errors import ExperimentError, ExperimentNotFound
from desktop.core.experiments.export import RECORD_COLUMNS, export_experiment
from desktop.core.experiments.records import delete_experiment
from desktop.core.experiments.runner import run_experiment, start_experiment
from desktop.core.experiments.spec import parse_spec

# the slow set: most tests here load a real model or pipeline, or spawn processes
pytestmark = pytest.mark.slow

SECRET = "zqxjvortexpalimpsest"


@pytest.fixture
def finished(stories260k, experiments, history, counting):
    """A finished sweep of 2 temperatures x 3 prompts where the long prompt's cells fail."""
    spec = parse_spec({"name": f"sweep {SECRET}", "kind": "text",
                       "fixed": {"max_tokens": 6, "seed": 7, "mode": "completion", "ctx": 64, "model": str(stories260k)},
                       "axes": {"temperature": [0.0, 0.5], "prompt": [f"Once {SECRET}", "word " * 200, "The dog"]}})
    experiment = start_experiment(spec, experiments)
    run_experiment(experiment.id, experiments=experiments, history=history, text_engine_factory=counting)
    return experiments.get(experiment.id)


def test_csv_and_parquet_have_one_row_per_cell_with_its_axes_output_and_status(finished, history, tmp_path):
    import pyarrow.parquet as pq

    assert export_experiment(finished, history, tmp_path / "out.csv") == 6
    assert export_experiment(finished, history, tmp_path / "out.parquet") == 6
    with open(tmp_path / "out.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    table = pq.read_table(tmp_path / "out.parquet")
    assert table.num_rows == len(rows) == 6
    expected = ["cell", "repeat", "status", "temperature", "prompt", *RECORD_COLUMNS]
    assert table.column_names == list(rows[0]) == expected
    assert table.column("temperature").to_pylist() == [0.0, 0.0, 0.0, 0.5, 0.5, 0.5]
    assert [r["status"] for r in rows] == ["done", "failed", "done", "done", "failed", "done"]
    done = [r for r in table.to_pylist() if r["status"] == "done"]
    assert all(r["output_text"] and r["record_id"] and r["tokens_per_s"] > 0 and r["seed"] == 7 for r in done)
    assert "context" in rows[1]["error"].lower() and not rows[1]["record_id"]


def test_export_refuses_an_unknown_format(finished, history, tmp_path):
    with pytest.raises(ExperimentError, match="Name a .csv or .parquet file"):
        export_experiment(finished, history, tmp_path / "out.xlsx")


def test_deleting_an_experiment_with_its_records_leaves_no_trace(finished, experiments, history, tmp_path):
    assert history.count() == 4
    files = [p for p in tmp_path.rglob("*") if p.is_file() and SECRET.encode() in p.read_bytes()]
    assert files  # the name and the prompt are on disk before
    assert delete_experiment(experiments, history, finished.id, with_records=True) == 4
    assert history.count() == 0 and experiments.list() == []
    with pytest.raises(ExperimentNotFound):
        experiments.get(finished.id)
    assert [p for p in tmp_path.rglob("*") if p.is_file() and SECRET.encode() in p.read_bytes()] == []


def test_deleting_an_experiment_alone_keeps_its_records(finished, experiments, history):
    assert delete_experiment(experiments, history, finished.id[:8], with_records=False) == 0
    assert experiments.list() == [] and history.count() == 4
