"""The LoRA panel of the Images workspace, on real widgets, tiny peft LoRAs and the tiny SD pipeline."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QPlainTextEdit, QVBoxLayout, QWidget

from desktop.commands.image import lora_option
from desktop.core.models.library import Library
from desktop.core.tiny_models.lora import build_tiny_lora
from desktop.ui.images.loras import LoraPanel
from desktop.ui.images.view import ImagesWorkspace

TIMEOUT = 60_000
XL = {"ss_base_model_version": "sdxl_base_v1-0"}


@pytest.fixture(scope="module")
def lora_files(tiny_sd_pipeline, tmp_path_factory):
    folder = tmp_path_factory.mktemp("loras")
    return {"one": build_tiny_lora(tiny_sd_pipeline, folder / "style-one.safetensors", seed=1),
            "xl": build_tiny_lora(tiny_sd_pipeline, folder / "xl-style.safetensors", seed=3, metadata=XL)}


@pytest.fixture
def library(lora_files):
    library = Library()
    for path in lora_files.values():
        library.add_path(path, source="imported", owned=False)
    return library


@pytest.fixture
def panel(qtbot, library):
    window = QWidget()
    layout = QVBoxLayout(window)
    prompt = QPlainTextEdit()
    panel = LoraPanel(prompt)
    layout.addWidget(prompt)
    layout.addWidget(panel)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    panel.set_model("sd1", "tiny-sd")
    yield panel  # the window lives while the test runs


def click_box(qtbot, box) -> None:
    """Click a check box on its tick (its centre can lie past the label, where a click does nothing)."""
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(6, box.height() // 2))


def combo_index(panel: LoraPanel, name: str) -> int:
    return panel.library_combo.findData(name)


@pytest.mark.slow
def test_library_loras_are_offered_and_another_familys_are_greyed_with_the_reason(panel):
    combo = panel.library_combo
    assert [combo.itemData(i) for i in range(combo.count())] == ["style-one", "xl-style"]  # usable ones first
    items = combo.model()
    assert items.item(combo_index(panel, "style-one")).isEnabled()
    xl = items.item(combo_index(panel, "xl-style"))
    assert not xl.isEnabled() and "Stable Diffusion XL" in xl.text()
    reason = xl.toolTip()
    assert "Stable Diffusion XL" in reason and "Stable Diffusion 1.x" in reason
    combo.setCurrentIndex(combo_index(panel, "xl-style"))
    assert not panel.add_button.isEnabled()
    assert "greyed" in panel.hint.text()
    panel.set_model("sdxl", "tiny-xl")  # another model: the other LoRA is the usable one
    assert combo.model().item(combo_index(panel, "xl-style")).isEnabled()
    panel.set_model("flux", "tiny-flux")  # a UNet LoRA of unknown family still cannot adapt a transformer
    assert not combo.model().item(combo_index(panel, "style-one")).isEnabled()
    assert "UNet" in combo.model().item(combo_index(panel, "style-one")).toolTip()


def test_the_panel_and_the_prompts_tags_stay_in_step(qtbot, panel):
    prompt = panel.prompt
    prompt.setPlainText("a lighthouse")
    panel.library_combo.setCurrentIndex(combo_index(panel, "style-one"))
    qtbot.mouseClick(panel.add_button, Qt.MouseButton.LeftButton)
    assert prompt.toPlainText() == "a lighthouse <lora:style-one:1>"
    row = panel.rows["style-one"]
    assert row.on and row.value() == 1.0 and not row.note.isVisibleTo(panel)
    row.weight.setValue(0.6)  # the box rewrites the tag, and the slider follows
    assert prompt.toPlainText() == "a lighthouse <lora:style-one:0.6>" and row.slider.value() == 60
    row.slider.setValue(35)
    assert prompt.toPlainText() == "a lighthouse <lora:style-one:0.35>"
    click_box(qtbot, row.check)  # off: the tag goes, the greyed row stays
    assert prompt.toPlainText() == "a lighthouse" and not row.on and panel.rows["style-one"] is row
    assert panel.choices() == []
    click_box(qtbot, row.check)
    assert prompt.toPlainText() == "a lighthouse <lora:style-one:0.35>"
    prompt.undo()  # a panel edit is one undo step of the prompt
    assert prompt.toPlainText() == "a lighthouse"
    prompt.redo()
    qtbot.mouseClick(row.remove_button, Qt.MouseButton.LeftButton)
    assert prompt.toPlainText() == "a lighthouse" and panel.rows == {}


def test_a_typed_tag_becomes_a_row_and_deleting_it_removes_the_row(qtbot, panel):
    prompt = panel.prompt
    prompt.setFocus()
    qtbot.keyClicks(prompt, "a ship <lora:style-one:0.8>")
    assert panel.rows["style-one"].value() == 0.8
    assert panel.choices() == [lora_option("style-one:0.8")]  # exactly what `genlab image --lora` sends
    qtbot.keyClicks(prompt, " <lora:nowhere:1>")
    assert "No LoRA named 'nowhere'" in panel.rows["nowhere"].note.text()
    prompt.setPlainText("a ship <lora:style-one:lots>")
    assert panel.problem.isVisibleTo(panel) and "not a number" in panel.problem.text()
    prompt.setPlainText("a ship")
    assert panel.rows == {} and not panel.problem.isVisibleTo(panel)


def test_a_typed_tag_for_another_family_names_both(qtbot, panel):
    panel.prompt.setPlainText("a ship <lora:xl-style:1>")
    note = panel.rows["xl-style"].note.text()
    assert "Stable Diffusion XL" in note and "Stable Diffusion 1.x" in note


@pytest.fixture
def workspace(qtbot, services, runner, tiny_sd_pipeline, library):
    ws = ImagesWorkspace(services, runner)
    qtbot.addWidget(ws)
    ws.select_model(str(tiny_sd_pipeline))
    panel = ws.params_panel
    panel.width_box.setValue(64)
    panel.height_box.setValue(64)
    panel.steps.setValue(2)
    panel.scheduler.setCurrentText("Euler")
    panel.set_seed(7)
    panel.prompt.setPlainText("a red lighthouse")
    return ws


def generate(qtbot, ws) -> np.ndarray:
    with qtbot.waitSignal(ws.generation_finished, timeout=TIMEOUT) as blocker:
        ws.generate()
    qtbot.waitUntil(lambda: not ws.busy, timeout=TIMEOUT)
    [image] = blocker.args[0].images
    return np.asarray(Image.open(image.path).convert("RGB")).astype(int)


@pytest.mark.slow
def test_choosing_a_lora_changes_the_request_and_the_image_and_weight_zero_is_none(qtbot, workspace):
    panel = workspace.params_panel
    bare = generate(qtbot, workspace)
    assert panel.params().loras == []
    loras = panel.loras
    loras.library_combo.setCurrentIndex(combo_index(loras, "style-one"))
    qtbot.mouseClick(loras.add_button, Qt.MouseButton.LeftButton)
    request = panel.params()
    assert request.loras == [lora_option("style-one:1")] and request.lora_tags is False
    with_lora = generate(qtbot, workspace)
    assert np.abs(with_lora - bare).max() > 0
    loras.rows["style-one"].weight.setValue(0.0)
    assert panel.prompt.toPlainText() == "a red lighthouse <lora:style-one:0>"
    assert np.array_equal(generate(qtbot, workspace), bare)
    record = workspace.gallery.selected_record()
    assert [(c["name"], c["weight"]) for c in record.parameters["loras"]] == [("style-one", 0.0)]


@pytest.mark.slow
def test_a_wrong_family_lora_is_refused_naming_both_and_the_workspace_goes_on(qtbot, workspace):
    panel = workspace.params_panel
    panel.prompt.setPlainText("a red lighthouse <lora:xl-style:1>")
    with qtbot.waitSignal(workspace.generation_failed, timeout=TIMEOUT) as blocker:
        workspace.generate()
    qtbot.waitUntil(lambda: not workspace.busy, timeout=TIMEOUT)
    [message] = blocker.args
    assert "Stable Diffusion XL" in message and "Stable Diffusion 1.x" in message
    assert "Stable Diffusion XL" in workspace.status.text()
    qtbot.mouseClick(panel.loras.rows["xl-style"].remove_button, Qt.MouseButton.LeftButton)
    assert panel.prompt.toPlainText() == "a red lighthouse"
    generate(qtbot, workspace)  # the workspace still makes images


@pytest.mark.slow
def test_reusing_a_record_brings_its_loras_back_as_rows(qtbot, workspace):
    panel = workspace.params_panel
    panel.prompt.setPlainText("a red lighthouse <lora:style-one:0.7>")
    generate(qtbot, workspace)
    record = workspace.gallery.selected_record()
    panel.prompt.setPlainText("something else")
    assert panel.loras.rows == {}
    workspace.reuse_parameters(record)
    assert panel.prompt.toPlainText() == "a red lighthouse <lora:style-one:0.7>"
    [choice] = panel.params().loras
    assert (choice.name, choice.weight, choice.sha256) == ("style-one", 0.7, record.parameters["loras"][0]["sha256"])
