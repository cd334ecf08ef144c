"""The Images workspace's flow on real diffusers: inputs checked where typed, the empty-prompt question,
what the big pane shows, the step status, presets, the empty state and the session after a restart."""

from __future__ import annotations

import re

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMessageBox

from desktop.core.history.store import HistoryStore
from desktop.core.services import Services
from desktop.core.settings import load_settings
from desktop.ui.images.view import ImagesWorkspace

TIMEOUT = 60_000
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def make_workspace(qtbot, services, runner, model=None):
    ws = ImagesWorkspace(services, runner)
    qtbot.addWidget(ws)
    ws.resize(1100, 750)
    if model is not None:
        ws.select_model(str(model))
        panel = ws.params_panel
        panel.width_box.setValue(64)
        panel.height_box.setValue(64)
        panel.steps.setValue(3)
    return ws


def generate(qtbot, ws):
    with qtbot.waitSignal(ws.generation_finished, timeout=TIMEOUT) as blocker:
        ws.generate()
    qtbot.waitUntil(lambda: not ws.busy, timeout=TIMEOUT)
    return blocker.args[0]


def type_into(qtbot, box, text):
    box.lineEdit().selectAll()
    QTest.keyClicks(box.lineEdit(), text)
    QTest.keyClick(box.lineEdit(), Qt.Key.Key_Return)


def test_a_size_that_is_not_a_multiple_of_8_cannot_be_typed(qtbot, services, runner, tiny_sd_pipeline):
    ws = make_workspace(qtbot, services, runner, tiny_sd_pipeline)
    panel = ws.params_panel
    type_into(qtbot, panel.width_box, "100")
    type_into(qtbot, panel.height_box, "70")
    assert (panel.width_box.value(), panel.height_box.value()) == (104, 72)
    assert panel.width_box.singleStep() == 8 and panel.width_box.minimum() == 64
    assert panel.width_box.maximum() == 2048  # SD 1.x's largest side
    assert panel.steps.minimum() == 1 and panel.guidance.minimum() == 0
    assert 0 < panel.strength.minimum() and panel.strength.maximum() == 1


def test_the_form_labels_are_the_names_the_error_messages_use(qtbot, services, runner):
    ws = make_workspace(qtbot, services, runner)
    panel = ws.params_panel
    form = panel.layout()
    labels = {form.labelForField(w).text() for w in (panel.steps, panel.guidance, panel.strength, panel.batch)}
    assert labels == {"Steps", "Guidance scale", "Strength", "Batch count"}


@pytest.mark.slow
def test_an_empty_prompt_asks_first(qtbot, services, runner, tiny_sd_pipeline, monkeypatch):
    ws = make_workspace(qtbot, services, runner, tiny_sd_pipeline)
    ws.params_panel.prompt.clear()
    asked = []

    def answer(reply):
        def question(parent, title, text, *args, **kwargs):
            asked.append(text)
            return reply
        return question

    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.No))
    ws.generate()
    assert asked and asked[0].startswith("Generate with an empty prompt?")
    assert not ws.busy and ws.gallery.count() == 0 and "Not generated" in ws.status.text()

    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.Yes))
    assert generate(qtbot, ws).images and len(asked) == 2

    ws.params_panel.prompt.setPlainText("a red kite")  # a prompt: no question
    generate(qtbot, ws)
    assert len(asked) == 2


def _same_pixels(label_pixmap, path):
    expected = QPixmap(path).scaled(label_pixmap.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                    Qt.TransformationMode.SmoothTransformation)
    return label_pixmap.toImage() == expected.toImage()


@pytest.mark.slow
def test_the_big_pane_shows_the_final_image_then_the_clicked_one_and_the_status_tracks_steps(
        qtbot, services, runner, tiny_sd_pipeline):
    ws = make_workspace(qtbot, services, runner, tiny_sd_pipeline)
    ws.show()
    ws.params_panel.prompt.setPlainText("two lighthouses")
    ws.params_panel.batch.setValue(2)
    statuses = []
    ws.status_message.connect(statuses.append)
    result = generate(qtbot, ws)
    first, last = result.images
    assert ws.shown_path == last.record.image_path
    assert _same_pixels(ws.preview.pixmap(), last.record.image_path)
    step_line = r"Image [12] of 2 · Step [1-3] of 3( · [\d.]+ s/step)?( · \d+ s left)?"
    assert any(re.fullmatch(step_line, s) for s in statuses)  # previews are coalesced: which ones arrive varies

    grid = ws.gallery.grid
    older = next(grid.item(i) for i in range(grid.count()) if grid.item(i).data(Qt.ItemDataRole.UserRole + 1)
                 is first.record)
    QTest.mouseClick(grid.viewport(), Qt.MouseButton.LeftButton, pos=grid.visualItemRect(older).center())
    assert ws.shown_path == first.record.image_path
    assert _same_pixels(ws.preview.pixmap(), first.record.image_path)


