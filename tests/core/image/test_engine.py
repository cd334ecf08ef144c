"""The image engine on the tiny pipeline: generate, reproduce, img2img, previews, cancel, OOM."""

from __future__ import annotations

import hashlib
import shutil

import numpy as np
import pytest
from PIL import Image

from desktop import __version__
from desktop.core import paths
from desktop.core.errors import InvalidParameter
from desktop.core.image.engine import ImageEngine, ImageOutOfMemory, ImageRequest, ImageResult, out_of_memory_error
from desktop.core.image.output import parse_parameters, read_png_text
from desktop.core.image.params import ImageParams
from desktop.core.image.pipeline import MemoryPlan, plan_memory
from desktop.core.image.preview import StepPreview
from desktop.core.jobs import CancelToken, JobCancelled
from desktop.core.records import ListSink

pytestmark = [pytest.mark.usefixtures("one_torch_thread"), pytest.mark.slow]


def params(**kw) -> ImageParams:
    base = dict(prompt="a red lighthouse", negative_prompt="fog", steps=5, guidance=7.0,
                width=64, height=64, seed=1234, scheduler="Euler")
    base.update(kw)
    return ImageParams(**base)


def bare_image(folder, p: ImageParams, scheduler_cls: str):
    """The same request made directly with diffusers, as a user would."""
    import diffusers
    import torch

    pipe = diffusers.StableDiffusionPipeline.from_pretrained(folder, local_files_only=True, safety_checker=None,
                                                             requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    pipe.scheduler = getattr(diffusers, scheduler_cls).from_config(pipe.scheduler.config)
    return pipe(p.prompt, negative_prompt=p.negative_prompt, num_inference_steps=p.steps,
                guidance_scale=p.guidance, width=p.width, height=p.height,
                generator=torch.Generator().manual_seed(p.seed)).images[0]


def test_generate_saves_png_thumbnail_and_a_full_record(engine, tiny_sd_pipeline):
    sink = ListSink()
    result = engine.generate(ImageRequest(str(tiny_sd_pipeline), params()), sink=sink)
    [image] = result.images
    assert image.path.parent.parent == paths.outputs_dir() and image.path.suffix == ".png"
    assert image.thumbnail_path.is_file()
    [record] = sink.records
    assert record is image.record and record.kind == "image" and record.seed == 1234
    assert record.image_sha256 == hashlib.sha256(image.path.read_bytes()).hexdigest()
    assert record.model.name == tiny_sd_pipeline.name and len(record.model.sha256) == 64
    from desktop.core.models.library import model_identity

    assert record.model.sha256 == model_identity(tiny_sd_pipeline)  # the library finds it again by sha256
    assert "unet/diffusion_pytorch_model.safetensors" in record.model.files
    assert record.parameters["steps"] == 5 and record.parameters["sampler"] == "Euler"
    assert record.device == "cpu" and record.parameters["dtype"] == "float32"
    assert set(record.timings) >= {"load_s", "per_step_s", "total_s"}
    assert 0 < record.timings["per_step_s"] <= record.timings["steps_s"] <= record.timings["total_s"]
    assert set(record.versions) >= {"genlab", "diffusers", "torch", "transformers"}
    assert record.versions["genlab"] == __version__
    chunks = read_png_text(image.path)
    parsed = parse_parameters(chunks["parameters"])
    assert (parsed["Prompt"], parsed["Negative prompt"]) == ("a red lighthouse", "fog")
    assert (parsed["Steps"], parsed["Seed"], parsed["Size"]) == ("5", "1234", "64x64")
    assert parsed["Model hash"] == record.model.sha256[:10]
    assert parsed["Version"].startswith(f"GenLab {__version__} (diffusers ")
    assert '"id": "%s"' % record.id in chunks["genlab"]


@pytest.mark.parametrize("choice, cls", [("Euler a", "EulerAncestralDiscreteScheduler"),
                                         ("DDIM", "DDIMScheduler")])
def test_pixel_identical_to_the_bare_pipeline(engine, tiny_sd_pipeline, choice, cls):
    p = params(scheduler=choice, seed=99)
    [ours] = engine.generate(ImageRequest(str(tiny_sd_pipeline), p)).images
    with Image.open(ours.path) as saved:
        ours_pixels = np.asarray(saved.convert("RGB"))
    assert np.array_equal(ours_pixels, np.asarray(bare_image(tiny_sd_pipeline, p, cls)))


def test_scheduler_switching_changes_the_image_and_switching_back_does_not_drift(engine, tiny_sd_pipeline):
    def pixels(choice):
        [r] = engine.generate(ImageRequest(str(tiny_sd_pipeline), params(scheduler=choice))).images
        return np.asarray(r.image), type(engine.loaded.pipe.scheduler).__name__

    first, cls1 = pixels("DPM++ 2M Karras")
    other, cls2 = pixels("LCM")
    again, _ = pixels("DPM++ 2M Karras")
    assert (cls1, cls2) == ("DPMSolverMultistepScheduler", "LCMScheduler")
    assert engine.loaded.pipe.scheduler.config.use_karras_sigmas is True
    assert not np.array_equal(first, other)
    assert np.array_equal(first, again)


def test_img2img_uses_the_init_image(engine, tiny_sd_pipeline):
    [base] = engine.generate(ImageRequest(str(tiny_sd_pipeline), params())).images
    previews = []
    p = params(init_image=str(base.path), strength=0.6, steps=5)
    result = engine.generate(ImageRequest(str(tiny_sd_pipeline), p),
                             progress=lambda r: previews.append(r.payload))
    [img] = result.images
    assert img.record.parameters["mode"] == "img2img"
    assert img.record.parameters["pipeline"] == "StableDiffusionImg2ImgPipeline"
    assert img.image.size == (64, 64)
    assert sum(isinstance(x, StepPreview) for x in previews) == int(5 * 0.6)
    assert "Denoising strength: 0.6" in read_png_text(img.path)["parameters"]
    # a different init image gives a different result
    other = base.path.with_name("flat.png")
    Image.new("RGB", (64, 64), (255, 255, 255)).save(other)
    [flat] = engine.generate(ImageRequest(str(tiny_sd_pipeline), p.__class__(**{**p.to_dict(),
                                                                              "init_image": str(other)}))).images
    assert not np.array_equal(np.asarray(flat.image), np.asarray(img.image))


def test_one_preview_per_step_with_eta(engine, tiny_sd_pipeline):
    reports = []
    engine.generate(ImageRequest(str(tiny_sd_pipeline), params(steps=7, batch_count=2)), progress=reports.append)
    previews = [r.payload for r in reports if isinstance(r.payload, StepPreview)]
    saved = [r.payload for r in reports if isinstance(r.payload, ImageResult)]
    assert len(previews) == 14 and len(saved) == 2
    assert [pv.step for pv in previews[:7]] == list(range(1, 8))
    assert [pv.image_index for pv in (previews[0], previews[-1])] == [0, 1]
    assert previews[0].rgb.shape == (8, 8, 3) and previews[0].rgb.dtype == np.uint8
    assert previews[-1].eta_seconds == 0
    assert "Step 7/7" in [r.message for r in reports if isinstance(r.payload, StepPreview)][-1]
    assert [r.seed for r in saved] == [1234, 1235]


def test_cancel_midway_saves_and_records_nothing(engine, tiny_sd_pipeline):
    token, sink, steps = CancelToken(), ListSink(), []

    def on_progress(report):
        if isinstance(report.payload, StepPreview):
            steps.append(report.payload.step)
            if report.payload.step == 2:
                token.cancel()

    with pytest.raises(JobCancelled):
        engine.generate(ImageRequest(str(tiny_sd_pipeline), params(steps=20)), cancel=token,
                        progress=on_progress, sink=sink)
    assert steps == [1, 2]  # stopped before step 3
    assert sink.records == []
    assert not list(paths.outputs_dir().rglob("*.png"))
    # the engine is still usable
    assert engine.generate(ImageRequest(str(tiny_sd_pipeline), params(steps=2)), sink=sink).images
    assert len(sink.records) == 1


def test_random_seed_is_recorded_and_empty_prompt_warns(engine, tiny_sd_pipeline):
    result = engine.generate(ImageRequest(str(tiny_sd_pipeline), params(prompt="", seed=None, steps=1)))
    [img] = result.images
    assert isinstance(img.seed, int) and img.record.seed == img.seed
    assert f"Seed: {img.seed}," in read_png_text(img.path)["parameters"]
    assert any("prompt is empty" in w for w in result.warnings)


def test_init_image_that_is_not_an_image(engine, tiny_sd_pipeline, tmp_path):
    fake = tmp_path / "notes.png"
    fake.write_text("this is text, not pixels")
    with pytest.raises(InvalidParameter, match="not an image"):
        engine.generate(ImageRequest(str(tiny_sd_pipeline), params(init_image=str(fake), strength=0.5)))


def test_out_of_memory_in_the_pipeline_is_reported_and_the_engine_survives(engine, tiny_sd_pipeline):
    import torch

    loaded = engine.load(tiny_sd_pipeline)

    def exhaust(module, args):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    hook = loaded.pipe.unet.register_forward_pre_hook(exhaust)
    sink = ListSink()
    try:
        with pytest.raises(ImageOutOfMemory, match="Out of system memory while making a 64x64") as err:
            engine.generate(ImageRequest(str(tiny_sd_pipeline), params()), sink=sink)
    finally:
        hook.remove()
    assert "Nothing was lost" in err.value.hint
    assert sink.records == [] and engine.loaded is loaded
    assert engine.generate(ImageRequest(str(tiny_sd_pipeline), params(steps=1)), sink=sink).images


def test_out_of_memory_suggestions_on_a_gpu():
    big = params(width=1024, height=1024)
    msg = str(out_of_memory_error(big, "cuda", MemoryPlan("none")))
    assert "GPU memory" in msg and "model CPU offload" in msg and "512x512" in msg
    assert "sequential" in str(out_of_memory_error(big, "cuda", MemoryPlan("model")))


def test_memory_plan_offloads_when_vram_is_short():
    gb = 1024**3
    roomy = plan_memory("cuda", vram_free=24 * gb, ram_total=64 * gb, weights_bytes=2 * gb,
                        width=512, height=512, xl=False)
    short = plan_memory("cuda", vram_free=8 * gb, ram_total=64 * gb, weights_bytes=int(6.9 * gb),
                        width=1024, height=1024, xl=True)
    tiny = plan_memory("cuda", vram_free=2 * gb, ram_total=64 * gb, weights_bytes=int(6.9 * gb),
                       width=1024, height=1024, xl=True)
    forced = plan_memory("cuda", vram_free=24 * gb, ram_total=64 * gb, weights_bytes=2 * gb,
                         width=512, height=512, xl=False, override="model")
    assert roomy.offload == "none"
    assert short.offload == "model" and "offload" in short.reason and short.vae_tiling
    assert tiny.offload == "sequential" and tiny.attention_slicing
    assert forced.offload == "model" and "settings" in forced.reason
    assert plan_memory("cpu", vram_free=0, ram_total=8 * gb, weights_bytes=gb, width=512, height=512,
                       xl=False).offload == "none"


def test_switching_models_unloads_the_first(engine, tiny_sd_pipeline, tmp_path):
    other = shutil.copytree(tiny_sd_pipeline, tmp_path / "other-model")
    first = engine.load(tiny_sd_pipeline)
    second = engine.load(other)
    assert second is not first and engine.loaded is second
    assert engine.load(other) is second  # kept loaded between requests
    (other / "scheduler" / "scheduler_config.json").touch()  # files changed on disk: reload
    assert engine.load(other) is not second
    assert second.identity.sha256 == first.identity.sha256  # same bytes, same identity
    engine.load(tiny_sd_pipeline)


def test_private_request_writes_no_metadata_no_thumbnail_and_nothing_under_the_data_root(engine, tiny_sd_pipeline):
    from desktop.core.image.output import incognito_folder, remove_incognito_folder

    secret = "a private tangerine zeppelin"
    result = engine.generate(ImageRequest(str(tiny_sd_pipeline), params(prompt=secret, steps=2), private=True))
    [image] = result.images
    try:
        assert image.path.parent == incognito_folder()
        assert not image.path.is_relative_to(paths.data_root())
        assert read_png_text(image.path) == {}  # neither "parameters" nor "genlab"
        assert secret.encode() not in image.path.read_bytes()
        assert image.thumbnail_path is None and image.record.thumbnail_path == ""
        assert not list(image.path.parent.rglob("*.jpg"))
        with Image.open(image.path) as img:
            assert img.size == (64, 64)  # the image itself is there to show
    finally:
        remove_incognito_folder()
    assert not image.path.exists()  # what GenLab does at exit


def test_a_folder_opened_by_path_is_listed_as_a_link_and_can_be_re_run(tiny_sd_pipeline, tmp_path):
    """Old code refused the re-run: "… is not in the model library"."""
    from desktop.core.history.rerun import compare_images, image_rerun_params, rerun_model_path
    from desktop.core.models.library import Library

    folder = shutil.copytree(tiny_sd_pipeline, tmp_path / "opened-sd")  # a folder no library lists
    library = Library()
    engine = ImageEngine(library=library)
    try:
        sink = ListSink()
        [image] = engine.generate(ImageRequest(str(folder), params()), sink=sink).images
        [model] = library.models()
        assert model.path == str(folder) and not model.owned and model.format == "diffusers"
        path = rerun_model_path(image.record, library)
        assert path == str(folder)
        [again] = engine.generate(ImageRequest(path, image_rerun_params(image.record)), sink=sink).images
    finally:
        engine.close()
    assert compare_images(image.path, again.path).matches
    assert folder.is_dir()  # linked, not moved or copied
