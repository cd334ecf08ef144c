"""PNG output: A1111 `parameters` text, `genlab` JSON chunk, thumbnails, day folders."""

from __future__ import annotations

import json
from datetime import datetime

from PIL import Image

from desktop.core import paths
from desktop.core.image.output import (
    a1111_parameters,
    delete_output,
    new_image_path,
    parse_parameters,
    read_png_text,
    save_png,
)


def test_a1111_text_round_trips_with_commas_and_multiline_prompts():
    text = a1111_parameters("a cat,\nin a hat", "blurry, low quality",
                            {"Steps": 20, "Sampler": "DPM++ 2M Karras", "CFG scale": "7", "Seed": 123,
                             "Size": "512x512", "Model hash": "0123456789", "Model": "my, model"})
    assert text.splitlines()[2].startswith("Negative prompt: blurry, low quality")
    assert "Steps: 20, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 123, Size: 512x512" in text
    parsed = parse_parameters(text)
    assert parsed["Prompt"] == "a cat,\nin a hat"
    assert parsed["Negative prompt"] == "blurry, low quality"
    assert parsed["Sampler"] == "DPM++ 2M Karras"
    assert parsed["Model"] == "my, model"
    assert parsed["Seed"] == "123"


def test_no_negative_prompt_line_when_empty():
    text = a1111_parameters("p", "", {"Steps": 1, "Sampler": "Euler", "Seed": 1})
    assert "Negative prompt" not in text
    assert parse_parameters(text)["Negative prompt"] == ""


def test_png_carries_both_chunks_and_a_thumbnail():
    path = new_image_path(42, "abcdef0123456789", datetime(2024, 5, 6, 7, 8, 9))
    assert path.parent == paths.outputs_dir() / "2024-05-06"
    image = Image.new("RGB", (640, 320), (10, 200, 30))
    record = {"id": "abc", "prompt": "ünïcode ✓"}
    saved = save_png(image, path, "ünïcode ✓\nSteps: 1, Sampler: Euler, Seed: 42", json.dumps(record))
    chunks = read_png_text(saved.path)
    assert json.loads(chunks["genlab"]) == record
    assert parse_parameters(chunks["parameters"])["Prompt"] == "ünïcode ✓"
    with Image.open(saved.thumbnail_path) as thumb:
        assert max(thumb.size) == 256 and thumb.size[0] == 2 * thumb.size[1]
    with Image.open(saved.path) as back:
        assert back.getpixel((5, 5)) == (10, 200, 30)
    delete_output(saved.path)
    assert not saved.path.exists() and not saved.thumbnail_path.exists()