def test_size_presets_follow_the_model_family(qtbot, services, runner, tiny_sd_pipeline):
    ws = make_workspace(qtbot, services, runner, tiny_sd_pipeline)
    panel = ws.params_panel
    items = [panel.size_preset.itemText(i) for i in range(panel.size_preset.count())]
    assert items[:4] == ["1:1 · 512×512", "4:3 · 576×448", "3:2 · 640×448", "16:9 · 704×384"]
    assert "9:16 · 384×704" in items and items[-1] == "Custom"
    assert panel.size_preset.currentText() == "Custom"  # 64×64 is none of them
    panel.size_preset.activated.emit(items.index("16:9 · 704×384"))
    assert (panel.width_box.value(), panel.height_box.value()) == (704, 384)
    panel.apply_family_defaults("sdxl")
    assert panel.size_preset.currentText() == "1:1 · 1024×1024"
    sdxl = [panel.size_preset.itemText(i) for i in range(panel.size_preset.count())]
    assert "16:9 · 1344×768" in sdxl and "4:3 · 1152×896" in sdxl
    panel.size_preset.activated.emit(sdxl.index("16:9 · 1344×768"))
    assert (panel.width_box.value(), panel.height_box.value()) == (1344, 768)


def test_without_a_model_the_workspace_offers_to_load_one(qtbot, services, runner, tiny_sd_pipeline):
    ws = make_workspace(qtbot, services, runner)
    assert ws.right.currentWidget() is ws.empty_state
    assert ws.empty_state.title.text() == "Load an image model"
    with qtbot.waitSignal(ws.open_models_requested, timeout=1000):
        ws.empty_state.models_button.click()
    ws.select_model(str(tiny_sd_pipeline))
    assert ws.right.currentWidget() is not ws.empty_state


@pytest.mark.slow
def test_the_last_parameters_and_the_session_gallery_come_back_after_a_restart(qtbot, runner, tiny_sd_pipeline):
    store = HistoryStore(embedder=None, idle_seconds=3600)
    first = Services(load_settings()[0])
    first.set_history(store)
    first.provide_history_store(store)
    ws = make_workspace(qtbot, first, runner, tiny_sd_pipeline)
    ws.params_panel.prompt.setPlainText("a harbour at dawn")
    ws.params_panel.negative.setPlainText("fog")
    ws.params_panel.set_seed(31)
    made = generate(qtbot, ws).images[0].record
    store.flush(timeout=30)
    first.save_settings()  # what closing the window does

    again = Services(load_settings()[0])
    again.provide_history_store(store)
    restored = ImagesWorkspace(again, runner)
    qtbot.addWidget(restored)
    with qtbot.waitSignal(restored.gallery_restored, timeout=TIMEOUT) as blocker:
        pass
    assert blocker.args == [1]
    assert [r.image_path for r in restored.gallery.records()] == [made.image_path]
    params = restored.params_panel.params()
    assert (params.prompt, params.negative_prompt, params.seed, params.steps, params.width) == (
        "a harbour at dawn", "fog", 31, 3, 64)
    assert restored.current_model() == str(tiny_sd_pipeline)
    assert restored.right.currentWidget() is not restored.empty_state
    store.close()


def test_the_step_status_reads_steps_rate_and_time_left(qtbot, services, runner):
    from desktop.core.image.preview import StepPreview

    ws = make_workspace(qtbot, services, runner)
    assert ws._step_status(StepPreview(7, 20, 0, 1, None, 15.6)) == "Step 7 of 20 · 1.2 s/step · 16 s left"
    assert ws._step_status(StepPreview(20, 20, 0, 1, None, 0.0)) == "Step 20 of 20 · 1.2 s/step"
    assert ws._step_status(StepPreview(3, 10, 1, 4, None, 50.0)) == "Image 2 of 4 · Step 3 of 10 · 1.9 s/step · 50 s left"
