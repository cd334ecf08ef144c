"""The Models workspace's Remote servers tab: adding a server after a connection test, with the messages
for a bad URL, a closed port, a server that is not OpenAI-compatible and a wrong key; removing it."""

from __future__ import annotations

import functools
import http.server
import threading

import pytest

from desktop.core import secrets
from desktop.core.models.remote import RemoteSources
from desktop.ui.models.remote import RemoteServersTab
from tests.support.remote_servers import API_KEY, closed_port_url, start_llama_server, stop

TIMEOUT = 30_000


@pytest.fixture
def tab(qtbot, runner):
    widget = RemoteServersTab(runner)
    qtbot.addWidget(widget)
    return widget


@pytest.fixture
def plain_http_server(tmp_path):
    """Python's own file server: an HTTP server that is no OpenAI API (GET /v1/models is a 404)."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *a, **k: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def run_test(qtbot, dialog, url, key=""):
    dialog.url_edit.setText(url)
    dialog.key_edit.setText(key)
    with qtbot.waitSignal(dialog.tested, timeout=TIMEOUT) as blocker:
        dialog.test_button.click()
    return blocker.args[0]


def test_an_empty_tab_says_nothing_is_contacted_until_a_server_is_added(tab):
    assert tab.tree.topLevelItemCount() == 0 and "contacts none unless you add it" in tab.hint.text()
    assert not tab.remove_button.isEnabled() and not tab.refresh_button.isEnabled()


def test_a_bad_url_is_said_at_once_and_nothing_can_be_added(qtbot, tab):
    dialog = tab.open_add_dialog()
    dialog.url_edit.setText("ftp://gpu-box/v1")
    with qtbot.waitSignal(dialog.tested, timeout=TIMEOUT) as blocker:
        dialog.test_button.click()
    assert blocker.args == [False] and "is not an http or https URL" in dialog.message.text()
    assert not dialog.add_button.isEnabled()


@pytest.mark.slow
def test_a_closed_port_and_a_server_that_is_no_openai_api_are_named(qtbot, tab, plain_http_server):
    dialog = tab.open_add_dialog()
    assert run_test(qtbot, dialog, closed_port_url()) is False
    assert "Cannot reach 127.0.0.1" in dialog.message.text() and "try again" in dialog.message.text()
    assert run_test(qtbot, dialog, plain_http_server) is False
    assert "does not look like an OpenAI-compatible server" in dialog.message.text()
    assert not dialog.add_button.isEnabled() and dialog.model_list.count() == 0


@pytest.mark.slow
def test_a_server_is_added_after_its_test_and_removed_with_its_key(qtbot, tab, smollm2, keyring_backend):
    keyring_backend("working")
    server = start_llama_server(smollm2)
    try:
        dialog = tab.open_add_dialog()
        assert run_test(qtbot, dialog, server.url, "wrong-key") is False
        assert "refused the API key (401" in dialog.message.text()
        assert run_test(qtbot, dialog, server.url, API_KEY) is True
        assert "lists 1 model" in dialog.message.text() and dialog.model_list.item(0).text() == server.model
        assert dialog.add_button.isEnabled()
        dialog.key_edit.setText("changed")  # another key is untested: Add waits for a new test
        assert not dialog.add_button.isEnabled()
        dialog.key_edit.setText(API_KEY)
        dialog.name_edit.setText("llama")
        with qtbot.waitSignal(tab.sources_changed, timeout=TIMEOUT):
            dialog.add_button.click()
    finally:
        stop(server)
    source = RemoteSources().get("llama")
    assert source.models == [server.model] and source.api_key() == API_KEY
    item = tab.tree.topLevelItem(0)
    assert item.text(0) == "llama" and item.text(2) == "kept in the keyring"
    item.setSelected(True)
    with qtbot.waitSignal(tab.sources_changed, timeout=TIMEOUT):
        tab.remove_button.click()
    assert RemoteSources().all() == [] and secrets.read_secret(source.secret_name) == ""
    assert tab.tree.topLevelItemCount() == 0


def test_the_add_dialog_has_room_for_its_title_and_a_url_with_a_path(qtbot, tab):
    dialog = tab.open_add_dialog()
    qtbot.waitExposed(dialog)
    metrics = dialog.fontMetrics()
    assert dialog.width() >= metrics.horizontalAdvance(dialog.windowTitle()) + 150  # the title bar's buttons too
    url = "https://gpu-box.lan:8443/openai/v1"
    assert dialog.url_edit.width() > metrics.horizontalAdvance(url)
    dialog.reject()
