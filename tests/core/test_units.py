"""The one duration formatter: milliseconds under a second, seconds above."""

from __future__ import annotations

import pytest

from desktop.core.units import format_duration


@pytest.mark.parametrize(("seconds", "text"), [
    (0.0, "0 ms"), (0.0424, "42 ms"), (0.9994, "999 ms"), (0.9996, "1.0 s"), (1.0, "1.0 s"),
    (2.4, "2.4 s"), (9.96, "10 s"), (42.4, "42 s"), (59.6, "1 min 0 s"), (65, "1 min 5 s"),
    (3599.6, "1 h 0 min"), (3600, "1 h 0 min"), (7390, "2 h 3 min"),
    (-1, "–"), (float("nan"), "–"), (float("inf"), "–"),
])
def test_durations_read_in_the_unit_a_person_expects(seconds, text):
    assert format_duration(seconds) == text
