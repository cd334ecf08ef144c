"""Inpaint (a mask painted with the mouse), outpaint and hires fix from the Images parameter panel,
on the tiny SD pipeline."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from desktop.ui.images.view import ImagesWorkspace

TIMEOUT = 60_000
SIDE = 64


@pytest.fixture
def init_png(tmp_path):
    path = tmp_path / "init.png"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (SIDE, SIDE, 3), dtype=np.uint8)).save(path)
    return path


@pytest.fixture
def workspace(qtbot, services, runner, tiny_sd_pipeline, init_png):
    ws = ImagesWorkspace(services, runner)
    qtbot.addWidget(ws)
    ws.select_model(str(tiny_sd_pipeline))
    panel = ws.params_panel
    panel.width_box.setValue(SIDE)
    panel.height_box.setValue(SIDE)
    panel.steps.setValue(4)
    panel.set_seed(5)
    panel.prompt.setPlainText("a red lighthouse")
    panel.init_image.setText(str(init_png))
    return ws


def generate(qtbot, ws):
    ended: list = []  # the batch result, or the failure's message
    ws.generation_finished.connect(ended.append)
    ws.generation_failed.connect(ended.append)
    ws.generate()
    qtbot.waitUntil(lambda: bool(ended) and not ws.busy, timeout=TIMEOUT)
    assert not isinstance(ended[0], str), ended[0]
    [image] = ended[0].images
    return image


def paint_mask(qtbot, panel):
    """Open the editor, paint a band across the middle with the mouse, use it."""
    dialog = panel.mask_control.open_editor()
    qtbot.waitExposed(dialog)
    canvas = dialog.editor.canvas
    dialog.editor.size_box.setValue(16)
    dialog.editor.set_feather(0)
    rect = canvas.image_rect()
    scale = rect.width() / SIDE

    def at(x, y):
        return QPoint(int(rect.x() + x * scale), int(rect.y() + y * scale))

    QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at(4, 32))
    QTest.mouseMove(canvas, at(60, 32))
    QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at(60, 32))
    painted = dialog.editor.mask_array()
    with qtbot.waitSignal(panel.mask_control.changed, timeout=5000):
        qtbot.mouseClick(dialog.use_button, Qt.MouseButton.LeftButton)
    return painted


def test_an_empty_mask_is_not_taken(qtbot, workspace):
    panel = workspace.params_panel
    dialog = panel.mask_control.open_editor()
    qtbot.mouseClick(dialog.use_button, Qt.MouseButton.LeftButton)
    assert dialog.isVisible() and "empty" in dialog.problem.text()
    assert panel.params().mask_image == ""
    dialog.reject()


@pytest.mark.slow
def test_a_mask_painted_with_the_mouse_inpaints_only_there(qtbot, workspace, init_png):
    panel = workspace.params_panel
    painted = paint_mask(qtbot, panel)
    assert (painted[26:38, 8:56] == 255).all() and not painted[:20].any() and not painted[44:].any()
    params = panel.params()
    assert params.mask_image and params.mask_blur == 0 and params.is_inpaint
    assert np.array_equal(np.asarray(Image.open(params.mask_image)), painted)
    image = generate(qtbot, workspace)
    assert image.record.parameters["mode"] == "inpaint"
    out = np.asarray(Image.open(image.path).convert("RGB")).astype(int)
    init = np.asarray(Image.open(init_png).convert("RGB")).astype(int)
    keep = painted == 0
    assert np.abs(out - init)[keep].max() <= 1  # outside the mask, the original pixels
    assert np.abs(out - init)[painted == 255].max() > 0
    panel.init_image.clear()  # a mask belongs to its image
    assert panel.params().mask_image == ""


@pytest.mark.slow
def test_outpaint_and_hires_controls_reach_the_request_and_the_size(qtbot, workspace):
    panel = workspace.params_panel
    panel.strength.setValue(1.0)
    panel.outpaint.boxes["left"].setValue(16)
    panel.outpaint.boxes["bottom"].setValue(8)
    assert panel.params().outpaint == [16, 0, 0, 8]
    image = generate(qtbot, workspace)
    assert Image.open(image.path).size == (SIDE + 16, SIDE + 8)
    panel.outpaint.set_pads([])
    panel.init_image.clear()
    assert not panel.hires.strength.isEnabled() and panel.params().hires_scale == 0.0
    panel.hires.scale.setValue(2.0)
    panel.hires.strength.setValue(0.5)
    params = panel.params()
    assert (params.hires_scale, params.hires_strength, params.hires_method) == (2.0, 0.5, "lanczos")
    image = generate(qtbot, workspace)
    assert Image.open(image.path).size == (2 * SIDE, 2 * SIDE)
    assert image.record.parameters["hires"]["scale"] == 2.0
