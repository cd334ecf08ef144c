"""A single original-layout .safetensors checkpoint loads offline from local configs."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from desktop.core import paths
from desktop.core.errors import ModelFileError
from desktop.core.image.engine import ImageEngine, ImageRequest
from desktop.core.image.params import ImageParams
from desktop.core.tiny_models.diffusion import build_tiny_ldm_sd_pipeline

pytestmark = [pytest.mark.usefixtures("one_torch_thread"), pytest.mark.slow]


@pytest.fixture(scope="module")
def ldm_pair(tmp_path_factory):
    root = tmp_path_factory.mktemp("ldm")
    return build_tiny_ldm_sd_pipeline(root / "tiny-ldm", root / "tiny-v1.safetensors")


def test_single_file_matches_its_diffusers_folder_pixel_for_pixel(ldm_pair):
    folder, checkpoint = ldm_pair
    engine = ImageEngine()
    p = ImageParams(prompt="a cat", negative_prompt="dog", steps=3, width=64, height=64, seed=11, scheduler="Euler")
    with pytest.raises(ModelFileError, match="needs its diffusers configs"):
        engine.generate(ImageRequest(str(checkpoint), p))
    shutil.copytree(folder, paths.models_dir() / "configs" / "sd1", ignore=shutil.ignore_patterns("*.safetensors"))
    [single] = engine.generate(ImageRequest(str(checkpoint), p)).images
    assert engine.loaded.info.layout == "single_file" and engine.loaded.info.family == "sd1"
    from desktop.core.models import hashing

    assert single.record.model.sha256 == hashing.sha256_file(checkpoint)  # A1111's "Model hash" source
    [from_folder] = engine.generate(ImageRequest(str(folder), p)).images
    assert np.array_equal(np.asarray(single.image), np.asarray(from_folder.image))
    engine.close()
