"""``genlab experiment``: run a spec, resume, list, show, export and delete, with one-line errors."""

from __future__ import annotations

import csv
import json

import pytest

from desktop.cli import main

pytest.importorskip("llama_cpp")

SPEC = """
name = "two models, two temperatures"
kind = "text"
[fixed]
max_tokens = 6
seed = 7
mode = "completion"
[axes]
model = ["{stories}", "{smol}"]
temperature = [0.0, 0.7]
prompt = ["Once upon a time", "The little dog"]
"""


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["experiment", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def spec_file(tmp_path, stories260k, smollm2):
    path = tmp_path / "sweep.toml"
    path.write_text(SPEC.replace("{stories}", str(stories260k)).replace("{smol}", str(smollm2)))
    return path


@pytest.mark.slow
def test_run_list_show_export_and_delete_a_text_sweep(spec_file, tmp_path, capsys):
    code, out, err = cli(capsys, "run", str(spec_file), "--json")
    assert code == 0, err
    result = json.loads(out)
    assert (result["cells"], result["done"], result["failed"], result["model_loads"]) == (8, 8, 0, 2)
    assert result["status"] == "finished"
    assert "8 cells, 2 model loads" in err and "Cell 8/8" in err

    code, out, _ = cli(capsys, "list", "--json")
    listed = json.loads(out)
    assert [(e["id"], e["done"], e["cells"], e["name"]) for e in listed] == [
        (result["id"], 8, 8, "two models, two temperatures")]

    code, out, _ = cli(capsys, "show", result["id"][:8], "--json")
    shown = json.loads(out)
    assert code == 0 and len(shown["cells"]) == 8 and all(c["status"] == "done" for c in shown["cells"])
    assert {c["model"] for c in shown["cells"]} == {"stories260K.gguf", "SmolLM2-135M-Instruct.Q4_1.gguf"}

    code, _, err = cli(capsys, "export", result["id"], str(tmp_path / "cells.csv"))
    with open(tmp_path / "cells.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert code == 0 and len(rows) == 8 and {"model", "temperature", "prompt", "output_text"} <= set(rows[0])

    code, _, err = cli(capsys, "delete", result["id"], "--with-records")
    assert code == 0 and "8 records deleted" in err
    from desktop.core.history import open_history

    store = open_history(start_embedder=False)
    try:
        assert store.count() == 0
    finally:
        store.close()
    assert json.loads(cli(capsys, "list", "--json")[1]) == []


def test_a_bad_value_is_one_error_line_with_status_2(spec_file, capsys):
    spec_file.write_text(spec_file.read_text().replace("[0.0, 0.7]", "[0.0, 20]"))
    code, out, err = cli(capsys, "run", str(spec_file))
    assert code == 2 and out == ""
    assert err.startswith("error: Axis temperature, value 20: Temperature must be between 0 and 10")
    assert len(err.strip().splitlines()) == 1


def test_the_cell_cap_is_raised_with_max_cells(spec_file, capsys):
    spec_file.write_text(spec_file.read_text().replace('kind = "text"', 'kind = "text"\nmax_cells = 4'))
    code, _, err = cli(capsys, "run", str(spec_file))
    assert code == 2 and "This sweep has 8 cells, more than the cap of 4." in err and "--max-cells" in err


@pytest.mark.slow
def test_resume_runs_what_is_left_and_an_unknown_id_is_refused(stories260k, capsys):
    from desktop.core.experiments.runner import start_experiment
    from desktop.core.experiments.spec import parse_spec
    from desktop.core.experiments.store import ExperimentStore
    from desktop.core.history import open_history

    spec = parse_spec({"kind": "text", "fixed": {"model": str(stories260k), "max_tokens": 4, "seed": 1},
                       "axes": {"prompt": ["Once", "The dog", "Lily"]}})
    store = open_history(start_embedder=False)
    try:
        experiment = start_experiment(spec, ExperimentStore.beside(store))  # made, never run
    finally:
        store.close()
    code, out, err = cli(capsys, "resume", experiment.id[:10], "--json")
    assert code == 0, err
    assert json.loads(out)["generated"] == 3 and json.loads(out)["skipped"] == 0
    code, out, err = cli(capsys, "resume", experiment.id, "--json")
    assert json.loads(out)["generated"] == 0 and json.loads(out)["skipped"] == 3
    code, _, err = cli(capsys, "resume", "0123456789abcdef")
    assert code == 2 and "No experiment has the id '0123456789abcdef'." in err
