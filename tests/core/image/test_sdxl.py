"""The SDXL path (two text encoders, XL preview factors) and Turbo/LCM detection on a tiny SDXL."""

from __future__ import annotations

import argparse
import json
import shutil

import numpy as np
import pytest

from desktop.core.image.engine import ImageEngine, ImageRequest
from desktop.core.image.model_files import inspect_model
from desktop.core.image.params import SDXL, SDXL_TURBO, ImageParams
from desktop.core.image.preview import StepPreview
from desktop.core.tiny_models.diffusion import build_tiny_sdxl_pipeline

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("one_torch_thread")]


@pytest.fixture(scope="module")
def tiny_sdxl(tmp_path_factory):
    return build_tiny_sdxl_pipeline(tmp_path_factory.mktemp("sdxl") / "tiny-sdxl")


def test_sdxl_generate_img2img_and_reproducibility(tiny_sdxl):
    import diffusers
    import torch

    engine = ImageEngine()
    p = ImageParams(prompt="a cat", negative_prompt="dog", steps=3, width=64, height=64, seed=3, scheduler="Euler")
    previews = []
    [image] = engine.generate(ImageRequest(str(tiny_sdxl), p), progress=previews.append).images
    assert inspect_model(tiny_sdxl).family == SDXL
    assert image.record.parameters["pipeline"] == "StableDiffusionXLPipeline"
    assert sum(isinstance(r.payload, StepPreview) for r in previews) == 3

    bare = diffusers.StableDiffusionXLPipeline.from_pretrained(tiny_sdxl, local_files_only=True)
    bare.set_progress_bar_config(disable=True)
    expected = bare(p.prompt, negative_prompt=p.negative_prompt, num_inference_steps=3, guidance_scale=p.guidance,
                    width=64, height=64, generator=torch.Generator().manual_seed(3)).images[0]
    assert np.array_equal(np.asarray(image.image), np.asarray(expected))

    init = ImageParams(**{**p.to_dict(), "init_image": str(image.path), "strength": 0.5, "steps": 4})
    [again] = engine.generate(ImageRequest(str(tiny_sdxl), init)).images
    assert again.record.parameters["pipeline"] == "StableDiffusionXLImg2ImgPipeline"
    engine.close()


def test_turbo_name_gives_turbo_defaults_in_the_cli(tiny_sdxl, tmp_path, capsys):
    from desktop.commands import image as image_command

    turbo = shutil.copytree(tiny_sdxl, tmp_path / "tiny-sdxl-turbo")
    assert inspect_model(turbo).family == SDXL_TURBO
    parser = argparse.ArgumentParser()
    image_command.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["image", "--model", str(turbo), "--prompt", "fast", "--width", "64",
                              "--height", "64", "--no-history", "--json"])
    assert args.func(args) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["parameters"]["steps"], data["parameters"]["guidance"]) == (1, 0.0)
    assert data["parameters"]["scheduler"] == "Euler a"


def test_lcm_in_the_name_selects_the_lcm_scheduler(tiny_sdxl, tmp_path):
    from desktop.core.image.params import default_params

    lcm = shutil.copytree(tiny_sdxl, tmp_path / "tiny-sdxl-lcm")
    info = inspect_model(lcm)
    assert info.lcm and "(LCM)" in info.family_label
    params = default_params(info.family, lcm=info.lcm, prompt="x", width=64, height=64, seed=1)
    assert params.scheduler == "LCM" and params.steps == 4
    [image] = ImageEngine().generate(ImageRequest(str(lcm), params)).images
    assert image.record.parameters["scheduler_class"] == "LCMScheduler"
