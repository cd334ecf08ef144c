"""The Arena's setup on a real history: presets of one model, every prompt source, and each bad input said plainly."""

from __future__ import annotations

from dataclasses import asdict

import pytest

from desktop.core.records import GenerationRecord
from desktop.ui.arena.setup import ContenderSpec
from desktop.ui.arena.view import ArenaWorkspace

TIMEOUT = 60000


@pytest.fixture
def workspace(qtbot, services, runner, store):
    services.provide_history_store(store)
    services.set_history(store)
    w = ArenaWorkspace(services, runner)
    qtbot.addWidget(w)
    w.resize(1000, 760)
    w.show()
    return w


def _refused(qtbot, w: ArenaWorkspace) -> str:
    with qtbot.waitSignal(w.setup_failed, timeout=TIMEOUT) as failed:
        w.generate()
    assert w.error.text() == failed.args[0] and w.matches == [] and not w.pair.votable
    qtbot.waitUntil(w.start.isEnabled, timeout=TIMEOUT)
    return failed.args[0]


def _two(w: ArenaWorkspace, model, preset_a: str = "", preset_b: str = "") -> None:
    w.setup.rows[0].model.setText(str(model))
    w.setup.rows[0].preset.setText(preset_a)
    w.setup.rows[1].model.setText(str(model))
    w.setup.rows[1].preset.setText(preset_b)


def test_one_contender_and_two_identical_ones_are_refused(qtbot, workspace, stories260k):
    w = workspace
    w.setup.rows[0].model.setText(str(stories260k))
    w.setup.typed.setPlainText("Once upon a time")
    assert "needs two contenders; it got 1 (stories260K)" in _refused(qtbot, w)
    _two(w, stories260k, "temperature=0.2", " temperature=0.2 ")
    assert "Two contenders are the same: stories260K (temperature=0.2)" in _refused(qtbot, w)
    _two(w, stories260k, "temperature=0.2", "seed=3")
    assert "'seed' cannot be part of a text contender's preset" in _refused(qtbot, w)
    _two(w, stories260k, "temperature=0.2", "warm")
    assert "needs KEY=VALUE, not 'warm'" in _refused(qtbot, w)


def test_the_contender_rows_keep_two_and_grow(qtbot, workspace):
    setup = workspace.setup
    assert len(setup.rows) == 2 and not setup.rows[0].remove.isEnabled()
    third = setup.add_row("m.gguf", "top_k=5", "mine")
    assert all(r.remove.isEnabled() for r in setup.rows)
    assert setup.request().contenders == (ContenderSpec("m.gguf", "top_k=5", "mine"),)  # empty rows are left out
    third.remove.click()
    assert len(setup.rows) == 2 and not setup.rows[1].remove.isEnabled()
    setup.kind.setCurrentText("image")
    assert setup.steps.isVisibleTo(setup) and not setup.max_tokens.isVisibleTo(setup)
    assert "scheduler=" in setup.rows[0].preset.placeholderText()
    assert setup.request().common == {"steps": 20}


def test_each_prompt_source_that_gives_nothing_is_named(qtbot, workspace, stories260k, store, tmp_path):
    from desktop.core.experiments.spec import parse_spec
    from desktop.core.experiments.store import ExperimentStore

    w = workspace
    _two(w, stories260k, "temperature=0.2", "temperature=0.9")
    assert "No prompt is typed" in _refused(qtbot, w)
    w.setup.set_source("file")
    assert w.setup.pages.currentIndex() == 1
    assert "No prompts file is chosen" in _refused(qtbot, w)
    w.setup.choose_file = lambda: str(tmp_path / "missing.txt")
    w.setup._browse()
    assert "Cannot read the prompts file" in _refused(qtbot, w) and "missing.txt" in w.error.text()
    (tmp_path / "empty.txt").write_text("\n\n", encoding="utf-8")
    w.setup.file.setText(str(tmp_path / "empty.txt"))
    assert "has no prompts: every line is empty" in _refused(qtbot, w)
    w.setup.set_source("experiment")
    w.setup.experiment.setText("nowhere")
    assert "No experiment is named 'nowhere'" in _refused(qtbot, w)
    spec = parse_spec({"kind": "text", "fixed": {"model": "m.gguf"}, "axes": {"prompt": ["p"]}}, check_models=False)
    unrun = ExperimentStore.beside(store).create(spec)
    w.setup.experiment.setText(unrun.name)
    assert f"The experiment {unrun.name!r} has no prompts yet" in _refused(qtbot, w)
    w.setup.set_source("search")
    w.setup.query.setText("zebra")
    assert "No text record of the history matches the search 'zebra'" in _refused(qtbot, w)


