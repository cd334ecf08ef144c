"""Zooming the image grid: Ctrl+=, Ctrl+-, Ctrl+wheel and the slider resize the cells, decode the thumbnails
again at the new size, and keep the cell selected."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from desktop.ui.experiments.results import ZOOM_STEP
from desktop.ui.experiments.table import THUMB_SIDE
from tests.ui.experiments.conftest import seed_image_experiment

TIMEOUT = 30000


def _thumb_widths(table) -> set[int]:
    widths = set()
    for row in range(table.rowCount()):
        for column in range(table.columnCount()):
            pixmap = table.item(row, column).data(Qt.ItemDataRole.DecorationRole)
            widths.add(pixmap.width() if pixmap is not None else 0)
    return widths


def _ctrl_wheel(table, notches: int) -> None:
    event = QWheelEvent(QPointF(10, 10), QPointF(table.mapToGlobal(QPoint(10, 10))), QPoint(0, 0),
                        QPoint(0, 120 * notches), Qt.MouseButton.NoButton, Qt.KeyboardModifier.ControlModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(table.viewport(), event)


@pytest.mark.slow
def test_zoom_resizes_the_cells_redecodes_the_thumbnails_and_keeps_the_selection(
        qtbot, open_workspace, history, tmp_path):
    experiment_id = seed_image_experiment(history, tmp_path, seeds=3, guidances=2, side=512)
    w = open_workspace()
    with qtbot.waitSignal(w.results_shown, timeout=TIMEOUT):
        w.listing.select(experiment_id)
    table = w.results.current_table()
    assert w.results.zoom.isVisible() and w.results.zoom.value() == THUMB_SIDE
    qtbot.waitUntil(lambda: _thumb_widths(table) == {THUMB_SIDE}, timeout=TIMEOUT)
    before = table.columnWidth(0), table.rowHeight(0)
    table.setCurrentCell(1, 2)
    selected = table.current_record()

    table.setFocus()
    qtbot.keyClick(table, Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
    bigger = THUMB_SIDE + ZOOM_STEP
    assert w.results.zoom.value() == bigger and table.iconSize().width() == bigger
    assert table.columnWidth(0) == before[0] + ZOOM_STEP and table.rowHeight(0) == before[1] + ZOOM_STEP
    qtbot.waitUntil(lambda: _thumb_widths(table) == {bigger}, timeout=TIMEOUT)
    assert (table.currentRow(), table.currentColumn()) == (1, 2) and table.current_record() is selected
    assert table.selectedItems() == [table.item(1, 2)]

    _ctrl_wheel(table, -3)
    smaller = bigger - 3 * ZOOM_STEP
    assert w.results.zoom.value() == smaller and table.columnWidth(0) == before[0] + smaller - THUMB_SIDE
    qtbot.waitUntil(lambda: _thumb_widths(table) == {smaller}, timeout=TIMEOUT)
    qtbot.keyClick(table, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    assert w.results.zoom.value() == smaller - ZOOM_STEP

    w.results.zoom.setValue(400)  # past the history's thumbnail files: decoded from the full image
    qtbot.waitUntil(lambda: _thumb_widths(table) == {400}, timeout=TIMEOUT)
    assert table.current_record() is selected and table.selectedItems() == [table.item(1, 2)]

