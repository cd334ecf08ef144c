"""The Experiments workspace on a real history store (keyword only) shared through the Services."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop.ui.experiments.view import ExperimentsWorkspace


@pytest.fixture
def history(services, store):
    services.provide_history_store(store)
    services.set_history(store)
    return store


@pytest.fixture
def open_workspace(qtbot, services, runner, history):
    """Builds the workspace (after the test has stored what it needs) and waits for its list."""

    def make() -> ExperimentsWorkspace:
        w = ExperimentsWorkspace(services, runner)
        qtbot.addWidget(w)
        w.resize(1200, 800)
        with qtbot.waitSignal(w.experiments_listed, timeout=30000):
            w.show()
        return w

    return make


def text_spec(model, temperatures=(0.0, 0.8), prompts=("Once upon a time", "The little dog")) -> str:
    temps = ", ".join(str(t) for t in temperatures)
    listed = ", ".join(f'"{p}"' for p in prompts)
    return (f'name = "stories sweep"\nkind = "text"\n[fixed]\nmodel = "{model}"\nmax_tokens = 8\nseed = 7\n'
            f'mode = "completion"\n[axes]\ntemperature = [{temps}]\nprompt = [{listed}]\n')


def seed_image_experiment(history, folder, seeds: int, guidances: int, side: int = 256) -> str:
    """A finished seeds x guidances image experiment whose cells are real PNGs saved through the history
    (no pipeline runs: the grid's tests are about showing cells, not making them).  Returns its id."""
    from dataclasses import asdict

    from PIL import Image

    from desktop.core.experiments.plan import plan_cells
    from desktop.core.experiments.records import PARAMETER_KEY, CellTag
    from desktop.core.experiments.spec import parse_spec
    from desktop.core.experiments.store import FINISHED, ExperimentStore
    from desktop.core.records import GenerationRecord

    spec = parse_spec({"name": "seeded grid", "kind": "image",
                       "fixed": {"model": str(folder / "no-model"), "steps": 1, "size": "64x64", "prompt": "a square"},
                       "axes": {"seed": list(range(1, seeds + 1)), "guidance": [float(g) for g in range(1, guidances + 1)]}},
                      check_models=False)
    experiments = ExperimentStore.beside(history)
    experiment = experiments.create(spec)
    for cell in plan_cells(spec, resolve=Path).cells:
        path = folder / f"cell-{cell.index}.png"
        Image.new("RGB", (side, side), (cell.index * 37 % 256, 90, 160)).save(path)
        tag = CellTag(experiment.id, experiment.name, cell.index, cell.repeat, dict(cell.coords))
        history.save(GenerationRecord(kind="image", prompt="a square", image_path=str(path), session_id=experiment.id,
                                      seed=cell.coords["seed"], parameters={PARAMETER_KEY: asdict(tag)}))
    history.flush(timeout=60)
    experiment.status = FINISHED
    experiments.save(experiment)
    return experiment.id
