"""pytest-qt tests of the Images workspace on real diffusers with the tiny pipeline."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QMessageBox

from desktop.core import paths
from desktop.core.image.output import read_png_text
from desktop.ui.images.view import ImagesWorkspace

TIMEOUT = 60_000


pytestmark = [pytest.mark.usefixtures("one_torch_thread"), pytest.mark.slow]


@pytest.fixture
def workspace(qtbot, services, runner, tiny_sd_pipeline):
    ws = ImagesWorkspace(services, runner)
    qtbot.addWidget(ws)
    ws.resize(1100, 750)
    ws.select_model(str(tiny_sd_pipeline))
    panel = ws.params_panel
    panel.width_box.setValue(64)
    panel.height_box.setValue(64)
    panel.steps.setValue(4)
    panel.prompt.setPlainText("a small test image")  # an empty prompt would ask first
    return ws


def generate(qtbot, ws):
    with qtbot.waitSignal(ws.generation_finished, timeout=TIMEOUT) as blocker:
        ws.generate()
    qtbot.waitUntil(lambda: not ws.busy, timeout=TIMEOUT)
    return blocker.args[0]


def test_choosing_the_model_shows_its_card_and_family_defaults(workspace):
    assert "Stable Diffusion 1.x" in workspace.card.text()
    assert workspace.params_panel.scheduler.currentText() == "DPM++ 2M Karras"


def test_generate_shows_previews_saves_and_fills_the_gallery(qtbot, workspace, services):
    workspace.params_panel.prompt.setPlainText("a tiny lighthouse")
    workspace.params_panel.set_seed(77)
    previews = []
    workspace.preview_updated.connect(lambda step, total: previews.append((step, total)))
    result = generate(qtbot, workspace)
    [image] = result.images
    assert image.seed == 77 and image.path.is_file()
    assert image.path.parent.parent == paths.outputs_dir()
    assert previews and previews[-1][1] == 4 and all(0 < s <= 4 for s, _ in previews)
    assert not workspace.preview.pixmap().isNull()
    assert workspace.gallery.count() == 1 and workspace.gallery.selected_record() is image.record
    assert services.history.records == [image.record]
    assert "seed 77" in workspace.status.text()
    assert "Loaded" in workspace.card.text() and "CPU" in workspace.card.text()
    assert workspace.generate_button.isEnabled() and not workspace.stop_button.isEnabled()


def test_stop_discards_the_unfinished_image(qtbot, workspace, services):
    workspace.params_panel.steps.setValue(150)
    workspace.preview_updated.connect(lambda step, total: workspace.stop())
    with qtbot.waitSignal(workspace.generation_stopped, timeout=TIMEOUT):
        workspace.generate()
    qtbot.waitUntil(lambda: not workspace.busy, timeout=TIMEOUT)
    assert workspace.gallery.count() == 0
    assert services.history.records == []
    assert not list(paths.outputs_dir().rglob("*.png"))
    assert "discarded" in workspace.status.text()
    assert workspace.generate_button.isEnabled()


def test_reuse_all_parameters_and_the_seed(qtbot, workspace):
    panel = workspace.params_panel
    panel.prompt.setPlainText("a castle, at night")
    panel.negative.setPlainText("daylight")
    panel.scheduler.setCurrentText("Euler a")
    panel.guidance.setValue(5.5)
    panel.set_seed(4242)
    generate(qtbot, workspace)
    record = workspace.gallery.selected_record()

    panel.prompt.setPlainText("something else")
    panel.negative.clear()
    panel.scheduler.setCurrentText("DDIM")
    panel.guidance.setValue(9.0)
    panel.steps.setValue(9)
    panel.set_seed(None)
    workspace.gallery.reuse_button.click()
    again = panel.params()
    assert (again.prompt, again.negative_prompt, again.scheduler) == ("a castle, at night", "daylight", "Euler a")
    assert (again.guidance, again.steps, again.seed, again.width) == (5.5, 4, 4242, 64)

    panel.set_seed(None)
    workspace.gallery.seed_button.click()
    assert panel.params().seed == record.seed

    # reusing reproduces the same pixels
    second = generate(qtbot, workspace).images[0]
    assert second.record.image_sha256 != ""
    from PIL import Image, ImageChops

    with Image.open(record.image_path) as a, Image.open(second.path) as b:
        assert ImageChops.difference(a.convert("RGB"), b.convert("RGB")).getbbox() is None


def test_use_as_init_and_delete(qtbot, workspace, monkeypatch):
    generate(qtbot, workspace)
    record = workspace.gallery.selected_record()
    workspace.gallery.init_button.click()
    assert workspace.params_panel.params().init_image == record.image_path
    assert workspace.params_panel.strength.isEnabled()
    result = generate(qtbot, workspace)
    assert result.images[0].record.parameters["mode"] == "img2img"
    assert "Denoising strength" in read_png_text(result.images[0].path)["parameters"]

    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    workspace.gallery.delete_button.click()  # deletes the selected (newest) image
    assert workspace.gallery.count() == 1
    assert not result.images[0].path.exists()


def test_bad_model_is_reported_and_the_workspace_keeps_working(qtbot, workspace, tmp_path, tiny_sd_pipeline):
    bad = tmp_path / "model.ckpt"
    bad.write_bytes(b"\x80\x04K\x01.")
    workspace.select_model(str(bad))
    assert "pickle" in workspace.card.text()
    with qtbot.waitSignal(workspace.generation_failed, timeout=TIMEOUT) as blocker:
        workspace.generate()
    assert "pickle" in blocker.args[0] and "pickle" in workspace.status.text()
    qtbot.waitUntil(lambda: not workspace.busy, timeout=TIMEOUT)
    workspace.select_model(str(tiny_sd_pipeline))
    workspace.params_panel.width_box.setValue(64)
    workspace.params_panel.height_box.setValue(64)
    workspace.params_panel.steps.setValue(2)
    assert generate(qtbot, workspace).images


def test_empty_prompt_warns_and_the_viewer_zooms(qtbot, workspace, monkeypatch):
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    workspace.params_panel.prompt.clear()
    workspace.params_panel.steps.setValue(1)
    generate(qtbot, workspace)
    assert "Warning: The prompt is empty" in workspace.status.text()
    viewer = workspace.gallery.enlarge(workspace.gallery.selected_record())
    qtbot.addWidget(viewer)
    assert viewer.label.pixmap().width() == 64
    viewer.zoom.setValue(400)
    assert viewer.label.pixmap().width() == 256 and viewer.zoom_label.text() == "400%"


def test_incognito_image_is_shown_but_leaves_no_prompt_under_the_data_root(qtbot, workspace, services):
    from desktop.core.image.output import remove_incognito_folder

    secret = "incognito marmalade submarine 7c1e"
    services.settings.history.incognito = True
    workspace.params_panel.prompt.setPlainText(secret)
    result = generate(qtbot, workspace)
    [image] = result.images
    try:
        assert workspace.gallery.count() == 1 and not workspace.preview.pixmap().isNull()
        assert image.path.is_file() and read_png_text(image.path) == {}
        services.settings.history.incognito = False
        assert services.history.records == []  # the in-memory history got nothing either
        leaks = [p for p in paths.data_root().rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]
        assert leaks == []
        assert not list(paths.data_root().rglob("*.png")) and not list(paths.data_root().rglob("*.jpg"))
    finally:
        remove_incognito_folder()
    assert not image.path.exists()
