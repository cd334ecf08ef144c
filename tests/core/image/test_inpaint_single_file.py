"""A single-file inpainting checkpoint (9-channel UNet input) is not given the bundled SD configs."""

from __future__ import annotations

import pytest

from desktop.core import paths
from desktop.core.errors import ModelFileError
from desktop.core.image.model_files import inspect_model
from desktop.core.image.pipeline import single_file_config_dir


def test_a_single_file_inpainting_checkpoint_says_which_configs_it_needs(tmp_path):
    import torch
    from safetensors.torch import save_file

    unet = "model.diffusion_model."
    path = tmp_path / "sd-v1-5-inpainting.safetensors"
    save_file({f"{unet}input_blocks.0.0.weight": torch.zeros(320, 9, 3, 3, dtype=torch.float16),
               f"{unet}input_blocks.4.1.transformer_blocks.0.attn2.to_k.weight":
                   torch.zeros(640, 768, dtype=torch.float16)}, str(path))
    info = inspect_model(path)
    assert info.family == "sd1"
    with pytest.raises(ModelFileError, match="takes 9 input channels \\(an inpainting checkpoint\\) where the "
                                             "bundled configs expect 4") as exc:
        single_file_config_dir(info)
    assert str(paths.models_dir() / "configs" / "sd1") in exc.value.hint
