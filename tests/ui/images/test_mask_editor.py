"""The mask editor, painted with the mouse on a real widget."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtTest import QTest

from desktop.ui.images.mask_editor import MaskEditor, stamp_line

SIDE = 64  # image pixels; the canvas is 4x that, so one image pixel is 4 widget pixels


@pytest.fixture
def editor(qtbot):
    widget = MaskEditor()
    qtbot.addWidget(widget)
    image = QImage(SIDE, SIDE, QImage.Format.Format_RGB32)
    image.fill(QColor(30, 120, 200))
    widget.set_image(image)
    widget.set_feather(0)
    widget.canvas.setFixedSize(4 * SIDE, 4 * SIDE)
    widget.show()
    qtbot.waitExposed(widget)
    widget.size_box.setValue(8)
    return widget


def drag(canvas, points: list[tuple[int, int]]) -> None:
    """A left-button stroke through ``points`` (image pixels), with real mouse events."""
    at = [QPoint(4 * x, 4 * y) for x, y in points]
    QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at[0])
    for pos in at[1:]:
        QTest.mouseMove(canvas, pos)
    QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at[-1])


def expected_stroke(points, radius, value=255, mask=None) -> np.ndarray:
    mask = np.zeros((SIDE, SIDE), dtype=np.uint8) if mask is None else mask.copy()
    for a, b in zip(points, points[1:]):
        stamp_line(mask, a, b, radius, value)
    return mask


def test_a_mouse_stroke_paints_a_white_band_and_nothing_else(qtbot, editor):
    assert editor.is_empty()
    with qtbot.waitSignal(editor.mask_changed, timeout=5000):
        drag(editor.canvas, [(10, 20), (30, 20), (50, 20)])
    mask = editor.mask_array()
    assert mask.shape == (SIDE, SIDE) and set(np.unique(mask)) == {0, 255}
    assert (mask[17:24, 10:51] == 255).all()  # the band under the stroke, 8 px wide
    assert not mask[:14].any() and not mask[27:].any()  # nothing far from it
    assert np.array_equal(mask, expected_stroke([(10, 20), (30, 20), (50, 20)], 4))
    assert "repainted" in editor.coverage.text()


def test_a_fast_drag_leaves_no_gaps(editor):
    drag(editor.canvas, [(5, 5), (60, 60)])  # one move event for the whole diagonal
    mask = editor.mask_array()
    assert all(mask[i, i] == 255 for i in range(5, 61))


def test_the_eraser_invert_and_clear(qtbot, editor):
    drag(editor.canvas, [(10, 20), (50, 20)])
    qtbot.mouseClick(editor.eraser_button, Qt.MouseButton.LeftButton)
    assert editor.canvas.erasing
    drag(editor.canvas, [(30, 10), (30, 30)])  # a vertical cut through the band
    mask = editor.mask_array()
    assert not mask[17:24, 27:34].any() and (mask[17:24, 10:24] == 255).all() and (mask[17:24, 37:51] == 255).all()
    before = editor.mask_array()
    qtbot.mouseClick(editor.invert_button, Qt.MouseButton.LeftButton)
    assert np.array_equal(editor.mask_array(), 255 - before)
    qtbot.mouseClick(editor.clear_button, Qt.MouseButton.LeftButton)
    assert editor.is_empty()
    qtbot.mouseClick(editor.brush_button, Qt.MouseButton.LeftButton)
    drag(editor.canvas, [(32, 32), (32, 32)])  # a click paints one dot of the brush's size
    assert editor.mask_array()[32, 32] == 255 and int((editor.mask_array() == 255).sum()) == pytest.approx(np.pi * 16, rel=0.3)


def test_the_feather_shows_the_blend_and_the_saved_mask_is_the_painted_one(qtbot, editor, tmp_path):
    drag(editor.canvas, [(10, 20), (50, 20)])
    assert editor.canvas.feathered is None
    editor.set_feather(6)
    soft = editor.canvas.feathered
    assert soft is not None and 0 < soft[12, 30] < 255  # the edge, blurred for the overlay
    assert set(np.unique(editor.mask_array())) == {0, 255}  # the mask itself stays sharp
    sha = editor.save(tmp_path / "mask.png")
    saved = np.asarray(Image.open(tmp_path / "mask.png"))
    assert saved.shape == (SIDE, SIDE) and np.array_equal(saved, editor.mask_array()) and len(sha) == 64
