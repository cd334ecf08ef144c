"""The Experiments workspace on a real history store (keyword only) shared through the Services."""

from __future__ import annotations

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
