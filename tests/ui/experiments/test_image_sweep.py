"""An image sweep on the tiny pipeline fills the X/Y grid with thumbnails and saves a labelled grid PNG."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def image_spec(model) -> str:
    return (f'name = "seeds by guidance"\nkind = "image"\n[fixed]\nmodel = "{model}"\nsteps = 1\n'
            f'size = "64x64"\nprompt = "a red square"\n[axes]\nseed = [1, 2]\nguidance = [1.0, 5.0]\n'
            f'negative_prompt = ["", "blurry"]\n')


@pytest.mark.slow
def test_an_image_sweep_fills_the_grid_with_z_as_tabs_and_saves_the_grid_png(
        qtbot, open_workspace, tiny_sd_pipeline, tmp_path):
    w = open_workspace()
    w.new_experiment()
    w.editor.set_text(image_spec(tiny_sd_pipeline))
    with qtbot.waitSignal(w.run_finished, timeout=300000) as finished:
        w.editor.run_button.click()
    assert (finished.args[0].done, finished.args[0].failed) == (8, {})
    assert w.results.columns.currentText() == "seed"
    assert w.results.rows_label.text() == "Rows: guidance"
    assert w.results.tabs.count() == 2  # Z: the negative prompt
    assert [w.results.tabs.tabText(i) for i in range(2)] == ["negative = (empty)", "negative = blurry"]
    for table in w.results.tables:
        qtbot.waitUntil(lambda table=table: len(table.records) == 4, timeout=30000)
        assert [table.horizontalHeaderItem(c).text() for c in range(2)] == ["1", "2"]
        assert [table.verticalHeaderItem(r).text() for r in range(2)] == ["1", "5"]
        for row in range(2):
            for column in range(2):
                qtbot.waitUntil(lambda t=table, r=row, c=column: t.item(r, c).data(Qt.ItemDataRole.DecorationRole)
                                is not None, timeout=30000)

    w.results.tabs.setCurrentIndex(1)
    target = tmp_path / "grid.png"
    w.choose_png_path = lambda: str(target)
    with qtbot.waitSignal(w.grid_saved, timeout=30000):
        w.results.save_grid_button.click()
    image = QImage(str(target))
    assert (image.width(), image.height()) == (200 + 2 * 256, 36 + 2 * 256)
    parameters = json.loads(image.text("parameters"))
    assert parameters["columns"] == "seed" and parameters["rows"] == ["guidance"]
    assert parameters["tab"] == "negative = blurry"
    assert parameters["spec"]["axes"]["seed"] == [1, 2]
