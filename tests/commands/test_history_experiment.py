"""``genlab history search --experiment NAME``: the cells of a real stories260K sweep, by name or id prefix."""

from __future__ import annotations

import json

import pytest

from desktop.cli import main
from desktop.core.experiments.runner import run_experiment, start_experiment
from desktop.core.experiments.spec import parse_spec
from desktop.core.experiments.store import ExperimentStore
from desktop.core.history.store import HistoryStore
from tests.support.history import make_record

# the slow set: most tests here load a real model or pipeline, or spawn processes
pytestmark = pytest.mark.slow


@pytest.fixture
def swept(genlab_home, stories260k):
    """Two experiments of stories260K (two cells, one cell) and one record of no experiment."""
    history = HistoryStore(embedder=None)
    experiments = ExperimentStore.beside(history)
    ids = []
    for name, prompts in (("two prompts", ["Once upon a time", "The little dog"]), ("one prompt", ["The cat"])):
        spec = parse_spec({"name": name, "kind": "text", "axes": {"prompt": prompts},
                           "fixed": {"max_tokens": 8, "seed": 7, "mode": "completion", "ctx": 64,
                                     "model": str(stories260k)}})
        experiment = start_experiment(spec, experiments)
        run_experiment(experiment.id, experiments=experiments, history=history)
        ids.append(experiment.id)
    history.save_many([make_record("Once upon a time there was no sweep")])
    history.close()
    return ids


def _search(capsys, *args):
    code = main(["history", "search", *args, "--mode", "keyword", "--json", "--limit", "50"])
    captured = capsys.readouterr()
    return code, json.loads(captured.out) if code == 0 else captured.err


def test_experiment_option_lists_only_its_cells(swept, capsys):
    code, hits = _search(capsys, "", "--experiment", "Two Prompts")
    assert code == 0
    assert sorted(h["prompt"] for h in hits) == ["Once upon a time", "The little dog"]
    assert {h["session_id"] for h in hits} == {swept[0]}
    code, hits = _search(capsys, "once", "--experiment", swept[0][:8])  # an id prefix, with a query
    assert [h["prompt"] for h in hits] == ["Once upon a time"]


def test_an_unknown_experiment_is_an_error_naming_it(swept, capsys):
    code, err = _search(capsys, "", "--experiment", "no such sweep")
    assert code == 2
    assert "No experiment is named 'no such sweep'" in err and "genlab experiment list" in err
