"""Image parameter validation and per-family defaults."""

from __future__ import annotations

import math

import pytest

from desktop.core.errors import InvalidParameter
from desktop.core.image.params import SD1, SD_TURBO, SDXL, SDXL_TURBO, ImageParams, default_params, validate_params
from desktop.core.image.schedulers import SCHEDULER_NAMES


def ok(**kw) -> ImageParams:
    base = dict(prompt="a lighthouse", steps=20, width=512, height=512, seed=1)
    base.update(kw)
    return ImageParams(**base)


@pytest.mark.parametrize("width, expected", [(0, "Width 0 must be between 64 and 2048 px"),
                                             (7, "Width 7 must be between 64 and 2048 px"),
                                             (100000, "Width 100000 must be between 64 and 2048 px"),
                                             (100, "Width 100 must be a multiple of 8")])
def test_bad_widths_are_refused_with_the_reason(width, expected):
    with pytest.raises(InvalidParameter, match=expected):
        validate_params(ok(width=width))


def test_width_not_multiple_of_8_suggests_neighbours():
    with pytest.raises(InvalidParameter) as err:
        validate_params(ok(height=100))
    assert "Height 100 must be a multiple of 8 (try 96 or 104)." in str(err.value)


def test_two_wrong_sides_are_named_in_one_message():
    """Width and height both wrong: one message with both values, not first one then the other."""
    with pytest.raises(InvalidParameter) as err:
        validate_params(ok(width=100, height=70))
    assert str(err.value).startswith("Width 100 and Height 70 must be multiples of 8 (try 104 × 72).")
    with pytest.raises(InvalidParameter) as err:
        validate_params(ok(width=4096, height=70), SD1)
    assert str(err.value).startswith("Width 4096 must be between 64 and 2048 px for Stable Diffusion 1.x, "
                                     "and Height 70 must be a multiple of 8 (try 64 or 72).")


@pytest.mark.parametrize("bad, label", [
    (dict(width="x"), "Width"), (dict(height=9), "Height"), (dict(steps=0), "Steps"),
    (dict(guidance=-1.5), "Guidance scale"), (dict(batch_count=0), "Batch count"), (dict(seed=-3), "Seed"),
    (dict(scheduler="Heun++"), "Scheduler"),
])
def test_every_message_uses_the_panel_label_and_the_value(bad, label):
    with pytest.raises(InvalidParameter) as err:
        validate_params(ok(**bad), known_schedulers=SCHEDULER_NAMES)
    message = str(err.value)
    assert message.startswith(label) and str(next(iter(bad.values()))) in message


def test_sdxl_allows_larger_sizes_than_sd1():
    validate_params(ok(width=4096, height=1024), SDXL)
    with pytest.raises(InvalidParameter, match="2048"):
        validate_params(ok(width=4096), SD1)


@pytest.mark.parametrize("steps", [0, 10000, -1, 2.5])
def test_bad_steps_are_refused(steps):
    with pytest.raises(InvalidParameter, match="Steps must be between 1 and 150"):
        validate_params(ok(steps=steps))


@pytest.mark.parametrize("guidance", [math.nan, math.inf, -0.5, 31.0])
def test_bad_guidance_is_refused(guidance):
    with pytest.raises(InvalidParameter, match="Guidance scale"):
        validate_params(ok(guidance=guidance))


def test_seed_range_and_random_seed_is_filled_in():
    with pytest.raises(InvalidParameter, match="Seed"):
        validate_params(ok(seed=-3))
    picked = validate_params(ok(seed=None)).params.seed
    assert isinstance(picked, int) and 0 <= picked < 2**32


def test_unknown_scheduler_lists_the_choices():
    with pytest.raises(InvalidParameter, match="Scheduler must be one GenLab knows") as err:
        validate_params(ok(scheduler="Heun++"), known_schedulers=SCHEDULER_NAMES)
    assert "DPM++ 2M Karras" in err.value.hint


def test_empty_prompt_is_allowed_with_a_warning():
    checked = validate_params(ok(prompt="   "))
    assert any("prompt is empty" in w for w in checked.warnings)
    assert not validate_params(ok()).warnings


def test_img2img_strength_and_missing_init(tmp_path):
    init = tmp_path / "init.png"
    init.write_bytes(b"whatever")
    with pytest.raises(InvalidParameter, match="Strength"):
        validate_params(ok(init_image=str(init), strength=0.0))
    with pytest.raises(InvalidParameter, match="no denoising step"):
        validate_params(ok(init_image=str(init), strength=0.1, steps=5))
    with pytest.raises(InvalidParameter, match="does not exist"):
        validate_params(ok(init_image=str(tmp_path / "missing.png")))


def test_turbo_defaults_and_step_warning():
    for family in (SD_TURBO, SDXL_TURBO):
        d = default_params(family)
        assert (d.steps, d.guidance) == (1, 0.0)
        assert any("at most 4 steps" in w for w in validate_params(ok(steps=20), family).warnings)
    assert default_params(SDXL).width == 1024
    assert default_params(SD1, lcm=True).scheduler == "LCM"


def test_params_round_trip_through_dict():
    p = ok(negative_prompt="blur", scheduler="DDIM")
    assert ImageParams.from_dict({**p.to_dict(), "unknown": 1}) == p
