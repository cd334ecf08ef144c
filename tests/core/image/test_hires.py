"""Hires fix: the second pass's size, the record, the reuse of the loaded pipeline, bad settings."""

from __future__ import annotations

import pytest
from PIL import Image

from desktop.core.errors import InvalidParameter
from desktop.core.history.rerun import compare_images, image_rerun_params
from desktop.core.image.engine import ImageEngine, ImageRequest
from desktop.core.image.hires import check_hires, parse_hires
from desktop.core.image.output import parse_parameters, read_png_text
from desktop.core.image.params import SD3, ImageParams, validate_params
from desktop.core.image.preview import StepPreview
from tests.core.image.inpaint_fixtures import LoadCounter, write_init

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def hires_params(**kw) -> ImageParams:
    base = dict(prompt="a castle", steps=4, width=64, height=64, seed=21, scheduler="Euler",
                hires_scale=2.0, hires_strength=0.5)
    base.update(kw)
    return ImageParams(**base)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["latent", "bicubic", "lanczos"])
def test_hires_output_size_record_and_no_reload(tiny_sd_pipeline, method):
    engine = ImageEngine()
    loads = LoadCounter(engine)
    steps: list[StepPreview] = []
    try:
        engine.generate(ImageRequest(str(tiny_sd_pipeline), ImageParams(prompt="x", steps=2, width=64, height=64,
                                                                        seed=1)))
        result = engine.generate(ImageRequest(str(tiny_sd_pipeline), hires_params(hires_method=method)),
                                 progress=lambda r: steps.append(r.payload)
                                 if isinstance(r.payload, StepPreview) else None)
        assert loads.count == 1  # the hires pass runs on the loaded components
        assert engine.loaded.img2img_pipe().unet is engine.loaded.pipe.unet
    finally:
        engine.close()
    [image] = result.images
    assert image.image.size == (128, 128)
    with Image.open(image.path) as saved:
        assert saved.size == (128, 128)
    assert image.record.parameters["hires"] == {"scale": 2.0, "strength": 0.5, "method": method,
                                                "first_size": [64, 64], "size": [128, 128]}
    assert image.record.parameters["hires_method"] == method
    assert [s.step for s in steps] == [1, 2, 3, 4, 5, 6] and {s.total for s in steps} == {6}  # 4 + 4*0.5
    text = parse_parameters(read_png_text(image.path)["parameters"])
    assert text["Hires upscale"] == "2" and text["Denoising strength"] == "0.5"


@pytest.mark.slow
def test_hires_rerun_is_pixel_identical_and_odd_scales_round(engine, tiny_sd_pipeline):
    [first] = engine.generate(ImageRequest(str(tiny_sd_pipeline), hires_params(hires_scale=1.5))).images
    assert first.image.size == (96, 96)
    [again] = engine.generate(ImageRequest(str(tiny_sd_pipeline), image_rerun_params(first.record))).images
    assert compare_images(first.path, again.path).matches
    [plain] = engine.generate(ImageRequest(str(tiny_sd_pipeline), hires_params(hires_scale=0.0))).images
    assert plain.image.size == (64, 64) and "hires" not in plain.record.parameters
    assert "hires_scale" not in plain.record.parameters  # an ordinary record stays as it was


@pytest.mark.slow
def test_hires_after_img2img(engine, tiny_sd_pipeline, tmp_path):
    init = write_init(tmp_path / "init.png")
    [image] = engine.generate(ImageRequest(str(tiny_sd_pipeline), hires_params(init_image=str(init),
                                                                               strength=0.5))).images
    assert image.image.size == (128, 128) and image.record.parameters["mode"] == "img2img"


@pytest.mark.parametrize("changes, message", [
    (dict(hires_scale=1.0), r"Hires scale must be above 1 and at most 4 \(got 1.0\)"),
    (dict(hires_scale=0.5), "Hires scale must be above 1"),
    (dict(hires_scale=4.5), "Hires scale must be above 1 and at most 4"),
    (dict(hires_strength=0.0), r"Hires strength must be above 0 and at most 1 \(got 0.0\)"),
    (dict(hires_strength=1.2), "Hires strength must be above 0 and at most 1"),
    (dict(hires_method="esrgan"), "Hires upscaler must be one of latent, bicubic, lanczos"),
    (dict(width=1024, height=1024, hires_scale=4.0), "makes 4096x4096; this model takes at most 2048 px"),
    (dict(steps=1, hires_strength=0.5), "leave no denoising step for the hires pass"),
])
def test_bad_hires_settings_are_refused(changes, message):
    with pytest.raises(InvalidParameter, match=message):
        validate_params(hires_params(**changes))


def test_latent_upscaling_is_refused_for_flow_models():
    with pytest.raises(InvalidParameter, match="Latent upscaling works with Stable Diffusion"):
        validate_params(hires_params(hires_method="latent", width=64, height=64, guidance=4.5), SD3)
    plan = check_hires(2, 0.4, "lanczos", width=64, height=64, multiple=16, max_side=2048, latent_ok=False)
    assert plan.final == (128, 128)


@pytest.mark.parametrize("text, expected", [("2:0.5", (2.0, 0.5)), ("1.5", (1.5, 0.5)), ("3:1", (3.0, 1.0))])
def test_parse_hires(text, expected):
    assert parse_hires(text) == expected


def test_parse_hires_says_what_is_wrong():
    with pytest.raises(InvalidParameter, match="SCALE:STRENGTH, two numbers"):
        parse_hires("double:half")


@pytest.mark.slow
def test_cancel_during_the_hires_pass_saves_nothing(engine, tiny_sd_pipeline):
    from desktop.core import paths
    from desktop.core.jobs import CancelToken, JobCancelled
    from desktop.core.records import ListSink

    cancel, sink = CancelToken(), ListSink()

    def on_progress(report):
        if isinstance(report.payload, StepPreview) and report.payload.step == 5:  # the hires pass's first step
            cancel.cancel()

    with pytest.raises(JobCancelled):
        engine.generate(ImageRequest(str(tiny_sd_pipeline), hires_params()), cancel=cancel, progress=on_progress,
                        sink=sink)
    assert sink.records == [] and not list(paths.outputs_dir().rglob("*.png"))
