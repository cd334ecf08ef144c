"""An experiment's text cells are history records with the experiment as session, but they are no chat:
Chat's list of earlier threads leaves them out and keeps the real chats."""

from __future__ import annotations

import tomllib

import pytest

from desktop.core.experiments.runner import run_experiment, start_experiment
from desktop.core.experiments.spec import parse_spec
from desktop.core.experiments.store import ExperimentStore
from desktop.core.records import GenerationRecord
from desktop.ui.chat.view import ChatWorkspace
from tests.ui.experiments.conftest import text_spec


@pytest.mark.slow
def test_chat_lists_real_threads_but_not_experiment_sessions(qtbot, services, runner, history, stories260k):
    experiments = ExperimentStore.beside(history)
    experiment = start_experiment(parse_spec(tomllib.loads(text_spec(stories260k))), experiments)
    assert run_experiment(experiment.id, experiments=experiments, history=history).done == 4
    history.save_and_wait(GenerationRecord(kind="text", prompt="Hello there", output_text="Hi!",
                                           session_id="a-real-chat"))
    ws = ChatWorkspace(services, runner)
    qtbot.addWidget(ws)
    with qtbot.waitSignal(ws.threads_restored, timeout=30000):
        pass
    ids = [t.id for t in ws.threads]
    assert "a-real-chat" in ids
    assert experiment.id not in ids
