"""The gallery's Upscale… action, its dialog, and re-running an upscale from History
(real spandrel on a tiny random-weight ESRGAN; tests marked ``upscale`` run in CI's
upscale environment)."""

from __future__ import annotations

import json
import shutil
import sys

import pytest
from PIL import Image

from desktop.core.history.store import HistoryStore
from desktop.core.image.output import read_png_text, save_png
from desktop.core.records import GenerationRecord, ModelIdentity
from desktop.ui.images.upscale_dialog import UpscaleDialog
from desktop.ui.images.view import ImagesWorkspace

TIMEOUT = 60_000
upscale = pytest.mark.upscale


@pytest.fixture
def tiny_x2(genlab_home):
    """A tiny ESRGAN in ``<models dir>/upscalers``, where the dialog looks first."""
    from desktop.core.image.upscale import upscalers_folder
    from desktop.core.tiny_models.upscaler import build_tiny_esrgan

    folder = upscalers_folder()
    folder.mkdir(parents=True, exist_ok=True)
    return build_tiny_esrgan(folder / "tiny-x2.pth", scale=2)


@pytest.fixture
def workspace(qtbot, services, runner):
    ws = ImagesWorkspace(services, runner)
    qtbot.addWidget(ws)
    ws.resize(1000, 700)
    return ws


def generated(tmp_path, name="barn.png", colour=(200, 40, 90)) -> GenerationRecord:
    """A PNG with its GenLab record, as Images saves one, and that record."""
    path = tmp_path / name
    record = GenerationRecord(kind="image", prompt="a red barn", seed=77, image_path=str(path),
                              parameters={"width": 72, "height": 40})
    img = Image.new("RGB", (72, 40), colour)
    img.putpixel((3, 4), (10, 250, 10))
    save_png(img, path, "a red barn\nSeed: 77", json.dumps(record.to_dict()))
    return record


def upscaled(qtbot, ws, start):
    """Run ``start`` and wait for its job; a failure fails the test with the workspace's message."""
    finished: list = []
    failed: list = []
    ws.generation_finished.connect(finished.append)
    ws.generation_failed.connect(failed.append)
    try:
        start()
        qtbot.waitUntil(lambda: bool(finished or failed), timeout=TIMEOUT)
        qtbot.waitUntil(lambda: not ws.busy, timeout=TIMEOUT)
    finally:
        ws.generation_finished.disconnect(finished.append)
        ws.generation_failed.disconnect(failed.append)
    assert not failed, failed
    return finished[0]


def test_without_spandrel_the_dialog_says_what_to_install_and_cannot_start(qtbot, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "spandrel", None)  # import spandrel raises ImportError
    dialog = UpscaleDialog(str(tmp_path / "a.png"))
    qtbot.addWidget(dialog)
    assert "Model upscaling is not available" in dialog.message.text()
    assert 'pip install "genlab[upscale]"' in dialog.message.text()
    assert not dialog.ok_button.isEnabled() and not dialog.model.isEnabled()


def test_an_upscaled_image_has_no_parameters_to_reuse(qtbot, workspace, tmp_path):
    record = GenerationRecord(kind="image", prompt="", image_path=str(tmp_path / "u.png"),
                              parameters={"mode": "upscale", "upscaler": {"name": "x", "scale": 4}})
    Image.new("RGB", (8, 8)).save(record.image_path)
    workspace.gallery.add(record)
    gallery = workspace.gallery
    assert gallery.grid.item(0).text() == "4× upscale"
    assert not gallery.reuse_button.isEnabled() and not gallery.seed_button.isEnabled()
    assert gallery.upscale_button.isEnabled() and gallery.copy_button.isEnabled()
    workspace.reuse_parameters(record)
    assert "made by an upscaler" in workspace.status.text()


@upscale
def test_the_dialog_offers_the_upscalers_folder_and_checks_the_choice(qtbot, tiny_x2, tmp_path):
    dialog = UpscaleDialog(str(tmp_path / "a.png"))
    qtbot.addWidget(dialog)
    assert dialog.model.currentText() == "tiny-x2" and dialog.ok_button.isEnabled()
    assert dialog.choice() == (str(tiny_x2), 512, 32)
    dialog.tile.setValue(16)
    assert not dialog.ok_button.isEnabled() and "too small" in dialog.message.text()
    dialog.tile.setValue(0)  # the whole image at once
    assert dialog.ok_button.isEnabled() and dialog.tile.text() == "whole image"
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    dialog.choose_file(str(text))
    assert "notes.txt is not an upscaler file" in dialog.message.text() and not dialog.ok_button.isEnabled()
    gone = tmp_path / "gone.pth"
    shutil.copy(tiny_x2, gone)
    dialog.choose_file(str(gone))
    assert dialog.ok_button.isEnabled()
    gone.unlink()
    dialog.choose_file(str(gone))
    assert "is gone" in dialog.message.text() and not dialog.ok_button.isEnabled()
    dialog.choose_file(str(tiny_x2))  # already listed: selected again, not added twice
    assert dialog.model.currentText() == "tiny-x2" and dialog.model.count() == 3


