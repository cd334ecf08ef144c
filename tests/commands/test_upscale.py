"""``genlab upscale IMAGE... --model M``: saved PNGs, history records, bad input."""

from __future__ import annotations

import argparse
import json
import sys

import pytest
from PIL import Image

from desktop.commands import upscale as upscale_command


def run_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    upscale_command.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["upscale", *argv])
    return args.func(args)


@pytest.fixture
def tiny_x2(tmp_path):
    from desktop.core.tiny_models.upscaler import build_tiny_esrgan

    return build_tiny_esrgan(tmp_path / "tiny-x2.pth", scale=2)


def generated_png(path, record_id="r1"):
    """A PNG carrying a GenLab record, as the Images workspace saves one."""
    from desktop.core.image.output import save_png

    img = Image.new("RGB", (24, 16), (200, 40, 90))
    record = {"id": record_id, "prompt": "a red barn", "negative_prompt": "fog", "seed": 77}
    save_png(img, path, "a red barn\nSteps: 1, Seed: 77, Size: 24x16", json.dumps(record))
    return path


@pytest.mark.upscale
def test_upscale_saves_a_new_png_and_records_where_it_came_from(tiny_x2, tmp_path, capsys):
    from desktop.core.history import open_history
    from desktop.core.image.output import parse_parameters, read_png_text
    from desktop.core.models.hashing import model_sha256

    source = generated_png(tmp_path / "barn.png")
    before = source.read_bytes()
    assert run_cli(str(source), "--model", str(tiny_x2), "--json") == 0
    data = json.loads(capsys.readouterr().out)
    out = data["images"][0]
    with Image.open(out["path"]) as img:
        assert img.size == (48, 32)
    assert source.read_bytes() == before
    store = open_history(start_embedder=False)
    try:
        record = store.get(out["id"])
    finally:
        store.close()
    assert record.parameters["mode"] == "upscale" and record.parent_id == "r1" and record.seed == 77
    assert record.prompt == "a red barn" and record.model.sha256 == model_sha256(tiny_x2)
    assert record.parameters["upscaler"]["architecture"] == "ESRGAN" and record.parameters["size"] == [48, 32]
    fields = parse_parameters(read_png_text(out["path"])["parameters"])
    assert fields["Postprocess upscaler"] == "tiny-x2" and fields["Prompt"] == "a red barn"


@pytest.mark.upscale
def test_a_name_in_the_upscalers_folder_is_found(tiny_x2, tmp_path, capsys):
    from desktop.core import paths

    folder = paths.models_dir() / "upscalers"
    folder.mkdir(parents=True)
    (folder / "Fast-x2.pth").write_bytes(tiny_x2.read_bytes())
    out = tmp_path / "big.png"
    assert run_cli(str(generated_png(tmp_path / "a.png")), "--model", "Fast-x2", "--out", str(out),
                   "--no-history") == 0
    assert str(out) in capsys.readouterr().out
    with Image.open(out) as img:
        assert img.size == (48, 32)


@pytest.mark.upscale
@pytest.mark.parametrize(("case", "words"), [
    ("not-an-image", "notes.png is not an image GenLab can read"),
    ("missing-image", "gone.png does not exist"),
    ("missing-model", "No upscaler named 'nothing-here'"),
    ("two-outs", "--out names one file, but several images were given"),
    ("tile", "Tile size 4 is too small"),
])
def test_bad_input_exits_2_with_one_line(tiny_x2, tmp_path, capsys, case, words):
    good = str(generated_png(tmp_path / "ok.png"))
    (tmp_path / "notes.png").write_text("just text")
    argv = {"not-an-image": [str(tmp_path / "notes.png"), "--model", str(tiny_x2)],
            "missing-image": [str(tmp_path / "gone.png"), "--model", str(tiny_x2)],
            "missing-model": [good, "--model", "nothing-here"],
            "two-outs": [good, good, "--model", str(tiny_x2), "--out", str(tmp_path / "o.png")],
            "tile": [good, "--model", str(tiny_x2), "--tile", "4"]}[case]
    assert run_cli(*argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and words in err[-1]


def test_without_spandrel_the_command_says_what_to_install(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "spandrel", None)
    assert run_cli(str(generated_png(tmp_path / "a.png")), "--model", str(tmp_path / "m.pth")) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "Model upscaling is not available" in err and 'genlab[upscale]' in err


@pytest.mark.upscale
def test_history_rerun_makes_an_upscale_again_and_names_a_missing_upscaler(tiny_x2, tmp_path, capsys):
    from desktop.cli import main

    source = generated_png(tmp_path / "barn.png")
    assert run_cli(str(source), "--model", str(tiny_x2), "--tile", "32", "--pad", "4", "--json") == 0
    made = json.loads(capsys.readouterr().out)["images"][0]
    assert main(["history", "rerun", made["id"], "--json"]) == 0
    verdict = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert verdict["matches"] and verdict["diff"] == "" and verdict["new_id"] != made["id"]
    assert verdict["output"] != made["path"]
    tiny_x2.rename(tmp_path / "moved.pth")  # neither where it was, nor in upscalers/, nor the library
    assert main(["history", "rerun", made["id"]]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error: ") and "tiny-x2 (sha256" in err and "upscalers/" in err
