"""``genlab serve`` as a real process: it listens on loopback, takes its key from the environment or
else the one saved in Preferences, refuses other addresses without a key, and stops cleanly on SIGTERM;
the history filters accept api."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import openai
import pytest

from desktop.cli import main
from desktop.core.history.store import HistoryStore
from desktop.core.secrets import API_SERVER_KEY, save_secret
from tests.support.history import make_record

REPO_ROOT = Path(__file__).resolve().parents[2]
KEY = "key-from-the-environment"


@pytest.mark.slow
def test_serve_listens_on_loopback_with_the_environment_key_and_stops_on_sigterm(genlab_home):
    env = dict(os.environ, GENLAB_HOME=str(genlab_home), GENLAB_API_KEY=KEY)
    process = subprocess.Popen([sys.executable, "-m", "desktop", "serve", "--port", "0"], cwd=REPO_ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()  # the process prints it once it listens
        assert line.startswith("GenLab API on http://127.0.0.1:"), (line, process.stderr.read())
        url = line.split()[3]
        client = openai.OpenAI(base_url=url, api_key=KEY, max_retries=0, _strict_response_validation=True)
        assert client.models.list().object == "list"
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=url, api_key="wrong-key-here", max_retries=0).models.list()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
        assert "GenLab API stopped" in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _status(url: str, key: str | None) -> int:
    request = urllib.request.Request(f"{url}/models", headers={"Authorization": f"Bearer {key}"} if key else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.slow
def test_serve_without_a_key_given_uses_the_one_saved_in_preferences(genlab_home):
    key = "key-saved-in-preferences"
    # no keyring backend here (the autouse no_os_keyring fixture) nor in the process: the saved key is in the
    # user-only file, and the process never reads the keyring of whoever runs the tests
    assert save_secret(API_SERVER_KEY, key).endswith(".secret")
    env = {k: v for k, v in os.environ.items() if k != "GENLAB_API_KEY"}
    env.update(GENLAB_HOME=str(genlab_home), PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    process = subprocess.Popen([sys.executable, "-m", "desktop", "serve", "--port", "0"], cwd=REPO_ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        assert line.startswith("GenLab API on http://127.0.0.1:"), (line, process.stderr.read())
        assert "no API key" not in line
        url = line.split()[3]
        assert _status(url, None) == 401
        assert _status(url, "wrong-key-here") == 401
        assert _status(url, key) == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
        assert "Using the API key saved in Preferences." in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_serving_on_another_address_without_a_key_is_refused(genlab_home, capsys, monkeypatch):
    monkeypatch.delenv("GENLAB_API_KEY", raising=False)
    assert main(["serve", "--host", "0.0.0.0", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "needs an API key" in err and "--api-key" in err


def test_history_search_accepts_origin_api(genlab_home, capsys):
    store = HistoryStore(embedder=None, idle_seconds=3600)
    store.save_many([make_record("asked by another app", origin="api"), make_record("asked here")])
    store.close()
    assert main(["history", "search", "asked", "--mode", "keyword", "--origin", "api", "--json"]) == 0
    out = capsys.readouterr().out
    assert "asked by another app" in out and "asked here" not in out
