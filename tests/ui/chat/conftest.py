"""Fixtures of the Chat workspace tests: load a model and send a message the way a person does,
waiting on the workspace's signals."""

from __future__ import annotations

import pytest

TIMEOUT = 30_000


@pytest.fixture
def workspace(qtbot, services, runner):
    """A Chat workspace on the test's services (an in-memory history), no model loaded."""
    pytest.importorskip("llama_cpp")
    from desktop.ui.chat.view import ChatWorkspace

    ws = ChatWorkspace(services, runner)
    qtbot.addWidget(ws)
    ws.resize(1100, 700)
    return ws


@pytest.fixture
def load(qtbot):
    """``load(ws, path)``: pick ``path``, press Load, wait until it is loaded; the LoadedModel."""
    def load(ws, path):
        ws.model_bar.select_path(str(path))
        with qtbot.waitSignal(ws.model_changed, timeout=TIMEOUT) as blocker:
            ws.model_bar.load_button.click()
        assert blocker.args[0] is not None
        qtbot.waitUntil(lambda: not ws.busy, timeout=TIMEOUT)
        return blocker.args[0]

    return load


@pytest.fixture
def send(qtbot):
    """``send(ws, text, max_tokens=12)``: a greedy reply to ``text``; the TextResult."""
    def send(ws, text, max_tokens=12):
        ws.settings_panel.apply_preset("Precise (greedy)")
        ws.settings_panel.max_tokens.setValue(max_tokens)
        ws.input.setPlainText(text)
        with qtbot.waitSignal(ws.reply_finished, timeout=TIMEOUT) as blocker:
            ws.generate()
        qtbot.waitUntil(lambda: not ws.busy, timeout=TIMEOUT)
        return blocker.args[0]

    return send
