"""The app's API server: toggled in the settings, on a real port, through the window's engine queue.

Real pieces throughout: uvicorn on 127.0.0.1, the official ``openai`` client,
llama.cpp with the real stories260K model, a real LanceDB history, the
window's JobRunner.  Client calls run on a worker thread, because the served
job is handed to the runner through the GUI thread's event loop.
"""

from __future__ import annotations

import copy
import json
import threading
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from desktop.core import paths
from desktop.core.history.store import HistoryStore
from desktop.core.jobs import Job
from desktop.core.records import GenerationRecord
from desktop.core.services import Services
from desktop.ui.main_window import MainWindow
from desktop.ui.runner import QUEUED, RUNNING

# the slow set: most tests here load a real model or pipeline, or spawn processes
pytestmark = pytest.mark.slow

TIMEOUT = 60000
MODEL = "stories260K.gguf"  # the library names a found file by its file name


@pytest.fixture
def services(genlab_home, stories260k):
    s = Services()
    store = s.provide_history_store(HistoryStore(embedder=None))
    s.set_history(store)
    store.save_and_wait(GenerationRecord(kind="text", prompt="made in Chat", output_text="not served"))
    s.library.add_path(stories260k, source="found", owned=False)
    yield s
    s.close()


@pytest.fixture
def window(qtbot, services, runner):
    w = MainWindow(services, runner, start_services=False)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.api_server.stop()


@pytest.fixture
def pool():
    with ThreadPoolExecutor(max_workers=2) as p:
        yield p


def serve(window, **server) -> str:
    """Turn the server on with these settings (port 0: a free one); returns its /v1 URL."""
    new = copy.deepcopy(window.services.settings)
    new.server.enabled, new.server.port = True, 0
    for name, value in server.items():
        setattr(new.server, name, value)
    window.apply_settings(new)
    assert window.api_server.running, window.api_server.error
    return window.api_server.url


def model_ids(url: str, headers: dict | None = None) -> list[str]:
    with urllib.request.urlopen(urllib.request.Request(f"{url}/models", headers=headers or {}), timeout=30) as r:
        return [m["id"] for m in json.load(r)["data"]]


def openai_client(url: str, api_key: str = "no-key"):
    import openai

    return openai.OpenAI(base_url=url, api_key=api_key, max_retries=0, timeout=120,
                         _strict_response_validation=True)


def chat(url: str, api_key: str = "no-key"):
    return openai_client(url, api_key).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Once upon a time"}], max_tokens=8,
        temperature=0)


def wait_result(qtbot, future):
    qtbot.waitUntil(future.done, timeout=TIMEOUT)
    return future.result()


def test_toggling_on_serves_the_library_and_shows_the_port_and_off_stops_it(qtbot, window):
    assert window.api_indicator.isHidden()
    url = serve(window)
    port = int(window.api_server.address.rsplit(":", 1)[1])
    assert port != 0 and url == f"http://127.0.0.1:{port}/v1"
    assert window.api_indicator.isVisible() and window.api_indicator.text() == f"API 127.0.0.1:{port}"
    assert MODEL in model_ids(url)

    window.api_indicator.click()
    assert window.api_log_dock.isVisible()
    qtbot.waitUntil(lambda: any("GET /v1/models" in row for row in window.api_log_dock.widget().rows()),
                    timeout=TIMEOUT)

    off = copy.deepcopy(window.services.settings)
    off.server.enabled = False
    window.apply_settings(off)
    assert not window.api_server.running and window.api_indicator.isHidden()
    with pytest.raises(urllib.error.URLError) as refused:
        model_ids(url)
    assert isinstance(refused.value.reason, ConnectionRefusedError)


