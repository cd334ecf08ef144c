"""Contenders, matches and the blind left/right order."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop.core.arena.contenders import check_contenders, make_contender
from desktop.core.arena.errors import ArenaError
from desktop.core.arena.pairing import plan_matches
from desktop.core.errors import InvalidParameter


def _c(model, **values):
    return make_contender("text", model, values, resolve=Path)


def test_the_left_right_order_is_balanced_over_1000_draws():
    a, b = _c("alpha.gguf"), _c("beta.gguf")
    matches = plan_matches([a, b], [f"prompt {i}" for i in range(1000)], order_seed=7)
    left_a = sum(m.contenders()[0] is a for m in matches)
    # Binomial(1000, 0.5): sd 15.8; 450..550 is beyond 3 sd on either side.
    assert 450 <= left_a <= 550
    assert {m.contenders()[0] for m in matches} == {a, b}
    # The order is seeded: the same seed draws the same sides and seeds, another one other sides.
    again = plan_matches([a, b], [f"prompt {i}" for i in range(1000)], order_seed=7)
    assert [m.contenders()[0] for m in again] == [m.contenders()[0] for m in matches]
    other = plan_matches([a, b], [f"prompt {i}" for i in range(1000)], order_seed=8)
    assert [m.contenders()[0] for m in other] != [m.contenders()[0] for m in matches]


def test_names_are_hidden_until_the_vote():
    match = plan_matches([_c("alpha.gguf"), _c("beta.gguf")], ["hi"], order_seed=1)[0]
    with pytest.raises(ArenaError, match="shown after the vote"):
        match.names()
    assert "alpha" not in repr(match) and "beta" not in repr(match)
    match.verdict = "tie"
    assert sorted(match.names()) == ["alpha", "beta"]


def test_both_sides_get_one_seed_per_prompt():
    matches = plan_matches([_c("alpha.gguf"), _c("beta.gguf"), _c("gamma.gguf")], ["one", "two"], seed=40)
    assert len(matches) == 6  # three pairs per prompt
    assert [m.seed for m in matches] == [40, 40, 40, 41, 41, 41]
    drawn = plan_matches([_c("alpha.gguf"), _c("beta.gguf")], ["one", "two"], order_seed=3)
    assert all(0 <= m.seed < 2**31 for m in drawn)


def test_one_contender_is_refused():
    with pytest.raises(ArenaError, match=r"needs two contenders; it got 1 \(alpha\)"):
        check_contenders([_c("alpha.gguf")])


def test_two_identical_contenders_are_refused():
    with pytest.raises(ArenaError, match="Two contenders are the same: alpha"):
        check_contenders([_c("alpha.gguf"), _c("./alpha.gguf")])
    # A preset of the same model is another contender.
    check_contenders([_c("alpha.gguf"), _c("alpha.gguf", temperature=0.1)])


def test_a_preset_is_checked_like_the_commands_options():
    assert _c("alpha.gguf", temperature=0.1).label == "alpha (temperature=0.1)"
    with pytest.raises(InvalidParameter, match="temperature must be a number"):
        _c("alpha.gguf", temperature="hot")
    with pytest.raises(ArenaError, match="'seed' cannot be part of a text contender's preset"):
        _c("alpha.gguf", seed=3)
    image = make_contender("image", "sd", {"scheduler": "euler", "steps": 4}, resolve=Path)
    assert image.label == "sd (scheduler=euler, steps=4)"


def test_no_prompts_is_refused():
    with pytest.raises(ArenaError, match="no prompts"):
        plan_matches([_c("alpha.gguf"), _c("beta.gguf")], ["  ", ""])


def test_a_preset_is_read_from_one_line():
    from desktop.core.arena.contenders import parse_preset

    assert parse_preset("temperature=0.2, top_p=0.9") == {"temperature": 0.2, "top_p": 0.9}
    assert parse_preset('stop=["a", "b"]; system=Be brief, please\nmax-tokens=8') == {
        "stop": ["a", "b"], "system": "Be brief, please", "max-tokens": 8}
    assert parse_preset("  ") == {}
    with pytest.raises(ArenaError, match="needs KEY=VALUE, not 'warm'"):
        parse_preset("warm")
