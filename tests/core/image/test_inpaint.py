"""Inpainting on the tiny SD pipeline (masked img2img) and a tiny inpainting UNet (9 input channels)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from desktop.core.errors import InvalidParameter
from desktop.core.history.rerun import compare_images, image_rerun_params
from desktop.core.image.engine import ImageRequest
from desktop.core.image.inpaint import CHECKPOINT, MASKED_IMG2IMG
from desktop.core.image.masks import feather, paste_back, read_mask
from desktop.core.image.output import delete_output, mask_path_for, parse_parameters, read_png_text
from desktop.core.image.params import ImageParams, validate_params
from tests.core.image.inpaint_fixtures import (
    LoadCounter,
    inpaint_params,
    pixels,
    write_init,
    write_square_mask,
)

# the slow set: most tests here run the tiny pipelines
pytestmark = [pytest.mark.usefixtures("one_torch_thread"), pytest.mark.slow]


@pytest.fixture(scope="module")
def tiny_inpaint_pipeline(tmp_path_factory) -> Path:
    from desktop.core.tiny_models.inpaint import build_tiny_sd_inpaint_pipeline

    return build_tiny_sd_inpaint_pipeline(tmp_path_factory.mktemp("sd-inpaint") / "tiny-sd-inpaint")


@pytest.fixture()
def init(tmp_path) -> Path:
    return write_init(tmp_path / "init.png")


@pytest.fixture()
def mask(tmp_path) -> Path:
    return write_square_mask(tmp_path / "mask.png")


def outside_feather(mask_path: Path, blur: int) -> np.ndarray:
    """True where the feathered mask is 0: the pixels that must be the init image's."""
    return np.asarray(feather(read_mask(mask_path, (64, 64)).image, blur)) == 0


@pytest.mark.parametrize("model, method", [("tiny_sd_pipeline", MASKED_IMG2IMG),
                                           ("tiny_inpaint_pipeline", CHECKPOINT)])
def test_outside_the_mask_the_result_is_the_init_image(engine, request, init, mask, model, method):
    folder = request.getfixturevalue(model)
    [result] = engine.generate(ImageRequest(str(folder), inpaint_params(init, mask_image=str(mask)))).images
    keep = outside_feather(mask, 4)
    assert keep.sum() > 64 * 64 / 2  # most of the picture is kept
    diff = np.abs(pixels(result.image) - pixels(Image.open(init)))
    assert diff[keep].max() <= 1
    assert diff[~keep].max() > 10  # and the masked part was repainted
    with Image.open(result.path) as saved:
        assert np.array_equal(pixels(saved), pixels(result.image))
    inpaint = result.record.parameters["inpaint"]
    assert inpaint["method"] == method and inpaint["kind"] == "inpaint" and inpaint["blur"] == 4
    assert result.record.parameters["mode"] == "inpaint"
    assert result.record.parameters["pipeline"] == "StableDiffusionInpaintPipeline"


def test_matches_bare_diffusers_inside_the_mask(engine, tiny_sd_pipeline, init, tmp_path):
    """The engine calls diffusers' inpainting pipeline as a user would; only the paste-back is added."""
    import diffusers
    import torch

    mask = write_square_mask(tmp_path / "wide.png", box=(8, 8, 56, 48))
    p = inpaint_params(init, mask_image=str(mask))
    [ours] = engine.generate(ImageRequest(str(tiny_sd_pipeline), p)).images
    bare = diffusers.StableDiffusionInpaintPipeline.from_pretrained(
        tiny_sd_pipeline, local_files_only=True, safety_checker=None, requires_safety_checker=False)
    bare.set_progress_bar_config(disable=True)
    bare.scheduler = diffusers.EulerDiscreteScheduler.from_config(bare.scheduler.config)
    with Image.open(init) as img, Image.open(mask) as m:
        init_rgb, mask_l = img.convert("RGB"), m.convert("L")
    theirs = bare(p.prompt, image=init_rgb, mask_image=mask_l, strength=p.strength, width=64, height=64,
                  num_inference_steps=p.steps, guidance_scale=p.guidance,
                  generator=torch.Generator().manual_seed(p.seed)).images[0]
    fully_repainted = np.asarray(feather(mask_l, p.mask_blur)) == 255
    assert fully_repainted.sum() > 100
    assert np.array_equal(pixels(ours.image)[fully_repainted], pixels(theirs)[fully_repainted])
    assert np.array_equal(pixels(ours.image), pixels(paste_back(init_rgb, theirs, feather(mask_l, p.mask_blur))))


def test_mask_is_stored_beside_the_image_and_a_rerun_is_pixel_identical(engine, tiny_sd_pipeline, init, mask):
    [first] = engine.generate(ImageRequest(str(tiny_sd_pipeline), inpaint_params(init, mask_image=str(mask)))).images
    params = first.record.parameters
    stored = Path(params["mask_image"])
    assert stored == mask_path_for(first.path) and stored.is_file()
    assert params["mask_sha256"] == hashlib.sha256(stored.read_bytes()).hexdigest()
    assert params["inpaint"]["mask_path"] == str(stored)
    text = parse_parameters(read_png_text(first.path)["parameters"])
    assert text["Mask blur"] == "4" and text["Denoising strength"] == "0.8"
    mask.unlink()  # the re-run needs only what the record points at
    [again] = engine.generate(ImageRequest(str(tiny_sd_pipeline), image_rerun_params(first.record))).images
    assert compare_images(first.path, again.path).matches
    # A mask file changed since: refused rather than silently different.
    Image.new("L", (64, 64), 255).save(stored)
    with pytest.raises(InvalidParameter, match="has changed since the image was made"):
        engine.generate(ImageRequest(str(tiny_sd_pipeline), image_rerun_params(first.record)))
    delete_output(first.path)  # deleting an image deletes its mask too
    assert not stored.exists() and not first.path.exists()


