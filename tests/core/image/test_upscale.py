"""Model upscalers (spandrel): loading safely, sizes, tiling without seams, bad files.

All but the last test need the optional ``upscale`` extra; ``.ci/run`` runs them
in a second environment that has it (``pytest -m upscale``).
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
from PIL import Image

from desktop.core.errors import InvalidParameter, ModelFileError
from desktop.core.jobs import CancelToken, JobCancelled

upscale = pytest.mark.upscale


def noise(width: int, height: int, mode: str = "RGB", seed: int = 0) -> Image.Image:
    channels = {"RGB": 3, "RGBA": 4}.get(mode, 1)
    data = np.random.default_rng(seed).integers(0, 256, (height, width, channels), dtype=np.uint8)
    return Image.fromarray(data[:, :, 0] if channels == 1 else data, mode)


@pytest.fixture
def tiny_x4(tmp_path):
    from desktop.core.tiny_models.upscaler import build_tiny_esrgan

    return build_tiny_esrgan(tmp_path / "tiny-x4.safetensors", scale=4)


@upscale
@pytest.mark.parametrize("suffix", [".safetensors", ".pth"])
def test_the_architecture_and_scale_come_from_the_tensors(tmp_path, suffix):
    from desktop.core.image.upscale import load_upscaler, upscale_image
    from desktop.core.tiny_models.upscaler import build_tiny_esrgan

    for scale in (2, 4):
        model = load_upscaler(build_tiny_esrgan(tmp_path / f"x{scale}{suffix}", scale=scale))
        assert (model.architecture, model.scale, model.device) == ("ESRGAN", scale, "cpu")
        assert upscale_image(model, noise(37, 21)).size == (37 * scale, 21 * scale)


@upscale
def test_pth_and_safetensors_of_one_model_give_the_same_pixels(tmp_path):
    from desktop.core.image.upscale import load_upscaler, upscale_image
    from desktop.core.tiny_models.upscaler import build_tiny_esrgan

    image = noise(40, 30)
    a = upscale_image(load_upscaler(build_tiny_esrgan(tmp_path / "m.safetensors", seed=3)), image)
    b = upscale_image(load_upscaler(build_tiny_esrgan(tmp_path / "m.pth", seed=3)), image)
    c = upscale_image(load_upscaler(build_tiny_esrgan(tmp_path / "other.pth", seed=4)), image)
    assert np.array_equal(np.asarray(a), np.asarray(b)) and not np.array_equal(np.asarray(a), np.asarray(c))


@upscale
def test_tiles_with_padding_match_the_whole_image_and_without_it_show_seams(tiny_x4):
    from desktop.core.image.upscale import load_upscaler, tile_boxes, upscale_image

    model = load_upscaler(tiny_x4)
    image = noise(150, 100, seed=1)
    whole = np.asarray(upscale_image(model, image, tile=0)).astype(int)
    assert len(tile_boxes(150, 100, 48)) == 12
    tiled = np.asarray(upscale_image(model, image, tile=48, pad=32)).astype(int)
    seams = np.asarray(upscale_image(model, image, tile=48, pad=0)).astype(int)
    assert np.abs(whole - tiled).max() <= 1
    assert np.abs(whole - seams).max() > 8  # the check above can fail: bare tiles differ at their edges


@upscale
def test_alpha_and_grey_images_keep_their_look(tiny_x4):
    from desktop.core.image.upscale import load_upscaler, upscale_image

    model = load_upscaler(tiny_x4)
    rgba = noise(20, 16, "RGBA")
    out = upscale_image(model, rgba)
    assert out.mode == "RGBA" and out.size == (80, 64)
    expected_alpha = np.asarray(rgba.getchannel("A").resize((80, 64), Image.LANCZOS))
    assert np.array_equal(np.asarray(out.getchannel("A")), expected_alpha)
    grey = upscale_image(model, noise(20, 16, "L"))
    assert grey.mode == "RGB" and grey.size == (80, 64)


@upscale
def test_cancel_stops_between_tiles(tiny_x4):
    from desktop.core.image.upscale import load_upscaler, upscale_image

    model = load_upscaler(tiny_x4)
    token = CancelToken()
    seen = []

    def progress(report):
        seen.append(report.current)
        if report.current == 2:
            token.cancel("stop")

    with pytest.raises(JobCancelled):
        upscale_image(model, noise(120, 40), tile=40, pad=8, cancel=token, progress=progress)
    assert seen == [1, 2]  # three tiles; the third never ran


class Payload:
    """A pickled object whose loading would run code (it writes a file) if the loader allowed it."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