def test_a_chat_completion_queues_behind_a_gui_job_shows_in_jobs_and_lands_in_log_and_history(
        qtbot, window, runner, services, pool):
    url = serve(window)
    release = threading.Event()

    def gui_job(*, cancel, progress):
        while not release.wait(0.01):
            cancel.raise_if_cancelled()

    gui = runner.submit(Job("Generating in Chat", gui_job))
    qtbot.waitUntil(lambda: gui.state == RUNNING, timeout=TIMEOUT)
    reply = pool.submit(chat, url)
    # The API request waits in the app's one engine queue, visible in the Jobs panel, behind the GUI job.
    window.toggle_jobs()
    # Other jobs of the window (Chat reading its threads at start) may be listed too: find the API one.
    def api_rows():
        return [r.handle for r in window.jobs_panel.rows() if r.handle.name.startswith("API reply")]

    qtbot.waitUntil(lambda: len(api_rows()) == 1, timeout=TIMEOUT)
    api = api_rows()[0]
    assert api.name.startswith(f"API reply with {MODEL} for OpenAI/Python")  # the client's User-Agent
    assert api.state == QUEUED and gui.state == RUNNING
    release.set()
    completion = wait_result(qtbot, reply)
    assert completion.choices[0].finish_reason == "length" and completion.usage.completion_tokens == 8
    assert api.state == "done"

    panel = window.api_log_dock.widget()
    qtbot.waitUntil(lambda: any("POST /v1/chat/completions" in row for row in panel.rows()), timeout=TIMEOUT)
    row = next(r for r in panel.rows() if "POST /v1/chat/completions" in r)
    assert row[1].startswith("OpenAI/Python") and row[3] == MODEL and row[4] == "200 done" and row[5] == "8"

    history = window.workspace("history")
    qtbot.waitUntil(lambda: history.last_result is not None, timeout=TIMEOUT)
    with qtbot.waitSignal(history.results_shown, timeout=TIMEOUT):
        history.origin.setCurrentIndex(history.origin.findData("api"))
    hits = [h.record for h in history.results.hits]
    assert [(r.origin, r.output_text) for r in hits] == [("api", completion.choices[0].message.content)]
    assert hits[0].parameters["api_client"].startswith("OpenAI/Python")


def test_cancel_in_the_jobs_panel_stops_a_served_request(qtbot, window, runner, pool):
    url = serve(window)
    release = threading.Event()
    gui = runner.submit(Job("Generating in Chat", lambda *, cancel, progress: release.wait(60)))
    qtbot.waitUntil(lambda: gui.state == RUNNING, timeout=TIMEOUT)
    reply = pool.submit(chat, url)
    window.toggle_jobs()
    def api_rows():  # other jobs of the window (Chat reading its threads) may be listed too
        return [r for r in window.jobs_panel.rows() if r.handle.name.startswith("API reply")]

    qtbot.waitUntil(lambda: len(api_rows()) == 1, timeout=TIMEOUT)
    api_rows()[0].cancel_button.click()
    import openai

    qtbot.waitUntil(reply.done, timeout=TIMEOUT)  # answered at once, not after the GUI job
    assert not release.is_set() and gui.state == RUNNING
    with pytest.raises(openai.APIError):
        reply.result()
    release.set()


def test_a_served_reply_shows_its_tokens_in_the_jobs_panel_like_a_gui_job(qtbot, window, runner, pool):
    url = serve(window)
    release = threading.Event()
    gui = runner.submit(Job("Generating in Chat", lambda *, cancel, progress: release.wait(60)))
    qtbot.waitUntil(lambda: gui.state == RUNNING, timeout=TIMEOUT)
    reply = pool.submit(chat, url)  # 8 tokens
    window.toggle_jobs()

    def api_row():  # the panel rebuilds its rows when the queue changes: find the current one
        return next((r for r in window.jobs_panel.rows() if r.handle.name.startswith("API reply")), None)

    qtbot.waitUntil(lambda: api_row() is not None, timeout=TIMEOUT)
    handle = api_row().handle
    shown: list[str] = []

    def on_progress(_batch) -> None:
        row = api_row()
        if row is not None:
            row.refresh()  # what the panel's timer does a few times a second
            shown.append(row.label.text())

    handle.progressed.connect(on_progress)
    release.set()
    wait_result(qtbot, reply)
    qtbot.waitUntil(lambda: handle.state == "done", timeout=TIMEOUT)
    assert shown and all(text.startswith(f"{handle.name} — ") for text in shown)
    assert any(text.endswith("/8 tokens") for text in shown), shown
    assert shown[-1] == f"{handle.name} — 8/8 tokens"


def test_quitting_the_app_stops_the_server(qtbot, window):
    url = serve(window)
    assert MODEL in model_ids(url)
    window.close()
    assert not window.api_server.running
    with pytest.raises(urllib.error.URLError) as refused:
        model_ids(url)
    assert isinstance(refused.value.reason, ConnectionRefusedError)


def test_a_non_loopback_host_without_a_key_is_refused_on_screen(qtbot, services):
    from desktop.ui.preferences import PreferencesDialog

    dialog = PreferencesDialog(services.settings)
    qtbot.addWidget(dialog)
    dialog.show()
    group = dialog.server
    group.enabled.setChecked(True)
    group.host.setText("0.0.0.0")
    dialog.accept()
    assert dialog.result() != PreferencesDialog.DialogCode.Accepted and dialog.isVisible()
    assert group.message.isVisible()
    assert "0.0.0.0" in group.message.text() and "needs an API key" in group.message.text()

    group.host.setText("127.0.0.1")
    group.api_key.setText("short")
    dialog.accept()
    assert "at least 8 printable characters" in group.message.text() and dialog.isVisible()


