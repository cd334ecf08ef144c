"""``genlab image --lora NAME_OR_PATH[:WEIGHT]`` (repeatable) on the tiny pipeline."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest
from PIL import Image

from desktop.commands import image as image_command
from desktop.core.image.params import LoraChoice
from desktop.core.tiny_models.lora import build_tiny_lora

pytestmark = [pytest.mark.usefixtures("one_torch_thread"), pytest.mark.slow]


def run_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    image_command.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["image", *argv])
    return args.func(args)


def make(tiny_sd_pipeline, out, *extra: str) -> np.ndarray:
    assert run_cli("--model", str(tiny_sd_pipeline), "--prompt", "a boat", "--steps", "2", "--width", "64",
                   "--height", "64", "--seed", "3", "--scheduler", "Euler", "--out", str(out), "--no-history",
                   "--json", *extra) == 0
    with Image.open(out) as img:
        return np.asarray(img.convert("RGB")).astype(int)


def test_lora_options_apply_each_lora_at_its_weight(tiny_sd_pipeline, tmp_path, capsys):
    one = build_tiny_lora(tiny_sd_pipeline, tmp_path / "one.safetensors", seed=1)
    two = build_tiny_lora(tiny_sd_pipeline, tmp_path / "two.safetensors", seed=2)
    bare = make(tiny_sd_pipeline, tmp_path / "bare.png")
    capsys.readouterr()
    single = make(tiny_sd_pipeline, tmp_path / "one.png", "--lora", f"{one}:0.8")
    data = json.loads(capsys.readouterr().out)
    assert [(c["weight"], c["name"]) for c in data["parameters"]["loras"]] == [(0.8, str(one))]
    both = make(tiny_sd_pipeline, tmp_path / "both.png", "--lora", f"{one}:0.8", "--lora", str(two))
    data = json.loads(capsys.readouterr().out)
    assert [c["weight"] for c in data["parameters"]["loras"]] == [0.8, 1.0]
    assert not np.array_equal(single, bare) and not np.array_equal(both, single)


def test_a_missing_lora_exits_2_with_one_line(tiny_sd_pipeline, tmp_path, capsys):
    rc = run_cli("--model", str(tiny_sd_pipeline), "--prompt", "x", "--steps", "1", "--width", "64", "--height", "64",
                 "--lora", str(tmp_path / "gone.safetensors") + ":0.5", "--no-history")
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and err[-1].startswith("error: The LoRA file") and "gone.safetensors does not exist" in err[-1]


@pytest.mark.parametrize(("text", "choice"), [
    ("style:0.8", LoraChoice("style", 0.8, name="style")),
    ("style", LoraChoice("style", 1.0, name="style")),
    (r"C:\loras\ink.safetensors", LoraChoice(r"C:\loras\ink.safetensors", 1.0, name=r"C:\loras\ink.safetensors")),
    (r"C:\loras\ink.safetensors:-0.5", LoraChoice(r"C:\loras\ink.safetensors", -0.5, name=r"C:\loras\ink.safetensors")),
])
def test_the_option_splits_the_weight_off_the_last_colon(text, choice):
    assert image_command.lora_option(text) == choice
