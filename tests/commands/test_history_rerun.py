"""``genlab history rerun ID``: the record made again exactly, and the verdict in the exit code."""

from __future__ import annotations

import dataclasses
import json

import pytest

from desktop.cli import main
from desktop.core.history.store import HistoryStore
from desktop.core.records import ModelIdentity, new_id
from tests.support.history import make_record

# the slow set: most tests here load a real model or pipeline, or spawn processes
pytestmark = pytest.mark.slow


def _json(capsys) -> dict:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def _recorded(record_id: str):
    store = HistoryStore(embedder=None)
    try:
        return store.get(record_id)
    finally:
        store.close()


def _save(record) -> None:
    store = HistoryStore(embedder=None)
    try:
        store.save_and_wait(record)
    finally:
        store.close()


@pytest.mark.slow
def test_a_text_record_is_made_again_byte_for_byte(smollm2, capsys):
    assert main(["text", "--model", str(smollm2), "--prompt", "Name three colours.", "--seed", "11",
                 "--temperature", "0.9", "--max-tokens", "32", "--json"]) == 0
    made = _json(capsys)
    assert main(["history", "rerun", made["id"], "--json"]) == 0
    verdict = _json(capsys)
    assert verdict["matches"] and verdict["output"] == made["text"] and verdict["diff"] == ""
    assert main(["history", "rerun", made["id"]]) == 0
    assert "matches the recorded output" in capsys.readouterr().out


def test_a_record_whose_output_differs_exits_1_with_a_diff(smollm2, capsys):
    assert main(["text", "--model", str(smollm2), "--prompt", "Say hello.", "--seed", "3",
                 "--max-tokens", "16", "--json"]) == 0
    made = _recorded(_json(capsys)["id"])
    edited = dataclasses.replace(made, id=new_id(), output_text="Not what the model said.")
    _save(edited)
    assert main(["history", "rerun", edited.id, "--no-history"]) == 1
    out = capsys.readouterr().out
    assert "differs from the recorded output" in out
    assert "--- recorded" in out and "+++ re-run" in out and "-Not what the model said." in out


def test_an_image_record_is_made_again_pixel_for_pixel(tiny_sd_pipeline, one_torch_thread, capsys):
    assert main(["image", "--model", str(tiny_sd_pipeline), "--prompt", "a red boat", "--steps", "3",
                 "--width", "64", "--height", "64", "--seed", "5", "--json"]) == 0
    [made] = _json(capsys)["images"]
    assert main(["history", "rerun", made["id"], "--json"]) == 0
    verdict = _json(capsys)
    assert verdict["kind"] == "image" and verdict["matches"] and verdict["output"] != made["path"]


def test_an_unknown_id_is_one_error_line(capsys, genlab_home):
    HistoryStore(embedder=None).close()
    assert main(["history", "rerun", "no-such-id"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "no-such-id" in err


@pytest.mark.parametrize("sha256", ["", "ab" * 32])
def test_a_model_that_is_not_there_is_one_error_line(capsys, sha256):
    record = make_record("hello")
    record.model = ModelIdentity(name="Ghost-7B", file="ghost.gguf", sha256=sha256)
    _save(record)
    assert main(["history", "rerun", record.id]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Ghost-7B" in err
