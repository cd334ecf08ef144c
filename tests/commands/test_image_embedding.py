"""``genlab image --embedding NAME_OR_PATH`` (repeatable) and embeddings found from the prompt, on the tiny pipeline."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest
from PIL import Image

from desktop.commands import image as image_command
from desktop.core import paths
from desktop.core.tiny_models.embedding import build_tiny_embedding

pytestmark = [pytest.mark.usefixtures("one_torch_thread"), pytest.mark.slow]


def run_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    image_command.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["image", *argv])
    return args.func(args)


def make(tiny_sd_pipeline, out, prompt: str, *extra: str) -> np.ndarray:
    assert run_cli("--model", str(tiny_sd_pipeline), "--prompt", prompt, "--steps", "2", "--width", "64",
                   "--height", "64", "--seed", "3", "--out", str(out), "--no-history", "--json", *extra) == 0
    with Image.open(out) as img:
        return np.asarray(img.convert("RGB")).astype(int)


def test_the_option_and_a_name_in_the_prompt_use_the_embedding(tiny_sd_pipeline, tmp_path, capsys):
    one = build_tiny_embedding(tiny_sd_pipeline, tmp_path / "inkstyle.safetensors", seed=1)
    two = build_tiny_embedding(tiny_sd_pipeline, tmp_path / "fogstyle.safetensors", seed=2)
    word = make(tiny_sd_pipeline, tmp_path / "word.png", "a boat, inkstyle")
    capsys.readouterr()
    used = make(tiny_sd_pipeline, tmp_path / "one.png", "a boat, inkstyle", "--embedding", str(one))
    data = json.loads(capsys.readouterr().out)
    assert [(e["token"], e["name"]) for e in data["parameters"]["embeddings"]] == [("inkstyle", str(one))]
    assert not np.array_equal(used, word)
    both = make(tiny_sd_pipeline, tmp_path / "both.png", "a boat, inkstyle", "--embedding", str(one),
                "--embedding", str(two), "--negative", "fogstyle")
    assert [e["token"] for e in json.loads(capsys.readouterr().out)["parameters"]["embeddings"]] == \
        ["inkstyle", "fogstyle"]
    assert not np.array_equal(both, used)
    # In <models dir>/embeddings, writing its name is enough (as in A1111).
    folder = paths.models_dir() / "embeddings"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "inkstyle.safetensors").write_bytes(one.read_bytes())
    assert np.array_equal(make(tiny_sd_pipeline, tmp_path / "found.png", "a boat, inkstyle"), used)


def test_a_missing_or_wrong_family_embedding_exits_2_with_one_line(tiny_sd_pipeline, tmp_path, capsys):
    base = ("--model", str(tiny_sd_pipeline), "--prompt", "x", "--steps", "1", "--width", "64", "--height", "64",
            "--no-history")
    assert run_cli(*base, "--embedding", str(tmp_path / "gone.safetensors")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: The embedding file") and "gone.safetensors does not exist" in err[-1]
    wide = build_tiny_embedding(tiny_sd_pipeline, tmp_path / "wide.safetensors", width=1024)
    assert run_cli(*base, "--embedding", str(wide)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"error: The embedding {wide} is for Stable Diffusion 2.x (from its 1024-wide "
                              "vectors), but tiny-sd is Stable Diffusion 1.x. Choose an embedding made for")
    # Found from a prompt, another family's embedding is skipped with a warning; the image is made.
    folder = paths.models_dir() / "embeddings"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "BadHands.safetensors").write_bytes(wide.read_bytes())
    assert run_cli(*base, "--negative", "badhands, blurry") == 0
    assert ("warning: BadHands in the negative prompt names an embedding for Stable Diffusion 2.x, "
            "not Stable Diffusion 1.x: it was not used.") in capsys.readouterr().err
