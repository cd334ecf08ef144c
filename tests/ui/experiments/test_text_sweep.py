"""A text sweep built in the editor, checked, run on stories260K through the shared engine, rated by keyboard."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from desktop.core.experiments.records import experiment_records
from desktop.ui.experiments.table import INDEX_ROLE
from desktop.ui.experiments.view import EDITOR, EMPTY, EXPERIMENT
from tests.ui.experiments.conftest import text_spec


def test_an_empty_workspace_says_what_to_do_and_opens_the_editor(open_workspace):
    w = open_workspace()
    assert w.pages.currentIndex() == EMPTY
    assert w.empty.button is not None and w.empty.button.text() == "New experiment"
    w.empty.button.click()
    assert w.pages.currentIndex() == EDITOR


def test_check_shows_the_plan_and_a_bad_spec_shows_its_error(qtbot, open_workspace, stories260k):
    w = open_workspace()
    w.new_experiment()
    w.editor.set_text(text_spec(stories260k))
    with qtbot.waitSignal(w.checked, timeout=30000):
        w.editor.check_button.click()
    assert w.editor.plan_label.text().startswith("4 cells, 1 model load, ")
    w.editor.set_text(text_spec(stories260k).replace("temperature = [0.0, 0.8]", "temperature = [0.0, -3]"))
    with qtbot.waitSignal(w.check_failed, timeout=30000) as failed:
        w.editor.check_button.click()
    assert "temperature" in failed.args[0] and "-3" in failed.args[0]
    assert w.editor.plan_label.text() == failed.args[0] and w.editor.plan_label.property("role") == "error"
    w.editor.set_text("kind = [")
    with qtbot.waitSignal(w.check_failed, timeout=30000) as failed:
        w.editor.check_button.click()
    assert "not valid TOML" in w.editor.plan_label.text()


@pytest.mark.slow
def test_a_sweep_runs_as_one_engine_job_fills_the_table_and_is_rated_by_keyboard(
        qtbot, open_workspace, runner, services, history, stories260k):
    w = open_workspace()
    w.new_experiment()
    w.editor.set_text(text_spec(stories260k))
    with qtbot.waitSignal(w.run_started, timeout=30000) as started:
        w.editor.run_button.click()
    assert [h.job.kind for h in runner.engine_jobs()] == ["engine"]
    assert runner.engine_jobs()[0].name == "Experiment: stories sweep"
    with qtbot.waitSignal(w.run_finished, timeout=120000) as finished:
        pass
    summary = finished.args[0]
    assert (summary.status, summary.done, summary.failed, summary.model_loads) == ("finished", 4, {}, 1)
    assert w.pages.currentIndex() == EXPERIMENT
    table = w.results.current_table()
    qtbot.waitUntil(lambda: len(table.records) == 4, timeout=30000)
    # one column per temperature, one row per prompt
    assert [table.horizontalHeaderItem(c).text() for c in range(2)] == ["0", "0.8"]
    assert [table.verticalHeaderItem(r).text() for r in range(2)] == ["Once upon a time", "The little dog"]
    records = {r.id: r for r in experiment_records(history, started.args[0])}
    for row in range(2):
        for column in range(2):
            item = table.item(row, column)
            record = table.records[item.data(INDEX_ROLE)]
            assert record.id in records and "tok/s" in item.text() and "☆☆☆☆☆" in item.text()
            assert record.output_text.strip() and " ".join(record.output_text.split())[:20] in item.text()
    assert w.listing.item_for(started.args[0]).text(3) == "4/4"
    assert w.listing.item_for(started.args[0]).text(2) == "finished"

    table.setFocus()
    table.setCurrentCell(0, 0)
    qtbot.keyClick(table, Qt.Key.Key_Right)
    assert (table.currentRow(), table.currentColumn()) == (0, 1)
    target = table.current_record()
    with qtbot.waitSignal(w.record_rated, timeout=30000):
        qtbot.keyClick(table, Qt.Key.Key_4)
    history.flush(timeout=30)
    assert history.get(target.id).rating == 4
    assert "★★★★☆" in table.currentItem().text()
    assert "★★★★☆" in w.results.details.toPlainText()
