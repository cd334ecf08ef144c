"""PlotCard details that the seeded history does not show, and the lazy pyqtgraph import."""

from __future__ import annotations

import subprocess
import sys
from datetime import date

import pyarrow as pa
import pytest

from desktop.core.insights.series import Series
from desktop.ui.insights.plots import PlotCard, day_seconds


def test_a_day_without_generations_is_a_zero_on_a_count_line_and_a_gap_on_a_mean(qtbot):
    days = pa.array([date(2026, 3, 1), date(2026, 3, 4), date(2026, 3, 2)], pa.date32())
    table = pa.table({"day": days, "model": ["a", "a", "b"], "value": [3.0, 5.0, 1.0]})
    card = PlotCard("t", dates=True, y_label="n")
    qtbot.addWidget(card)
    card.draw_lines(Series("s", "t", table), "model", "value", zero_days=True)
    every = [day_seconds(date(2026, 3, d)) for d in range(1, 5)]
    assert card.drawn == {"a": (every, [3.0, 0, 0, 5.0]), "b": (every, [0, 1.0, 0, 0])}
    card.draw_lines(Series("s", "t", table), "model", "value")
    assert card.drawn["a"] == ([every[0], every[3]], [3.0, 5.0])


@pytest.mark.slow
def test_opening_the_module_does_not_import_pyqtgraph():
    code = "import sys, desktop.ui.insights.view; print('pyqtgraph' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_a_single_day_shows_a_day_either_side_instead_of_fractions_of_a_second(qtbot):
    table = pa.table({"day": pa.array([date(2026, 3, 1)], pa.date32()), "model": ["a"], "value": [6.0]})
    card = PlotCard("t", dates=True, y_label="n")
    qtbot.addWidget(card)
    card.draw_lines(Series("s", "t", table), "model", "value", zero_days=True)
    low, high = card.plot.getViewBox().viewRange()[0]
    assert low <= day_seconds(date(2026, 2, 28)) and high >= day_seconds(date(2026, 3, 2))
