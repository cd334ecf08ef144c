"""The Images embeddings row: what it offers (greyed for another family), the names it writes, and
which embeddings it says the prompts use (random embeddings in A1111's and SDXL's layouts)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import QPlainTextEdit

from desktop.core.image.embeddings import FOLDER
from desktop.core.tiny_models.embedding import build_tiny_embedding
from desktop.ui.images.embedding_panel import EmbeddingPanel
from desktop.ui.images.params import ImagesParamsPanel

NO_PIPELINE = Path("unused")  # every embedding here gives its width, so no pipeline is read


@pytest.fixture
def folder(genlab_home):
    from desktop.core import paths

    folder = paths.models_dir() / FOLDER
    folder.mkdir(parents=True)
    build_tiny_embedding(NO_PIPELINE, folder / "EasyNegative.safetensors", width=768, seed=1)  # SD 1.x
    build_tiny_embedding(NO_PIPELINE, folder / "wide.safetensors", width=1024, seed=2)  # SD 2.x
    build_tiny_embedding(NO_PIPELINE, folder / "xlstyle.safetensors", layout="sdxl", width=8, seed=3)
    (folder / "notes.safetensors").write_bytes(b"not a safetensors file")
    return folder


@pytest.fixture
def panel(qtbot, folder):
    prompt, negative = QPlainTextEdit(), QPlainTextEdit()
    panel = EmbeddingPanel(prompt, negative)
    qtbot.addWidget(panel)
    qtbot.addWidget(prompt)
    qtbot.addWidget(negative)
    return panel


def offered(panel) -> dict[str, bool]:
    items = panel.combo.model()
    assert isinstance(items, QStandardItemModel)
    return {panel.combo.itemText(i): items.item(i).isEnabled() for i in range(panel.combo.count())}


def test_it_offers_the_embeddings_and_greys_another_familys(panel):
    assert offered(panel) == {"EasyNegative — Stable Diffusion 1.x": True, "wide — Stable Diffusion 2.x": True,
                              "xlstyle — Stable Diffusion XL": True}  # no model yet: nothing is refused
    panel.set_model("sd1", "tiny-sd")
    assert offered(panel) == {"EasyNegative — Stable Diffusion 1.x": True, "wide — Stable Diffusion 2.x": False,
                              "xlstyle — Stable Diffusion XL": False}
    assert "2 of 3 embedding(s) are greyed: they are not for Stable Diffusion 1.x" in panel.hint.text()
    tip = panel.combo.model().item(2).toolTip()
    assert "is for Stable Diffusion XL" in tip and "tiny-sd is Stable Diffusion 1.x" in tip
    panel.combo.setCurrentIndex(1)  # a greyed one: nothing to write
    assert not panel.prompt_button.isEnabled() and not panel.negative_button.isEnabled()


def test_the_buttons_write_the_name_once_and_ctrl_z_takes_it_out(panel):
    panel.set_model("sd1", "tiny-sd")
    panel.negative.setPlainText("blurry, ")
    panel.combo.setCurrentIndex(0)
    panel.negative_button.click()
    assert panel.negative.toPlainText() == "blurry, EasyNegative"
    assert panel.combo.currentIndex() == -1 and not panel.negative_button.isEnabled()
    panel.insert("EasyNegative", panel.negative)  # named already: not written twice
    assert panel.negative.toPlainText() == "blurry, EasyNegative"
    assert panel.used.text() == "Uses EasyNegative (negative)."
    panel.negative.undo()
    assert panel.negative.toPlainText() == "blurry, "
    panel.combo.setCurrentIndex(0)
    panel.prompt_button.click()
    assert panel.prompt.toPlainText() == "EasyNegative"


def test_it_says_which_the_prompts_use_and_which_are_skipped(panel):
    panel.set_model("sd1", "tiny-sd")
    assert panel.used.isHidden() and panel.skipped.isHidden()
    panel.prompt.setPlainText("a wide field, easynegative-ish, xlstyle")
    panel.negative.setPlainText("EASYNEGATIVE")  # any case, as in A1111; "easynegative-ish" is another word
    assert panel.used.text() == "Uses EasyNegative (negative)."
    assert panel.skipped.text() == ("Left out, for another family: wide (for Stable Diffusion 2.x), "
                                    "xlstyle (for Stable Diffusion XL).")
    panel.set_model("sdxl", "tiny-xl")
    assert panel.used.text() == "Uses xlstyle (prompt)."
    assert panel.skipped.text() == ("Left out, for another family: EasyNegative (for Stable Diffusion 1.x), "
                                    "wide (for Stable Diffusion 2.x).")
    panel.prompt.setPlainText("")
    panel.negative.setPlainText("")
    assert panel.used.isHidden() and panel.skipped.isHidden()


def test_without_embeddings_it_says_where_to_put_them(qtbot, genlab_home):
    panel = EmbeddingPanel(QPlainTextEdit(), QPlainTextEdit())
    qtbot.addWidget(panel)
    assert panel.combo.count() == 0 and "embeddings/" in panel.hint.text()
    assert not panel.prompt_button.isEnabled()


def test_the_params_panel_has_the_row(qtbot, folder):
    params = ImagesParamsPanel()
    qtbot.addWidget(params)
    assert params.embeddings.prompt is params.prompt and params.embeddings.negative is params.negative
    params.negative.setPlainText("EasyNegative")
    assert params.params().negative_prompt == "EasyNegative"  # the name is the whole interface
    assert "Uses EasyNegative" in params.embeddings.used.text()