@upscale
def test_upscale_from_the_gallery_adds_a_recorded_image(qtbot, workspace, services, tiny_x2, tmp_path):
    source = generated(tmp_path)
    workspace.gallery.add(source)
    workspace.gallery.upscale_button.click()
    dialog = workspace.upscale_dialog
    assert dialog is not None and dialog.isVisible()
    dialog.tile.setValue(0)
    result = upscaled(qtbot, workspace, dialog.ok_button.click)
    record = result.record
    assert Image.open(result.path).size == (144, 80)
    assert record.parameters["mode"] == "upscale" and record.parent_id == source.id
    assert record.parameters["tile"] == 0 and record.prompt == "a red barn"
    assert services.history.records == [record]
    assert json.loads(read_png_text(result.path)["genlab"])["id"] == record.id
    assert workspace.gallery.count() == 2 and workspace.gallery.selected_record() is record
    assert workspace.shown_path == str(result.path)
    assert "Upscaled 2× with tiny-x2: 72×40 → 144×80" in workspace.status.text()
    assert services.settings.image.last_upscaler == str(tiny_x2)
    assert workspace.generate_button.isEnabled()


@upscale
def test_a_bad_upscaler_file_is_reported_and_the_workspace_keeps_working(qtbot, workspace, services, tiny_x2,
                                                                          tmp_path):
    source = generated(tmp_path)
    bad = tmp_path / "broken.pth"
    bad.write_bytes(b"not a pickle at all" * 10)
    with qtbot.waitSignal(workspace.generation_failed, timeout=TIMEOUT) as blocker:
        workspace.upscale(source.image_path, str(bad), tile=512, pad=32)
    qtbot.waitUntil(lambda: not workspace.busy, timeout=TIMEOUT)
    assert "broken.pth could not be read as a PyTorch file" in blocker.args[0]
    assert services.history.records == [] and workspace.gallery.count() == 0
    result = upscaled(qtbot, workspace, lambda: workspace.upscale(source.image_path, str(tiny_x2), tile=32, pad=4))
    assert result.record.parameters["tile"] == 32


@upscale
def test_rerun_of_an_upscale_is_pixel_identical_and_names_what_is_missing(qtbot, workspace, tiny_x2, tmp_path):
    source = generated(tmp_path)
    first = upscaled(qtbot, workspace, lambda: workspace.upscale(source.image_path, str(tiny_x2), tile=32, pad=8))
    again = upscaled(qtbot, workspace, lambda: workspace.rerun_upscale(first.record))
    assert again.record.parameters["tile"] == 32 and again.record.parameters["pad"] == 8
    assert again.path != first.path
    assert "Pixel-identical to the recorded image." in workspace.status.text()

    moved = tmp_path / "elsewhere.pth"
    shutil.move(tiny_x2, moved)
    with qtbot.waitSignal(workspace.generation_failed, timeout=TIMEOUT) as blocker:
        workspace.rerun_upscale(first.record)
    qtbot.waitUntil(lambda: not workspace.busy, timeout=TIMEOUT)
    assert "tiny-x2 (sha256" in blocker.args[0] and "upscalers/" in blocker.args[0]

    shutil.move(moved, tiny_x2)
    Image.new("RGB", (72, 40), (1, 2, 3)).save(source.image_path)  # the source was painted over
    with qtbot.waitSignal(workspace.generation_failed, timeout=TIMEOUT) as blocker:
        workspace.rerun_upscale(first.record)
    qtbot.waitUntil(lambda: not workspace.busy, timeout=TIMEOUT)
    assert "barn.png has changed since it was upscaled" in blocker.args[0]


@upscale
def test_history_rerun_of_an_upscale_goes_to_images(qtbot, services, runner, tiny_x2, tmp_path):
    from desktop.core.image.upscale import load_upscaler, upscale_file
    from desktop.ui.main_window import MainWindow

    services.provide_history_store(HistoryStore(embedder=None))
    source = generated(tmp_path)
    first = upscale_file(load_upscaler(tiny_x2), source.image_path, tile=0)
    assert first.record.model == ModelIdentity(name="tiny-x2", file="tiny-x2.pth", sha256=first.record.model.sha256,
                                               size=tiny_x2.stat().st_size)
    window = MainWindow(services, runner, start_services=False)
    qtbot.addWidget(window)
    history = window.workspace("history")
    history.rerun(first.record)  # no library model is needed: the upscaler is found by its sha256
    images = window.current_workspace()
    assert isinstance(images, ImagesWorkspace) and images.busy
    qtbot.waitUntil(lambda: not images.busy, timeout=TIMEOUT)
    assert "Pixel-identical to the recorded image." in images.status.text()


@upscale
def test_upscale_from_history_opens_the_dialog_in_images(qtbot, services, runner, tiny_x2, tmp_path):
    from desktop.core.history.search import Hit
    from desktop.ui.main_window import MainWindow

    services.provide_history_store(HistoryStore(embedder=None))
    source = generated(tmp_path)
    window = MainWindow(services, runner, start_services=False)
    qtbot.addWidget(window)
    details = window.workspace("history").details
    details.show_hit(Hit(source, 1.0))
    assert details.upscale_action.isEnabled() and details.reuse_button.isEnabled()
    details.upscale_action.trigger()
    images = window.current_workspace()
    assert isinstance(images, ImagesWorkspace)
    dialog = images.upscale_dialog
    assert dialog is not None and dialog.isVisible() and source.image_path.endswith(dialog.image_path[-8:])
    result = upscaled(qtbot, images, dialog.ok_button.click)
    assert result.record.parent_id == source.id
    details.show_hit(Hit(result.record, 1.0))
    assert not details.reuse_button.isEnabled()  # an upscaled image has no parameters to reuse
    gone = GenerationRecord(kind="image", prompt="", image_path=str(tmp_path / "deleted.png"))
    images.ask_upscale(gone)
    assert "deleted.png is gone, so it cannot be upscaled" in images.status.text()
