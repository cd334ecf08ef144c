"""``genlab image`` on the tiny pipeline: output, JSON, history, one-line errors."""

from __future__ import annotations

import argparse
import json

import pytest
from PIL import Image

from desktop.commands import image as image_command
from desktop.core.image.output import parse_parameters, read_png_text

pytestmark = [pytest.mark.usefixtures("one_torch_thread"), pytest.mark.slow]


def run_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    image_command.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["image", *argv])
    return args.func(args)


def test_json_output_and_out_file(tiny_sd_pipeline, tmp_path, capsys):
    out = tmp_path / "result.png"
    rc = run_cli("--model", str(tiny_sd_pipeline), "--prompt", "a boat", "--negative", "rain", "--steps", "3",
                 "--width", "64", "--height", "64", "--seed", "7", "--scheduler", "Euler a",
                 "--out", str(out), "--no-history", "--json")
    assert rc == 0
    data = json.loads(capsys.readouterr().out)
    assert data["images"][0]["path"] == str(out) and data["images"][0]["seed"] == 7
    assert data["parameters"]["scheduler"] == "Euler a" and data["parameters"]["steps"] == 3
    parsed = parse_parameters(read_png_text(out)["parameters"])
    assert (parsed["Prompt"], parsed["Negative prompt"], parsed["Seed"]) == ("a boat", "rain", "7")
    with Image.open(out) as img:
        assert img.size == (64, 64)


def test_family_defaults_fill_unset_options_and_history_gets_the_record(tiny_sd_pipeline, capsys):
    from desktop.core.history import open_history

    rc = run_cli("--model", str(tiny_sd_pipeline), "--prompt", "a tree", "--steps", "1",
                 "--width", "64", "--height", "64", "--json")
    assert rc == 0
    data = json.loads(capsys.readouterr().out)
    assert data["parameters"]["scheduler"] == "DPM++ 2M Karras"  # the SD 1.x default
    store = open_history(start_embedder=False)
    try:
        record = store.get(data["images"][0]["id"])
    finally:
        store.close()
    assert record.kind == "image" and record.prompt == "a tree" and record.seed == data["images"][0]["seed"]
    assert record.model.sha256 == data["model"]["sha256"]


def test_a_batch_is_one_history_session_and_each_command_another(tiny_sd_pipeline, capsys):
    from desktop.core.history import open_history

    common = ("--model", str(tiny_sd_pipeline), "--steps", "1", "--width", "64", "--height", "64", "--json")
    assert run_cli(*common, "--prompt", "two boats", "--batch", "2") == 0
    batch = json.loads(capsys.readouterr().out)
    assert run_cli(*common, "--prompt", "one more boat") == 0
    single = json.loads(capsys.readouterr().out)
    store = open_history(start_embedder=False)
    try:
        records = [store.get(i["id"]) for i in batch["images"] + single["images"]]
    finally:
        store.close()
    assert len(records) == 3 and records[0].session_id
    assert records[0].session_id == records[1].session_id == batch["session_id"]
    assert records[2].session_id == single["session_id"] not in ("", batch["session_id"])


@pytest.mark.parametrize("extra, message", [
    (["--width", "7"], "Width 7 must be between 64 and 2048 px"),
    (["--width", "100000"], "Width 100000 must be between 64 and 2048 px"),
    (["--width", "100", "--height", "70"], "Width 100 and Height 70 must be multiples of 8 (try 104 × 72)"),
    (["--steps", "0"], "Steps must be between 1 and 150"),
    (["--steps", "10000"], "Steps must be between 1 and 150"),
    (["--guidance", "nan"], "Guidance scale must be a number"),
    (["--guidance", "-1"], "Guidance scale must be between 0 and 30 (got -1)"),
    (["--scheduler", "Bogus"], "Scheduler must be one GenLab knows (got 'Bogus')"),
])
def test_bad_parameters_exit_2_with_one_line(tiny_sd_pipeline, capsys, extra, message):
    rc = run_cli("--model", str(tiny_sd_pipeline), "--prompt", "x", "--no-history", *extra)
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.startswith("error: ") and message in err
    assert len(err.splitlines()) == 1


def test_pickle_checkpoint_and_unknown_library_id(tmp_path, capsys):
    ckpt = tmp_path / "model.ckpt"
    ckpt.write_bytes(b"\x80\x04K\x01.")
    assert run_cli("--model", str(ckpt), "--prompt", "x") == 2
    assert "pickle" in capsys.readouterr().err
    assert run_cli("--model", "no-such-model", "--prompt", "x") == 2
    assert "No model in the library matches 'no-such-model'" in capsys.readouterr().err


def test_empty_prompt_warns_but_succeeds(tiny_sd_pipeline, capsys):
    rc = run_cli("--model", str(tiny_sd_pipeline), "--prompt", "", "--steps", "1", "--width", "64",
                 "--height", "64", "--no-history")
    captured = capsys.readouterr()
    assert rc == 0 and "warning: The prompt is empty" in captured.err
    assert captured.out.strip().endswith(")") and ".png" in captured.out


def test_incognito_writes_only_the_named_file_without_metadata(tiny_sd_pipeline, tmp_path, capsys, genlab_home):
    from desktop.core.settings import load_settings, save_settings

    settings, _ = load_settings()
    settings.history.incognito = True
    save_settings(settings)
    common = ("--model", str(tiny_sd_pipeline), "--prompt", "an incognito walrus", "--steps", "1",
              "--width", "64", "--height", "64")
    assert run_cli(*common) == 2
    assert "--out" in capsys.readouterr().err
    out = tmp_path / "kept.png"
    assert run_cli(*common, "--out", str(out), "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["images"][0]["path"] == str(out) and data["images"][0]["thumbnail"] is None
    assert read_png_text(out) == {}
    assert not (genlab_home / "history").exists() and not (genlab_home / "outputs").exists()
