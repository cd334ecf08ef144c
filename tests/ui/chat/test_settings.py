"""pytest-qt tests of the Chat settings panel's layout: it scrolls vertically and never clips."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QScrollArea

from desktop.core.settings import Settings
from desktop.ui.chat.settings import ChatSettingsPanel


@pytest.fixture
def panel(qtbot):
    widget = ChatSettingsPanel(Settings())
    qtbot.addWidget(widget)
    return widget


@pytest.mark.parametrize("height", [600, 800])
def test_panel_scrolls_vertically_and_is_never_cut_off(qtbot, panel, height):
    assert isinstance(panel, QScrollArea)
    assert panel.horizontalScrollBarPolicy() == Qt.ScrollBarPolicy.ScrollBarAlwaysOff
    panel.resize(panel.minimumSizeHint().width(), height - 100)
    panel.show()
    qtbot.waitExposed(panel)
    body = panel.widget()
    assert body.width() >= body.minimumSizeHint().width()  # nothing clipped at the right
    assert body.width() <= panel.viewport().width()
    assert panel.minimumSizeHint().width() <= 280  # room for the conversation at 900 px
    if body.sizeHint().height() > panel.viewport().height():
        assert panel.verticalScrollBar().maximum() > 0  # the rest is a scroll away
    assert height > 600 or panel.verticalScrollBar().maximum() > 0


def test_gpu_layers_only_show_for_a_custom_count(qtbot, panel):
    panel.show()
    assert panel.gpu.currentData() == -2 and not panel.gpu_layers.isVisibleTo(panel)
    panel.gpu.setCurrentIndex(panel.gpu.findData(1))
    assert panel.gpu_layers.isVisibleTo(panel) and panel.gpu_layers.isEnabled()
    assert panel.gpu_layers.text() == "1 layer"
    panel.gpu_layers.setValue(12)
    assert panel.gpu_layers.text() == "12 layers"
    assert panel.load_options().n_gpu_layers == 12
    panel.gpu.setCurrentIndex(panel.gpu.findData(0))
    assert not panel.gpu_layers.isVisibleTo(panel) and panel.load_options().n_gpu_layers == 0
