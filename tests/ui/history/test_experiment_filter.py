"""History's search box term ``experiment:NAME``: the records of that experiment, on a real store with real
stories260K sweeps; an unknown name is said on screen."""

from __future__ import annotations

import pytest

from desktop.core.experiments.runner import run_experiment, start_experiment
from desktop.core.experiments.spec import parse_spec
from desktop.core.experiments.store import ExperimentStore
from desktop.core.history.store import HistoryStore
from desktop.core.records import GenerationRecord, ModelIdentity
from desktop.core.services import Services
from desktop.ui.history.experiment_term import split_experiment_term
from desktop.ui.history.view import HistoryWorkspace

TIMEOUT = 30000


def sweep(history, model, name: str, prompts: list[str]) -> str:
    spec = parse_spec({"name": name, "kind": "text",
                       "fixed": {"max_tokens": 8, "seed": 7, "mode": "completion", "ctx": 64, "model": str(model)},
                       "axes": {"prompt": prompts}})
    experiments = ExperimentStore.beside(history)
    experiment = start_experiment(spec, experiments)
    run_experiment(experiment.id, experiments=experiments, history=history)
    return experiment.id


@pytest.fixture
def stores(genlab_home, stories260k):
    s = Services()
    history = s.provide_history_store(HistoryStore(embedder=None))
    ids = {"two words": sweep(history, stories260k, "Two Words", ["Once upon a time", "The little dog"]),
           "other": sweep(history, stories260k, "other", ["The cat sat"])}
    history.save(GenerationRecord(kind="text", prompt="Once upon a time, alone", output_text="ok",
                                  model=ModelIdentity(name="tiny-llama")))  # no experiment
    history.flush(timeout=60)
    yield s, history, ids
    s.close()


@pytest.fixture
def workspace(qtbot, stores, runner):
    w = HistoryWorkspace(stores[0], runner)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    qtbot.waitUntil(lambda: w.last_result is not None, timeout=TIMEOUT)
    return w


def search(qtbot, w: HistoryWorkspace, text: str):
    with qtbot.waitSignal(w.results_shown, timeout=TIMEOUT):
        w.search_box.setText(text)
        w.search_now()
    return w.last_result


@pytest.mark.parametrize(("text", "rest", "name"), [
    ("experiment:other", "", "other"),
    ('once experiment:"two words" upon', "once upon", "two words"),
    ("EXPERIMENT:'two words'", "", "two words"),
    ('dog experiment:"two w', "dog", "two w"),
    ("no term here", "no term here", None),
    ("myexperiment:x", "myexperiment:x", None),
])
def test_the_term_is_split_from_the_search_text(text, rest, name):
    assert split_experiment_term(text) == (rest, name)


@pytest.mark.slow
def test_experiment_name_lists_only_that_experiments_records(qtbot, workspace, stores):
    _, history, ids = stores
    assert len(workspace.last_result.hits) == 4
    result = search(qtbot, workspace, 'experiment:"two words"')  # the name in another case
    assert sorted(h.record.prompt for h in result.hits) == ["Once upon a time", "The little dog"]
    assert {h.record.session_id for h in result.hits} == {ids["two words"]}
    result = search(qtbot, workspace, "experiment:other")
    assert [h.record.session_id for h in result.hits] == [ids["other"]]


@pytest.mark.slow
def test_the_term_combines_with_a_keyword_search_and_an_id_prefix(qtbot, workspace, stores):
    ids = stores[2]
    workspace.mode.setCurrentIndex(workspace.mode.findData("keyword"))
    result = search(qtbot, workspace, f"once experiment:{ids['two words'][:8]}")
    assert [h.record.prompt for h in result.hits] == ["Once upon a time"]


@pytest.mark.slow
def test_an_unknown_experiment_says_so_and_lists_nothing(qtbot, workspace):
    result = search(qtbot, workspace, "experiment:nosuchsweep")
    assert result.hits == []
    assert "No experiment is named 'nosuchsweep'" in workspace.notice.text()