@upscale
def test_a_pickle_that_needs_code_is_refused_and_never_runs(tmp_path):
    import torch

    from desktop.core.image.upscale import load_upscaler

    marker = tmp_path / "ran.txt"
    evil = tmp_path / "evil.pth"
    torch.save({"conv.weight": torch.zeros(1), "x": Payload(str(marker))}, evil)
    with pytest.raises(ModelFileError) as err:
        load_upscaler(evil)
    assert "a safe load (weights_only) refused it (it asks for io.open)" in err.value.message
    assert ".safetensors" in err.value.hint
    assert not marker.exists()


@upscale
@pytest.mark.parametrize("case", ["unknown", "damaged", "missing", "suffix", "truncated"])
def test_bad_upscaler_files_are_named(tmp_path, tiny_x4, case):
    import torch
    from safetensors.torch import save_file

    from desktop.core.image.upscale import load_upscaler

    path = tmp_path / {"suffix": "model.onnx", "unknown": "odd.safetensors", "truncated": "cut.safetensors"}.get(
        case, "model.pth")
    if case == "unknown":
        save_file({"my.weight": torch.zeros(4, 4)}, str(path))
    elif case == "damaged":
        path.write_bytes(b"not a pickle at all" * 10)
    elif case == "suffix":
        path.write_bytes(b"x")
    elif case == "truncated":
        path.write_bytes(tiny_x4.read_bytes()[:-100])
    with pytest.raises(ModelFileError) as err:
        load_upscaler(path)
    expected = {"unknown": "is no upscaler architecture spandrel knows (1 tensors, starting my.weight)",
                "damaged": "could not be read as a PyTorch file", "missing": "does not exist",
                "suffix": "is not an upscaler file (it ends in .onnx)",
                "truncated": "is truncated"}[case]
    assert expected in err.value.message


@upscale
@pytest.mark.parametrize(("tile", "pad", "words"), [
    (8, 32, "Tile size 8 is too small"), (-1, 32, "Tile size must be a whole number"),
    (64, 1.5, "Tile padding must be a whole number")])
def test_bad_tiling_is_refused(tiny_x4, tile, pad, words):
    from desktop.core.image.upscale import load_upscaler, upscale_image

    with pytest.raises(InvalidParameter, match=words):
        upscale_image(load_upscaler(tiny_x4), noise(10, 10), tile=tile, pad=pad)


@upscale
def test_a_result_over_the_largest_side_is_refused_before_any_work(tiny_x4):
    from desktop.core.image.upscale import load_upscaler, upscale_image

    with pytest.raises(InvalidParameter, match="would be 16400x16"):
        upscale_image(load_upscaler(tiny_x4), Image.new("RGB", (4100, 4)))


def test_without_spandrel_the_message_says_how_to_get_it(monkeypatch, tmp_path):
    from desktop.core.image import upscale as module

    monkeypatch.setitem(sys.modules, "spandrel", None)  # import spandrel raises ImportError
    assert "Model upscaling is not available" in module.available()
    with pytest.raises(module.UpscaleUnavailable) as err:
        module.load_upscaler(tmp_path / "x.pth")
    assert 'pip install "genlab[upscale]"' in err.value.hint
