"""Picking a remote server's model in Chat: it is listed with the remote badge, loads by asking the
server, streams a reply that Stop ends, and a server that is down is said on its card with a retry."""

from __future__ import annotations

import pytest

from desktop.core.models.remote import RemoteSources
from tests.support.remote_servers import API_KEY, closed_port_url, start_llama_server, stop

TIMEOUT = 60_000


@pytest.fixture(scope="module")
def llama_server(smollm2):
    server = start_llama_server(smollm2)
    yield server
    stop(server)


def remote_items(ws):
    picker = ws.model_bar.picker
    return [(picker.itemText(i), picker.itemData(i)) for i in range(picker.count()) if "[remote]" in picker.itemText(i)]


@pytest.mark.slow
def test_a_remote_model_is_picked_loaded_and_chatted_with_and_stop_ends_its_reply(
        qtbot, llama_server, keyring_backend, services, workspace, load, send):
    keyring_backend("working")
    source = RemoteSources().add(llama_server.url, name="llama", api_key=API_KEY, models=[llama_server.model])
    workspace.model_bar.refresh_library()
    [(label, ref)] = remote_items(workspace)
    assert label == "SmolLM2-135M-Instruct.Q4_1 @ llama  [remote]"
    workspace.model_bar.select_path(ref)
    assert "remote (OpenAI-compatible server)" in workspace.model_bar.card.text()
    assert source.base_url in workspace.model_bar.card.text()
    assert "Top-k, Min-p and Repeat penalty are not in the OpenAI API" in workspace.model_bar.card.text()

    loaded = load(workspace, ref)
    assert loaded.device == f"remote:{llama_server.host}"
    assert workspace.model_bar.summary.text() == f"SmolLM2-135M-Instruct.Q4_1 @ llama · remote · {llama_server.host}"

    result = send(workspace, "Write two sentences about the sea.", max_tokens=16)
    assert result.text and result.record.device == f"remote:{llama_server.host}"
    assert services.history.records[-1].parameters["remote"]["source"] == "llama"
    stats = workspace.stats.text()  # the server reports no prompt tokens and its context is unknown here
    assert f"{result.completion_tokens} generated tokens" in stats and "prompt +" not in stats and "context" not in stats

    workspace.settings_panel.max_tokens.setValue(300)
    workspace.input.setPlainText("Tell a long story about a dragon.")
    with qtbot.waitSignal(workspace.reply_finished, timeout=TIMEOUT) as blocker:
        workspace.generate()
        qtbot.waitUntil(lambda: workspace.thread.last.role == "assistant" and "tok/s" in workspace.stats.text(),
                        timeout=TIMEOUT)  # the live line of the streaming reply
        workspace.stop_button.click()
    stopped = blocker.args[0]
    assert stopped.finish_reason == "cancelled" and stopped.completion_tokens < 300
    assert workspace.thread.last.content == stopped.text and "stopped" in workspace.thread.last.note
    qtbot.waitUntil(lambda: not workspace.busy, timeout=TIMEOUT)


def test_a_remote_model_whose_server_is_down_says_so_on_its_card_and_load_tries_again(qtbot, workspace):
    RemoteSources().add(closed_port_url(), name="down", models=["big-model"])
    workspace.model_bar.refresh_library()
    [(_label, ref)] = remote_items(workspace)
    workspace.model_bar.select_path(ref)
    for _attempt in range(2):  # Load again is the retry: the same clear message, no hang
        workspace.model_bar.load_button.click()
        qtbot.waitUntil(lambda: not workspace.busy and "Cannot reach" in workspace.model_bar.card.text(),
                        timeout=TIMEOUT)
        assert "try again" in workspace.model_bar.card.text()
        assert workspace.engine.loaded is None and workspace.model_bar.current_path() == ref


def test_nothing_contacts_an_added_server_until_load_even_when_it_was_the_last_model(qtbot, services, runner):
    from desktop.ui.chat.view import ChatWorkspace
    from tests.support.remote_servers import SilentServer

    silent = SilentServer()
    try:
        source = RemoteSources().add(silent.url, name="quiet", models=["m"])
        services.settings.text.last_model = source.ref("m")
        services.settings.text.chat_reload_last_model = True
        ws = ChatWorkspace(services, runner)
        qtbot.addWidget(ws)
        qtbot.wait(0)  # the queued start-up steps (the last model's reload) have run
        assert any("[remote]" in label for label, _ref in remote_items(ws))
        assert not ws.busy and ws.engine.loaded is None
        silent.sock.setblocking(False)
        with pytest.raises(BlockingIOError):  # no connection is waiting: nothing was sent
            silent.sock.accept()
    finally:
        silent.close()
