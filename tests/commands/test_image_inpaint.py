"""``genlab image --mask / --outpaint / --hires`` on the tiny pipeline, and every bad input's message."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from tests.commands.test_image import run_cli
from tests.core.image.inpaint_fixtures import write_init, write_square_mask

# the slow set: every test here needs the tiny pipeline (built once, ~20 s) and most run it
pytestmark = [pytest.mark.usefixtures("one_torch_thread"), pytest.mark.slow]


@pytest.fixture()
def init(tmp_path):
    return write_init(tmp_path / "photo.png")


def common(model) -> tuple[str, ...]:
    return ("--model", str(model), "--prompt", "a window", "--steps", "3", "--seed", "4", "--scheduler", "Euler",
            "--no-history", "--json")


def test_mask_inpaints_at_the_init_images_size(tiny_sd_pipeline, init, tmp_path, capsys):
    mask = write_square_mask(tmp_path / "m.png")
    assert run_cli(*common(tiny_sd_pipeline), "--init", str(init), "--mask", str(mask), "--mask-blur", "2") == 0
    data = json.loads(capsys.readouterr().out)
    params = data["parameters"]
    assert params["mode"] == "inpaint" and params["mask_blur"] == 2 and params["width"] == 64
    assert params["inpaint"]["method"] == "masked img2img" and len(params["mask_sha256"]) == 64
    with Image.open(data["images"][0]["path"]) as out, Image.open(init) as original:
        assert out.size == (64, 64)
        assert np.array_equal(np.asarray(out)[:8], np.asarray(original.convert("RGB"))[:8])


def test_a_mask_of_another_size_is_resized_with_a_note(tiny_sd_pipeline, init, tmp_path, capsys):
    mask = write_square_mask(tmp_path / "m.png", size=(32, 32), box=(8, 8, 20, 20))
    assert run_cli(*common(tiny_sd_pipeline), "--init", str(init), "--mask", str(mask)) == 0
    err = capsys.readouterr().err
    assert "warning: The mask m.png is 32x32 and the image 64x64: the mask was resized to fit." in err


def test_outpaint_and_hires(tiny_sd_pipeline, init, capsys):
    assert run_cli(*common(tiny_sd_pipeline), "--init", str(init), "--outpaint", "16,0,0,20") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["parameters"]["strength"] == 1.0 and data["parameters"]["outpaint"] == [16, 0, 0, 24]
    assert any("rounded to 16,0,0,24" in w for w in data["warnings"])
    with Image.open(data["images"][0]["path"]) as out:
        assert out.size == (80, 88)
    assert run_cli(*common(tiny_sd_pipeline), "--width", "64", "--height", "64", "--hires", "2:0.4",
                   "--hires-upscaler", "latent") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["parameters"]["hires"]["method"] == "latent" and data["parameters"]["hires"]["strength"] == 0.4
    with Image.open(data["images"][0]["path"]) as out:
        assert out.size == (128, 128)


@pytest.mark.parametrize("extra, message", [
    (("--mask", "{mask}"), "error: --mask needs --init"),
    (("--outpaint", "8,0,0,0"), "error: --outpaint needs --init"),
    (("--init", "{init}", "--mask", "{text}"), "error: The mask notes.txt is not an image GenLab can read"),
    (("--init", "{init}", "--mask", "{black}"), "error: The mask black.png is all black: it marks nothing to repaint"),
    (("--init", "{init}", "--mask", "{mask}", "--outpaint", "8,0,0,0"), "error: Choose a mask or outpainting"),
    (("--init", "{init}", "--outpaint=-8,0,0,0"), "error: Outpaint cannot shrink the image: left -8 is negative"),
    (("--init", "{init}", "--outpaint", "0,0,99999,0"), "error: Outpaint 0,0,99999,0 makes a 100064x64 canvas"),
    (("--init", "{init}", "--outpaint", "8,8"), "error: Outpaint takes four numbers"),
    (("--hires", "1:0.5"), "error: Hires scale must be above 1 and at most 4 (got 1.0)"),
    (("--hires", "5:0.5"), "error: Hires scale must be above 1 and at most 4 (got 5.0)"),
    (("--hires", "2:0"), "error: Hires strength must be above 0 and at most 1 (got 0.0)"),
    (("--hires", "2:1.5"), "error: Hires strength must be above 0 and at most 1 (got 1.5)"),
    (("--hires", "big"), "error: Hires takes SCALE:STRENGTH, two numbers"),
    (("--init", "{init}", "--mask", "{mask}", "--mask-blur", "100"), "error: Mask feather must be"),
])
def test_bad_input_exits_2_with_one_clear_line(tiny_sd_pipeline, init, tmp_path, capsys, extra, message):
    files = {"init": init, "mask": write_square_mask(tmp_path / "m.png"), "text": tmp_path / "notes.txt",
             "black": tmp_path / "black.png"}
    files["text"].write_text("white = repaint")
    Image.new("L", (64, 64), 0).save(files["black"])
    argv = [a.format(**files) for a in extra]
    assert run_cli(*common(tiny_sd_pipeline), "--width", "64", "--height", "64", *argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert message in captured.err and captured.err.count("error:") == 1


@pytest.mark.parametrize("extra", [("--mask", "{mask}"), ("--outpaint", "0,16,0,0"), ("--hires", "1.5:0.5", "--width", "64", "--height", "64")])
def test_history_rerun_makes_the_image_again_pixel_for_pixel(tiny_sd_pipeline, init, tmp_path, capsys, extra):
    from desktop.cli import main

    mask = write_square_mask(tmp_path / "m.png")
    argv = [a.format(mask=mask) for a in extra]
    assert main(["image", "--model", str(tiny_sd_pipeline), "--prompt", "a gate", "--steps", "3", "--seed", "8",
                 "--init", str(init), "--strength", "0.7", *argv, "--json"]) == 0
    [made] = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["images"]
    mask.unlink()  # the record's own copy of the mask is what a re-run reads
    assert main(["history", "rerun", made["id"], "--json"]) == 0
    verdict = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert verdict["matches"] and verdict["output"] != made["path"]