@pytest.mark.slow
def test_presets_of_one_model_on_an_experiments_prompts(qtbot, workspace, stories260k, store):
    from desktop.core.experiments.records import PARAMETER_KEY, CellTag
    from desktop.core.experiments.spec import parse_spec
    from desktop.core.experiments.store import ExperimentStore

    experiment = ExperimentStore.beside(store).create(parse_spec(
        {"kind": "text", "fixed": {"model": "m.gguf"}, "axes": {"prompt": ["Once upon a time", "The dog"]}},
        check_models=False))
    for n, prompt in enumerate(["Once upon a time", "The dog"]):
        tag = CellTag(experiment.id, experiment.name, n, 0, {"prompt": prompt})
        store.save(GenerationRecord("text", prompt, session_id=experiment.id, parameters={PARAMETER_KEY: asdict(tag)}))
    w = workspace
    _two(w, stories260k, "temperature=0.1", "temperature=1.2, top_k=5")
    w.setup.set_source("experiment")
    w.setup.experiment.setText(experiment.name)
    w.setup.max_tokens.setValue(5)
    with qtbot.waitSignal(w.pairs_ready, timeout=120000) as ready:
        w.generate()
    assert ready.args == [2]
    assert [m.prompt for m in w.matches] == ["Once upon a time", "The dog"]
    for match in w.matches:
        assert match.left.record.seed == match.right.record.seed
        temperatures = {match.left.record.parameters["temperature"], match.right.record.parameters["temperature"]}
        assert temperatures == {0.1, 1.2}
    assert "temperature" not in w.pair.left.title() + w.pair.right.title()  # still blind


@pytest.mark.slow
@pytest.mark.usefixtures("one_torch_thread")
def test_image_presets_from_a_prompt_file(qtbot, workspace, tiny_sd_pipeline, tmp_path):
    w = workspace
    w.setup.kind.setCurrentText("image")
    _two(w, tiny_sd_pipeline, "scheduler=Euler, width=64, height=64", "scheduler=DDIM, width=64, height=64")
    w.setup.steps.setValue(2)
    (tmp_path / "p.txt").write_text("a red square\n", encoding="utf-8")
    w.setup.set_source("file")
    w.setup.file.setText(str(tmp_path / "p.txt"))
    with qtbot.waitSignal(w.pairs_ready, timeout=300000) as ready:
        w.generate()
    assert ready.args == [1] and w.matches[0].votable
    match = w.matches[0]
    assert {match.left.record.parameters["scheduler"], match.right.record.parameters["scheduler"]} == {"Euler",
                                                                                                       "DDIM"}
    assert match.left.record.seed == match.right.record.seed


def test_a_remote_contender_is_marked_with_the_remote_badge_as_in_chats_picker(qtbot, workspace):
    from desktop.core.models.remote import REMOTE_BADGE

    row = workspace.setup.rows[0]
    assert row.badge.isHidden()
    row.model.setText("remote:gpu-box:8000/SmolLM2-135M-Instruct.Q4_1.gguf")
    assert row.badge.isVisibleTo(workspace) and row.badge.text() == REMOTE_BADGE
    assert row.badge.toolTip().startswith("SmolLM2-135M-Instruct.Q4_1 @ gpu-box:8000")
    row.model.setText("remote:")  # not a whole reference yet: still marked, the tooltip says what is missing
    assert row.badge.isVisibleTo(workspace) and "is not a remote model reference" in row.badge.toolTip()
    row.model.setText("/models/SmolLM2-135M-Instruct.Q4_1.gguf")
    assert row.badge.isHidden()
    assert workspace.setup.rows[1].badge.isHidden()
