"""Sampling parameters validate with clear messages; presets save, load and delete."""

from __future__ import annotations

import pytest

from desktop.core.errors import InvalidParameter
from desktop.core.settings import Settings, load_settings, save_settings
from desktop.core.text.params import (
    BUILTIN_PRESETS,
    SamplingParams,
    delete_preset,
    load_preset,
    preset_names,
    save_preset,
)


def test_defaults_are_valid():
    assert SamplingParams().validated() == SamplingParams()


def test_messages_name_field_value_and_range():
    with pytest.raises(InvalidParameter) as info:
        SamplingParams(top_p=0.0).validated()
    assert str(info.value).startswith("Top-p must be above 0 and at most 1 (got 0).")


@pytest.mark.parametrize("bad, label", [
    (dict(temperature=11.0), "Temperature"), (dict(top_k=-1), "Top-k"), (dict(top_p=1.5), "Top-p"),
    (dict(min_p=-0.5), "Min-p"), (dict(repeat_penalty=0.0), "Repeat penalty"), (dict(max_tokens=0), "Max tokens"),
    (dict(seed=-2), "Seed"), (dict(stop=["x"] * 17), "Stop strings"), (dict(stop=[""]), "Stop strings"),
])
def test_every_message_uses_the_on_screen_label(bad, label):
    """The Chat panel's label, never the field name (top_p, max_tokens), and the value given."""
    with pytest.raises(InvalidParameter) as info:
        SamplingParams(**bad).validated()
    message = str(info.value)
    assert label in message and "_" not in message
    assert "(got" in message or "empty" in message


@pytest.mark.parametrize("value", ["0.5", True, None])
def test_wrong_types_are_refused(value):
    with pytest.raises(InvalidParameter, match="Temperature must be a finite number"):
        SamplingParams(temperature=value).validated()


def test_random_seed_is_made_concrete():
    params = SamplingParams(seed=-1).with_seed()
    assert 0 <= params.seed < 2**32
    assert SamplingParams(seed=7).with_seed().seed == 7


def test_presets_round_trip_through_settings_file(tmp_path):
    settings = Settings()
    mine = SamplingParams(temperature=0.3, top_k=12, stop=["\n\n"], max_tokens=99)
    save_preset(settings, "  Mine ", mine)
    path = tmp_path / "settings.json"
    save_settings(settings, path)
    reloaded, warning = load_settings(path)
    assert warning is None
    assert load_preset(reloaded, "Mine") == mine
    assert "Mine" in preset_names(reloaded) and preset_names(reloaded)[: len(BUILTIN_PRESETS)] == list(BUILTIN_PRESETS)
    delete_preset(reloaded, "Mine")
    assert "Mine" not in preset_names(reloaded)
    with pytest.raises(InvalidParameter, match="no preset named"):
        load_preset(reloaded, "Mine")


def test_builtin_presets_are_protected_and_invalid_presets_refused():
    settings = Settings()
    with pytest.raises(InvalidParameter, match="built-in"):
        save_preset(settings, "Balanced", SamplingParams())
    with pytest.raises(InvalidParameter, match="built-in"):
        delete_preset(settings, "Creative")
    with pytest.raises(InvalidParameter, match="needs a name"):
        save_preset(settings, "  ", SamplingParams())
    with pytest.raises(InvalidParameter, match="Max tokens"):
        save_preset(settings, "bad", SamplingParams(max_tokens=0))
    assert settings.text.presets == {}
    assert load_preset(settings, "Precise (greedy)").temperature == 0


def test_given_keeps_the_default_of_every_value_left_out():
    from desktop.core.text.params import SamplingParams

    made = SamplingParams.given(temperature=0.0, top_k=None, seed=None, max_tokens=12)
    assert made == SamplingParams(temperature=0.0, max_tokens=12)
    assert made.seed == -1 and made.top_k == SamplingParams().top_k
