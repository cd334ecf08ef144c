"""Outpainting: the canvas, its mask, its size, the kept picture, and bad pads."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from desktop.core.errors import InvalidParameter
from desktop.core.history.rerun import compare_images, image_rerun_params
from desktop.core.image.engine import ImageRequest
from desktop.core.image.masks import feather
from desktop.core.image.outpaint import check_pads, outpaint_canvas, parse_pads
from desktop.core.image.output import parse_parameters, read_png_text
from desktop.core.image.params import FLUX, validate_params
from tests.core.image.inpaint_fixtures import inpaint_params, pixels, write_init

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture()
def init(tmp_path):
    return write_init(tmp_path / "init.png")


def test_canvas_holds_the_image_and_masks_only_the_new_area_and_the_overlap(init):
    with Image.open(init) as img:
        original = img.convert("RGB")
    canvas = outpaint_canvas(original, (16, 8, 0, 24), seed=5, overlap=8)
    assert canvas.size == (64 + 16, 64 + 8 + 24)
    inside = pixels(canvas.image)[8:72, 16:80]
    assert np.array_equal(inside, pixels(original))
    mask = np.asarray(canvas.mask)
    assert (mask[:8] == 255).all() and (mask[72:] == 255).all() and (mask[:, :16] == 255).all()
    assert (mask[8:72, 16:24] == 255).all()  # 8 px into the old image on the left
    assert (mask[16:64, 24:80] == 0).all()  # no overlap on the right: nothing added there
    again = outpaint_canvas(original, (16, 8, 0, 24), seed=5, overlap=8)
    assert np.array_equal(pixels(again.image), pixels(canvas.image))  # the fill noise is seeded
    other = outpaint_canvas(original, (16, 8, 0, 24), seed=6, overlap=8)
    assert not np.array_equal(pixels(other.image), pixels(canvas.image))


@pytest.mark.slow
def test_outpainted_size_and_the_old_picture_kept(engine, tiny_sd_pipeline, init):
    folder = tiny_sd_pipeline
    p = inpaint_params(init, outpaint=[16, 0, 32, 8], strength=1.0)
    result = engine.generate(ImageRequest(str(folder), p))
    [image] = result.images
    assert image.image.size == (64 + 16 + 32, 64 + 8)
    with Image.open(image.path) as saved:
        assert saved.size == (112, 72)
    record = image.record.parameters
    assert record["mode"] == "outpaint" and record["outpaint"] == [16, 0, 32, 8]
    assert record["inpaint"]["size"] == [112, 72] and record["inpaint"]["pads"] == [16, 0, 32, 8]
    assert record["mask_image"] == ""  # made again from the pads on a re-run
    assert parse_parameters(read_png_text(image.path)["parameters"])["Size"] == "112x72"
    with Image.open(record["inpaint"]["mask_path"]) as stored:
        keep = np.asarray(feather(stored.convert("L"), p.mask_blur)) == 0
    old = np.zeros((72, 112), bool)
    old[0:64, 16:80] = True
    assert keep[old].sum() > 64 * 20 and not keep[~old].any()
    with Image.open(init) as img:
        canvas = np.zeros((72, 112, 3), int)
        canvas[0:64, 16:80] = pixels(img)
    assert np.abs(pixels(image.image) - canvas)[keep].max() <= 1
    [again] = engine.generate(ImageRequest(str(folder), image_rerun_params(image.record))).images
    assert compare_images(image.path, again.path).matches


@pytest.mark.slow
def test_outpaint_with_the_inpainting_checkpoint(engine, tmp_path, init):
    from desktop.core.tiny_models.inpaint import build_tiny_sd_inpaint_pipeline

    folder = build_tiny_sd_inpaint_pipeline(tmp_path / "inpaint")
    [image] = engine.generate(ImageRequest(str(folder), inpaint_params(init, outpaint=[0, 16, 0, 0]))).images
    assert image.image.size == (64, 80) and image.record.parameters["inpaint"]["method"] == "inpainting checkpoint"


def test_pads_are_rounded_to_the_size_step_with_a_note(init):
    checked = validate_params(inpaint_params(init, outpaint=[5, 0, 12, 0]))
    assert checked.params.outpaint == [8, 0, 16, 0]
    assert any("rounded to 8,0,16,0" in w for w in checked.warnings)
    assert check_pads([20, 0, 0, 0], 64, 64, 16, 2048) == (16, 0, 0, 0)  # SD3/FLUX go in 16s
    assert check_pads([24, 0, 0, 0], 64, 64, 16, 2048) == (32, 0, 0, 0)


@pytest.mark.parametrize("pads, message", [
    ([-8, 0, 0, 0], "cannot shrink the image: left -8 is negative"),
    ([0, 0, 0, 0], "adds nothing"),
    ([0, 3, 0, 0], "adds nothing"),
    ([0, 0, 4096, 0], "makes a 4160x64 canvas; this model takes at most 2048 px"),
    ([8, 8, 8], "four whole numbers"),
    ([8.5, 0, 0, 0], "four whole numbers"),
])
def test_bad_pads_are_refused(init, pads, message):
    with pytest.raises(InvalidParameter, match=message):
        validate_params(inpaint_params(init, outpaint=pads))


def test_outpaint_needs_an_init_image(init):
    with pytest.raises(InvalidParameter, match="give the init image too"):
        validate_params(inpaint_params(init, init_image="", outpaint=[8, 0, 0, 0]))


@pytest.mark.parametrize("text, message", [("8,0,0", "four numbers"), ("a,b,c,d", "whole pixel numbers"),
                                           ("8.5,0,0,0", "whole pixel numbers")])
def test_parse_pads_says_what_is_wrong(text, message):
    with pytest.raises(InvalidParameter, match=message):
        parse_pads(text)
    assert parse_pads("64, 0, 128,0") == (64, 0, 128, 0)


def test_flux_canvas_goes_in_steps_of_16(init):
    checked = validate_params(inpaint_params(init, outpaint=[8, 0, 0, 0], guidance=3.5), FLUX)
    assert checked.params.outpaint == [16, 0, 0, 0]
