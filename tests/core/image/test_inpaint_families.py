"""Inpainting, outpainting and hires fix on the tiny SDXL, SD 3.x and FLUX pipelines: each family's
inpainting pipeline is built from the loaded one, and the kept picture is the init image."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from desktop.core.image.engine import ImageEngine, ImageRequest
from desktop.core.image.masks import feather, read_mask
from tests.core.image.inpaint_fixtures import LoadCounter, inpaint_params, pixels, write_init, write_square_mask

pytestmark = [pytest.mark.usefixtures("one_torch_thread"), pytest.mark.slow]

FAMILIES = {
    "sdxl": ("build_tiny_sdxl_pipeline", "diffusion", "StableDiffusionXLInpaintPipeline", 5.0),
    "sd3": ("build_tiny_sd3_pipeline", "flow", "StableDiffusion3InpaintPipeline", 4.5),
    "flux": ("build_tiny_flux_pipeline", "flow", "FluxInpaintPipeline", 3.5),
}


@pytest.mark.parametrize("family", list(FAMILIES))
def test_family_inpaint_outpaint_and_hires_on_one_load(family, tmp_path):
    import importlib

    builder, module, pipeline, guidance = FAMILIES[family]
    build = getattr(importlib.import_module(f"desktop.core.tiny_models.{module}"), builder)
    folder = build(tmp_path / f"tiny-{family}")
    init, mask = write_init(tmp_path / "init.png"), write_square_mask(tmp_path / "m.png", box=(16, 16, 48, 48))
    engine = ImageEngine()
    loads = LoadCounter(engine)
    scheduler = "Default" if family != "sdxl" else "Euler"
    try:
        p = inpaint_params(init, mask_image=str(mask), guidance=guidance, scheduler=scheduler, steps=3)
        [image] = engine.generate(ImageRequest(str(folder), p)).images
        assert image.record.parameters["pipeline"] == pipeline
        assert image.record.parameters["inpaint"]["method"] == "masked img2img"
        keep = np.asarray(feather(read_mask(mask, (64, 64)).image, p.mask_blur)) == 0
        assert np.abs(pixels(image.image) - pixels(Image.open(init)))[keep].max() <= 1
        out = inpaint_params(init, outpaint=[0, 0, 16, 0], guidance=guidance, scheduler=scheduler, steps=3,
                             strength=1.0)
        [wide] = engine.generate(ImageRequest(str(folder), out)).images
        assert wide.image.size == (80, 64)
        hires = dict(prompt="x", steps=4, width=64, height=64, seed=2, guidance=guidance, scheduler=scheduler,
                     hires_scale=2.0, hires_strength=0.5)
        from desktop.core.image.params import ImageParams

        [big] = engine.generate(ImageRequest(str(folder), ImageParams(**hires))).images
        assert big.image.size == (128, 128)
        assert loads.count == 1
    finally:
        engine.close()


def test_flow_img2img_keeps_the_requested_size(tmp_path):
    """SD 3.x's img2img pipeline resizes its input to its default size unless given one."""
    from desktop.core.image.params import ImageParams
    from desktop.core.tiny_models.flow import build_tiny_sd3_pipeline

    folder = build_tiny_sd3_pipeline(tmp_path / "tiny-sd3")
    init = write_init(tmp_path / "init.png")
    engine = ImageEngine()
    try:
        p = ImageParams(prompt="x", steps=2, width=96, height=80, seed=3, guidance=4.5, init_image=str(init),
                        strength=0.6)
        [image] = engine.generate(ImageRequest(str(folder), p)).images
    finally:
        engine.close()
    assert image.image.size == (96, 80)


def test_an_sdxl_inpainting_checkpoint_inpaints_and_outpaints(tmp_path):
    from desktop.core.tiny_models.inpaint import build_tiny_sdxl_inpaint_pipeline

    folder = build_tiny_sdxl_inpaint_pipeline(tmp_path / "tiny-sdxl-inpaint")
    init, mask = write_init(tmp_path / "init.png"), write_square_mask(tmp_path / "m.png", box=(16, 16, 48, 48))
    engine = ImageEngine()
    try:
        p = inpaint_params(init, mask_image=str(mask), guidance=5.0, steps=3)
        [image] = engine.generate(ImageRequest(str(folder), p)).images
        [wide] = engine.generate(ImageRequest(str(folder), inpaint_params(init, outpaint=[0, 16, 0, 0], steps=3,
                                                                          guidance=5.0))).images
    finally:
        engine.close()
    assert image.record.parameters["pipeline"] == "StableDiffusionXLInpaintPipeline"
    assert image.record.parameters["inpaint"]["method"] == "inpainting checkpoint"
    keep = np.asarray(feather(read_mask(mask, (64, 64)).image, p.mask_blur)) == 0
    assert np.abs(pixels(image.image) - pixels(Image.open(init)))[keep].max() <= 1
    assert wide.image.size == (64, 80)
