"""The Summary tab: per axis value, the mean rating given and the mean speed, as a table and pyqtgraph bars."""

from __future__ import annotations

import tomllib

import pytest

from desktop.core.experiments.runner import run_experiment, start_experiment
from desktop.core.experiments.spec import parse_spec
from desktop.core.experiments.store import ExperimentStore
from tests.ui.experiments.conftest import text_spec

TIMEOUT = 30000


@pytest.fixture
def shown(qtbot, open_workspace, history, stories260k):
    """The workspace showing a finished 2 temperatures x 2 prompts stories260K sweep."""
    experiments = ExperimentStore.beside(history)
    experiment = start_experiment(parse_spec(tomllib.loads(text_spec(stories260k))), experiments)
    assert run_experiment(experiment.id, experiments=experiments, history=history).done == 4
    w = open_workspace()
    with qtbot.waitSignal(w.results_shown, timeout=TIMEOUT):
        w.listing.select(experiment.id)
    return w


def _rate(qtbot, w, cell: int, rating: int) -> None:
    with qtbot.waitSignal(w.record_rated, timeout=TIMEOUT):
        w.rate(w.results.results.records[cell].id, rating)


def _column(table, column: int) -> list[str]:
    return [table.item(row, column).text() for row in range(table.rowCount())]


@pytest.mark.slow
def test_the_summary_shows_the_ratings_given_per_value_with_one_bar_each(qtbot, shown):
    _rate(qtbot, shown, 0, 5)  # temperature 0, "Once upon a time"
    _rate(qtbot, shown, 2, 2)  # temperature 0.8, "Once upon a time"
    panel = shown.summary
    assert panel.rating_chart is None  # nothing of pyqtgraph before the tab is opened
    with qtbot.waitSignal(panel.summarized, timeout=TIMEOUT) as done:
        shown.result_tabs.setCurrentWidget(panel)
    assert done.args[0].axis == "temperature"
    assert [panel.axis_box.itemText(i) for i in range(panel.axis_box.count())] == ["temperature", "prompt"]
    assert _column(panel.table, 0) == ["0", "0.8"]
    assert _column(panel.table, 1) == ["2", "2"] and _column(panel.table, 2) == ["1", "1"]
    assert _column(panel.table, 3) == ["5.00", "2.00"]
    assert panel.table.horizontalHeaderItem(4).text() == "Mean tok/s"
    assert all(float(text) > 0 for text in _column(panel.table, 4))
    assert list(panel.rating_chart.bars.opts["height"]) == [5.0, 2.0]
    assert panel.rating_chart.bar_count == panel.speed_chart.bar_count == 2

    with qtbot.waitSignal(panel.summarized, timeout=TIMEOUT):
        panel.axis_box.setCurrentText("prompt")
    assert _column(panel.table, 0) == ["Once upon a time", "The little dog"]
    assert _column(panel.table, 3) == ["3.50", "–"]  # the unrated prompt has no mean, not a zero
    assert list(panel.rating_chart.bars.opts["height"]) == [3.5]
    assert panel.speed_chart.bar_count == 2


@pytest.mark.slow
def test_a_rating_given_while_the_summary_is_open_shows_at_once(qtbot, shown):
    panel = shown.summary
    with qtbot.waitSignal(panel.summarized, timeout=TIMEOUT):
        shown.result_tabs.setCurrentWidget(panel)
    assert _column(panel.table, 3) == ["–", "–"]
    with qtbot.waitSignal(panel.summarized, timeout=TIMEOUT):
        _rate(qtbot, shown, 1, 4)  # temperature 0
    assert _column(panel.table, 3) == ["4.00", "–"]
