"""``genlab text``: streams to stdout, --json, history, and one-line errors with exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from desktop.cli import main

# the slow set: most tests here load a real model or pipeline, or spawn processes
pytestmark = pytest.mark.slow

pytest.importorskip("llama_cpp")


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["text", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_streams_the_reply_to_stdout(stories260k, capsys):
    code, out, err = run_cli(capsys, "--model", str(stories260k), "--prompt", "Once upon a time",
                             "--temperature", "0", "--max-tokens", "24", "--no-history")
    assert code == 0
    import llama_cpp

    llm = llama_cpp.Llama(model_path=str(stories260k), n_ctx=2048, verbose=False)
    bare = llm.create_completion("Once upon a time", max_tokens=24, temperature=0, repeat_penalty=1.1)
    llm.close()
    assert out.rstrip("\n") == bare["choices"][0]["text"]
    assert "no chat template" in err and "24 tokens" in err


def test_json_output_and_history_record(tiny_gguf, capsys):
    code, out, _ = run_cli(capsys, "--model", str(tiny_gguf), "--prompt", "hello", "--system", "be short",
                           "--temperature", "0", "--max-tokens", "7", "--seed", "5", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["completion_tokens"] == 7 and data["mode"] == "chat"
    assert data["ttft_ms"] > 0 and data["tokens_per_s"] > 0 and data["seed"] == 5
    import hashlib

    assert data["model"]["sha256"] == hashlib.sha256(tiny_gguf.read_bytes()).hexdigest()
    from desktop.core.history import open_history

    store = open_history(start_embedder=False)
    try:
        record = store.get(data["id"])
    finally:
        store.close()
    assert record.output_text == data["text"] and record.system_prompt == "be short"
    assert record.parameters["max_tokens"] == 7 and record.seed == 5
    assert record.session_id and record.session_id == data["session_id"]  # each command is one session


def test_each_command_is_its_own_history_session(tiny_gguf, capsys):
    ids = []
    for prompt in ("first", "second"):
        code, out, _ = run_cli(capsys, "--model", str(tiny_gguf), "--prompt", prompt, "--max-tokens", "2", "--json")
        assert code == 0
        ids.append(json.loads(out)["id"])
    from desktop.core.history import open_history

    store = open_history(start_embedder=False)
    try:
        sessions = [store.get(i).session_id for i in ids]
    finally:
        store.close()
    assert all(sessions) and sessions[0] != sessions[1]


def test_model_by_library_id(tiny_gguf, capsys):
    from desktop.core.models.library import Library

    model = Library().add_path(tiny_gguf, source="imported", owned=False)
    code, out, _ = run_cli(capsys, "--model", model.id, "--prompt", "hi", "--max-tokens", "2", "--no-history",
                           "--json")
    assert code == 0 and json.loads(out)["model"]["sha256"] == model.sha256
    code, _, err = run_cli(capsys, "--model", "no-such-model", "--prompt", "hi", "--no-history")
    assert code == 2 and "No model in the library" in err


def test_completion_flag_and_no_history(tiny_gguf, capsys, genlab_home):
    code, out, _ = run_cli(capsys, "--model", str(tiny_gguf), "--prompt", "hi", "--completion",
                           "--max-tokens", "3", "--no-history", "--json")
    assert code == 0 and json.loads(out)["mode"] == "completion"
    assert not (genlab_home / "history").exists()


@pytest.mark.parametrize("extra, message", [
    (["--prompt", ""], "prompt is empty"),
    (["--prompt", "x", "--temperature", "-1"], "Temperature must be between 0 and 10 (got -1)"),
    (["--prompt", "x", "--top-p", "1.5"], "Top-p must be above 0 and at most 1 (got 1.5)"),
    (["--prompt", "x", "--max-tokens", "0"], "Max tokens must be at least 1 (got 0)"),
    (["--prompt", "x", "--ctx", "10"], "Context must be 0 (automatic) or between 64"),
])
def test_bad_input_is_one_error_line_and_exit_2(tiny_gguf, capsys, extra, message):
    code, out, err = run_cli(capsys, "--model", str(tiny_gguf), "--no-history", *extra)
    assert code == 2
    assert err.startswith("error: ") and message in err and err.count("\n") == 1
    assert out == ""


def test_bad_model_files(tmp_path, capsys):
    fake = tmp_path / "fake.gguf"
    fake.write_text("not a model")
    for model, message in [(fake, "not a GGUF model"), (tmp_path / "missing.gguf", "does not exist")]:
        code, _, err = run_cli(capsys, "--model", str(model), "--prompt", "hi", "--no-history")
        assert code == 2 and message in err


def test_real_process_exit_code(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "desktop", "text", "--model", str(tmp_path / "x.gguf"),
                           "--prompt", "hi", "--no-history"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error:") and "does not exist" in proc.stderr
