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


@pytest.mark.parametrize("width, expected", [(0, "outside the range"), (7, "outside the range"),
                                             (100000, "outside the range"), (100, "not a multiple of 8")])
def test_bad_widths_are_refused_with_the_reason(width, expected):
    with pytest.raises(InvalidParameter, match=expected) as err:
        validate_params(ok(width=width))
    assert "Width" in str(err.value)


def test_width_not_multiple_of_8_suggests_neighbours():
    with pytest.raises(InvalidParameter) as err:
        validate_params(ok(height=100))
    assert "96" in err.value.hint and "104" in err.value.hint


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
    with pytest.raises(InvalidParameter, match="Unknown scheduler") as err:
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
