"""Inspecting image models: pickle refusal, corrupt files, incomplete folders, families."""

from __future__ import annotations

import json
import shutil

import pytest

from desktop.core.errors import ModelFileError
from desktop.core.image.engine import ImageEngine
from desktop.core.image.model_files import inspect_model
from desktop.core.image.params import SD1, SD2, SD_TURBO, SDXL, SDXL_TURBO
from desktop.core.models.headers import read_safetensors_header


@pytest.fixture
def tiny_copy(tiny_sd_pipeline, tmp_path):
    return shutil.copytree(tiny_sd_pipeline, tmp_path / "tiny-copy")


def _save_single_file(path, names):
    import torch
    from safetensors.torch import save_file

    save_file({n: torch.zeros(2) for n in names}, str(path))
    return path


@pytest.mark.parametrize("suffix", [".ckpt", ".pt", ".bin"])
def test_pickle_checkpoints_are_refused_with_the_reason(tmp_path, suffix):
    path = tmp_path / f"model{suffix}"
    path.write_bytes(b"\x80\x04K\x01.")  # a valid pickle; it must never be unpickled
    with pytest.raises(ModelFileError, match="pickle checkpoint") as err:
        inspect_model(path)
    assert "run arbitrary code" in err.value.hint and "safetensors" in err.value.hint


def test_random_bytes_safetensors_is_reported_corrupt(tmp_path):
    path = tmp_path / "broken.safetensors"
    path.write_bytes(b"\xff" * 64)
    with pytest.raises(ModelFileError, match="not a valid safetensors file") as err:
        inspect_model(path)
    assert "download it again" in err.value.hint


def test_truncated_component_weights_are_reported(tiny_copy):
    weights = tiny_copy / "unet" / "diffusion_pytorch_model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="truncated"):
        inspect_model(tiny_copy)


def test_folder_missing_a_component(tiny_copy):
    shutil.rmtree(tiny_copy / "vae")
    with pytest.raises(ModelFileError, match="missing its vae folder"):
        inspect_model(tiny_copy)


def test_folder_with_only_pickle_weights_is_refused(tiny_copy):
    weights = tiny_copy / "text_encoder" / "model.safetensors"
    weights.rename(weights.with_name("pytorch_model.bin"))
    with pytest.raises(ModelFileError, match="only has pickle weights"):
        inspect_model(tiny_copy)


def test_folder_without_model_index(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelFileError, match="no model_index.json"):
        inspect_model(tmp_path / "empty")


def test_unsupported_pipeline_class(tiny_copy):
    index = json.loads((tiny_copy / "model_index.json").read_text())
    index["_class_name"] = "WuerstchenCombinedPipeline"
    (tiny_copy / "model_index.json").write_text(json.dumps(index))
    with pytest.raises(ModelFileError, match="WuerstchenCombinedPipeline"):
        inspect_model(tiny_copy)


def test_tiny_folder_is_sd1_and_lists_its_files(tiny_sd_pipeline):
    info = inspect_model(tiny_sd_pipeline)
    assert info.family == SD1 and info.layout == "folder"
    assert "unet/diffusion_pytorch_model.safetensors" in info.files
    assert "scheduler/scheduler_config.json" in info.files


def test_turbo_in_the_folder_name_selects_turbo_defaults(tiny_sd_pipeline, tmp_path):
    turbo = shutil.copytree(tiny_sd_pipeline, tmp_path / "sd-turbo-tiny")
    assert inspect_model(turbo).family == SD_TURBO


@pytest.mark.parametrize("name, keys, family", [
    ("v1.safetensors", ["model.diffusion_model.x", "cond_stage_model.transformer.y"], SD1),
    ("v2.safetensors", ["model.diffusion_model.x", "cond_stage_model.model.token_embedding"], SD2),
    ("xl.safetensors", ["model.diffusion_model.x", "conditioner.embedders.1.model.y"], SDXL),
    ("sd_xl_turbo_1.0.safetensors", ["model.diffusion_model.x", "conditioner.embedders.1.model.y"], SDXL_TURBO),
])
def test_single_file_family_from_tensor_names(tmp_path, name, keys, family):
    info = inspect_model(_save_single_file(tmp_path / name, keys))
    assert info.family == family and info.layout == "single_file"
    assert read_safetensors_header(info.path).keys() >= set(keys)


def test_single_file_that_is_not_stable_diffusion(tmp_path):
    with pytest.raises(ModelFileError, match="lora.safetensors is a LoRA, not a model"):
        inspect_model(_save_single_file(tmp_path / "lora.safetensors", ["lora_unet_down.weight"]))


def test_single_file_without_local_configs_is_not_fetched(tmp_path):
    path = _save_single_file(tmp_path / "v1.safetensors", ["model.diffusion_model.x"])
    with pytest.raises(ModelFileError, match="never downloads") as err:
        ImageEngine().load(path)
    assert "configs" in err.value.hint


def test_single_file_with_local_configs_but_missing_weights_is_a_clear_error(tiny_sd_pipeline, tmp_path):
    from desktop.core import paths

    configs = paths.models_dir() / "configs" / "sd1"
    shutil.copytree(tiny_sd_pipeline, configs, ignore=shutil.ignore_patterns("*.safetensors"))
    path = _save_single_file(tmp_path / "v1.safetensors", ["model.diffusion_model.input_blocks.0.0.weight"])
    with pytest.raises(ModelFileError, match="Could not load v1") as err:
        ImageEngine().load(path)
    assert "download the model again" in err.value.hint
