"""Loading a pipeline or the embedder never asks for Hub kernels (transformers >= 5.25 does by
default): the frozen bundle has no ``kernels`` package, and GenLab runs no downloaded code."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

CHILD = """
import json, sys
from pathlib import Path
from desktop.core.image.model_files import inspect_model
from desktop.core.image.pipeline import load_pipeline
import torch
pipe = load_pipeline(inspect_model(Path(sys.argv[1])), torch.float32)
from desktop.core.history.embedder import Embedder
embedder = Embedder()
embedder.load()
bert = embedder._model[0].auto_model
print(json.dumps({"text_encoder": pipe.text_encoder.use_kernels, "embedder": bert.use_kernels}))
"""


@pytest.mark.slow
def test_pipelines_and_the_embedder_load_without_hub_kernels(tiny_sd_pipeline):
    env = {k: v for k, v in os.environ.items() if k not in ("USE_HUB_KERNELS", "HF_HUB_OFFLINE")}
    out = subprocess.run([sys.executable, "-c", CHILD, str(tiny_sd_pipeline)], cwd=REPO_ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {"text_encoder": False, "embedder": False}