def test_a_port_in_use_is_refused_on_screen(qtbot, services):
    import socket

    from desktop.ui.preferences import PreferencesDialog

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        dialog = PreferencesDialog(services.settings)
        qtbot.addWidget(dialog)
        dialog.show()
        dialog.server.enabled.setChecked(True)
        dialog.server.port.setValue(port)
        dialog.accept()
        assert dialog.isVisible() and dialog.server.message.isVisible()
        assert f"Port {port} on 127.0.0.1 is in use by another program" in dialog.server.message.text()
        dialog.server.port.setValue(0)  # any free port
        dialog.accept()
    assert dialog.result() == PreferencesDialog.DialogCode.Accepted
    assert dialog.result_settings.server.enabled and dialog.result_settings.server.port == 0


def test_the_key_goes_to_the_keyring_not_the_settings_and_the_server_requires_it(qtbot, window, keyring_backend):
    from desktop.core.secrets import KEYRING_SERVICE
    from desktop.ui.preferences import PreferencesDialog
    from desktop.ui.server.controller import API_KEY_SECRET

    backend = keyring_backend("working")
    key = "s3cret-key-for-the-test"
    dialog = PreferencesDialog(window.services.settings, window, serving=window.api_server.address)
    dialog.server.enabled.setChecked(True)
    dialog.server.port.setValue(0)
    dialog.server.api_key.setText(key)
    dialog.accept()
    assert dialog.result() == PreferencesDialog.DialogCode.Accepted
    window.take_preferences(dialog)
    assert window.api_server.running, window.api_server.error
    assert backend.passwords[(KEYRING_SERVICE, API_KEY_SECRET)] == key
    saved = paths.settings_file().read_text(encoding="utf-8")
    assert json.loads(saved)["server"]["enabled"] is True and key not in saved
    assert not list(paths.data_root().glob("*.secret"))  # the keyring kept it: no file copy
    again = PreferencesDialog(window.services.settings, window)
    assert again.server.key() == key  # shown from the keyring next time

    url = window.api_server.url
    with pytest.raises(urllib.error.HTTPError) as refused:
        model_ids(url)
    assert refused.value.code == 401
    assert MODEL in model_ids(url, {"Authorization": f"Bearer {key}"})


def test_a_streamed_reply_arrives_in_chunks_through_the_window_queue(qtbot, window, pool):
    url = serve(window)

    def stream():
        chunks = openai_client(url).chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "Once upon a time"}], max_tokens=8,
            temperature=0, stream=True, stream_options={"include_usage": True})
        return list(chunks)

    chunks = wait_result(qtbot, pool.submit(stream))
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 8
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "length"


def test_the_server_starts_with_the_app_when_the_settings_say_so(qtbot, services, runner):
    services.settings.server.enabled, services.settings.server.port = True, 0
    w = MainWindow(services, runner)  # background services on: they start after the first paint
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.api_server.running, timeout=TIMEOUT)
    assert w.api_indicator.text() == f"API {w.api_server.address}" and MODEL in model_ids(w.api_server.url)
    w.close()
    assert not w.api_server.running


def test_a_server_that_cannot_start_says_why_in_the_status_bar(qtbot, window):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        new = copy.deepcopy(window.services.settings)
        new.server.enabled, new.server.port = True, port
        window.apply_settings(new)  # settings written by hand: the dialog's check did not run
    assert not window.api_server.running
    assert window.api_indicator.isVisible() and window.api_indicator.text() == "⚠ API not running"
    assert f"could not listen on 127.0.0.1:{port}" in window.api_indicator.toolTip()
    assert window.statusBar().currentMessage().startswith("The API server did not start:")
    off = copy.deepcopy(window.services.settings)
    off.server.enabled = False
    window.apply_settings(off)
    assert window.api_indicator.isHidden()  # turned off: no warning left behind


def test_without_model_switching_a_request_for_another_model_is_refused_and_the_loaded_one_stays(
        qtbot, window, services, tiny_gguf, pool):
    import openai

    services.library.add_path(tiny_gguf, source="found", owned=False)
    url = serve(window, switch_models=False)
    wait_result(qtbot, pool.submit(chat, url))  # nothing was loaded: stories260K loads
    other = pool.submit(lambda: openai_client(url).chat.completions.create(
        model=tiny_gguf.name, messages=[{"role": "user", "content": "hi"}], max_tokens=4))
    qtbot.waitUntil(other.done, timeout=TIMEOUT)
    with pytest.raises(openai.ConflictError, match="does not switch models for API calls"):
        other.result()
    assert services.text_engine.loaded.path.name == MODEL