def test_a_mask_of_another_size_is_resized_with_a_note(engine, tiny_sd_pipeline, init, tmp_path):
    big = write_square_mask(tmp_path / "big.png", size=(128, 128), box=(32, 32, 80, 80))
    result = engine.generate(ImageRequest(str(tiny_sd_pipeline), inpaint_params(init, mask_image=str(big))))
    assert any("128x128" in w and "resized" in w for w in result.warnings)
    [image] = result.images
    with Image.open(image.record.parameters["mask_image"]) as stored:
        assert stored.size == (64, 64)
        keep = np.asarray(feather(stored.convert("L"), 4)) == 0
    assert np.abs(pixels(image.image) - pixels(Image.open(init)))[keep].max() <= 1


def test_unreadable_and_all_black_masks_are_refused(engine, tiny_sd_pipeline, init, tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    with pytest.raises(InvalidParameter, match="notes.png is not an image"):
        engine.generate(ImageRequest(str(tiny_sd_pipeline), inpaint_params(init, mask_image=str(text))))
    black = tmp_path / "black.png"
    Image.new("L", (64, 64), 127).save(black)  # below the repaint threshold everywhere
    with pytest.raises(InvalidParameter, match="all black: it marks nothing to repaint"):
        engine.generate(ImageRequest(str(tiny_sd_pipeline), inpaint_params(init, mask_image=str(black))))
    with pytest.raises(InvalidParameter, match="does not exist"):
        engine.generate(ImageRequest(str(tiny_sd_pipeline),
                                     inpaint_params(init, mask_image=str(tmp_path / "missing.png"))))


@pytest.mark.parametrize("changes, message", [
    (dict(init_image=""), "A mask needs the image it applies to"),
    (dict(outpaint=[8, 0, 0, 0]), "Choose a mask or outpainting, not both"),
    (dict(mask_blur=65), "Mask feather must be a whole number of pixels from 0 to 64"),
    (dict(mask_blur=-1), "Mask feather"),
    (dict(hires_scale=2.0), "Hires fix applies to text-to-image and image-to-image"),
])
def test_bad_inpaint_settings_are_refused(init, mask, changes, message):
    params = inpaint_params(init, mask_image=str(mask))
    for name, value in changes.items():
        setattr(params, name, value)
    with pytest.raises(InvalidParameter, match=message):
        validate_params(params)


def test_an_inpainting_checkpoint_refuses_text_to_image(engine, tiny_inpaint_pipeline):
    with pytest.raises(InvalidParameter, match="is an inpainting model"):
        engine.generate(ImageRequest(str(tiny_inpaint_pipeline),
                                     ImageParams(prompt="x", steps=2, width=64, height=64, seed=1)))


def test_inpainting_reuses_the_loaded_components(tiny_sd_pipeline, init, mask):
    from desktop.core.image.engine import ImageEngine

    engine = ImageEngine()
    loads = LoadCounter(engine)
    try:
        engine.generate(ImageRequest(str(tiny_sd_pipeline), ImageParams(prompt="x", steps=2, width=64, height=64,
                                                                        seed=1)))
        engine.generate(ImageRequest(str(tiny_sd_pipeline), inpaint_params(init, mask_image=str(mask))))
        engine.generate(ImageRequest(str(tiny_sd_pipeline), inpaint_params(init, outpaint=[8, 0, 0, 0])))
        assert loads.count == 1
        assert engine.loaded.inpaint_pipe().unet is engine.loaded.pipe.unet
        assert engine.loaded.inpaint_pipe().vae is engine.loaded.pipe.vae
    finally:
        engine.close()


def test_private_inpaint_keeps_no_mask(engine, tiny_sd_pipeline, init, mask, tmp_path):
    out = tmp_path / "secret.png"
    request = ImageRequest(str(tiny_sd_pipeline), inpaint_params(init, mask_image=str(mask)),
                           out_file=str(out), private=True)
    [image] = engine.generate(request).images
    assert image.path == out and not mask_path_for(out).exists()
    assert image.record.parameters["inpaint"]["mask_path"] == ""


def test_each_image_of_a_batch_keeps_its_mask(engine, tiny_sd_pipeline, init, mask):
    result = engine.generate(ImageRequest(str(tiny_sd_pipeline), inpaint_params(init, mask_image=str(mask),
                                                                                batch_count=2)))
    paths = [Path(image.record.parameters["mask_image"]) for image in result.images]
    assert paths == [mask_path_for(image.path) for image in result.images] and all(p.is_file() for p in paths)
    assert [image.seed for image in result.images] == [11, 12]
