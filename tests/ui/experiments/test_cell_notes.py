"""Tags and a note on a cell of the image grid, typed from the keyboard: saved on the cell's history record,
shown in the cell, and found by History's tag filter."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from desktop.ui.history.view import HistoryWorkspace
from tests.ui.experiments.conftest import seed_image_experiment

TIMEOUT = 30000


@pytest.mark.slow
def test_a_cell_tagged_from_the_keyboard_carries_the_tags_and_history_finds_it(
        qtbot, open_workspace, services, runner, history, tmp_path):
    experiment_id = seed_image_experiment(history, tmp_path, seeds=2, guidances=2)
    w = open_workspace()
    with qtbot.waitSignal(w.results_shown, timeout=TIMEOUT):
        w.listing.select(experiment_id)
    table, notes = w.results.current_table(), w.results.notes
    qtbot.waitUntil(lambda: len(table.records) == 4, timeout=TIMEOUT)
    w.activateWindow()
    table.setFocus()
    table.setCurrentCell(0, 0)
    qtbot.keyClick(table, Qt.Key.Key_Right)
    target = table.current_record()
    assert notes.record is target and notes.tags.text() == ""

    qtbot.keyClick(table, Qt.Key.Key_T)
    qtbot.waitUntil(notes.tags.hasFocus, timeout=TIMEOUT)
    qtbot.keyClicks(notes.tags, "sunset, red,  sunset")
    with qtbot.waitSignal(w.record_annotated, timeout=TIMEOUT):
        qtbot.keyClick(notes.tags, Qt.Key.Key_Return)
    qtbot.waitUntil(table.hasFocus, timeout=TIMEOUT)  # back on the grid for the next cell
    qtbot.keyClick(table, Qt.Key.Key_N)
    qtbot.waitUntil(notes.note.hasFocus, timeout=TIMEOUT)
    qtbot.keyClicks(notes.note, "the best of its row")
    with qtbot.waitSignal(w.record_annotated, timeout=TIMEOUT) as annotated:
        qtbot.keyClick(notes.note, Qt.Key.Key_Return)

    history.flush(timeout=30)
    saved = history.get(target.id)
    assert (saved.tags, saved.note) == (["red", "sunset"], "the best of its row")
    assert annotated.args[0].id == target.id
    item = table.currentItem()
    assert "[red, sunset]" in item.text() and "the best of its row" in item.toolTip()
    assert notes.tags.text() == "red, sunset"
    others = [r for i, r in table.records.items() if r.id != target.id]
    assert all(history.get(r.id).tags == [] for r in others)

    page = HistoryWorkspace(services, runner)
    qtbot.addWidget(page)
    qtbot.waitUntil(lambda: page.last_result is not None, timeout=TIMEOUT)
    with qtbot.waitSignal(page.results_shown, timeout=TIMEOUT):
        page.tag.setText("sunset")
    assert [h.record.id for h in page.last_result.hits] == [target.id]


def test_esc_in_the_tags_field_drops_the_edit(qtbot, open_workspace, history, tmp_path):
    experiment_id = seed_image_experiment(history, tmp_path, seeds=1, guidances=2)
    w = open_workspace()
    with qtbot.waitSignal(w.results_shown, timeout=TIMEOUT):
        w.listing.select(experiment_id)
    table, notes = w.results.current_table(), w.results.notes
    qtbot.waitUntil(lambda: len(table.records) == 2, timeout=TIMEOUT)
    table.setCurrentCell(0, 0)
    asked = []
    w.results.annotate_requested.connect(lambda *args: asked.append(args))
    notes.tags.setText("never saved")
    qtbot.keyClick(notes.tags, Qt.Key.Key_Escape)
    assert notes.tags.text() == "" and asked == []
    table.setCurrentCell(0, 1)  # moving on saves nothing either
    assert asked == [] and notes.record is table.current_record()


def test_esc_in_a_field_is_not_the_windows_stop_shortcut(qtbot):
    from PySide6.QtGui import QKeySequence, QShortcut
    from PySide6.QtWidgets import QPushButton, QVBoxLayout, QWidget

    from desktop.core.records import GenerationRecord
    from desktop.ui.experiments.notes import CellNotes

    window = QWidget()
    qtbot.addWidget(window)
    stops = []
    QShortcut(QKeySequence("Escape"), window).activated.connect(lambda: stops.append(1))
    notes, button = CellNotes(), QPushButton("elsewhere")
    column = QVBoxLayout(window)
    column.addWidget(button)
    column.addWidget(notes)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    notes.show_record(GenerationRecord(kind="image", prompt="a square", tags=["kept"]))
    button.setFocus()
    qtbot.waitUntil(button.hasFocus, timeout=TIMEOUT)
    qtbot.keyClick(button, Qt.Key.Key_Escape)
    assert stops == [1]  # the shortcut works where no field has the keyboard
    notes.edit_tags()
    qtbot.waitUntil(notes.tags.hasFocus, timeout=TIMEOUT)
    qtbot.keyClicks(notes.tags, "typed")
    with qtbot.waitSignal(notes.finished, timeout=TIMEOUT):
        qtbot.keyClick(notes.tags, Qt.Key.Key_Escape)
    assert stops == [1] and notes.tags.text() == "kept"
