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


def test_context_is_automatic_or_at_least_the_engines_minimum(qtbot, panel):
    from PySide6.QtCore import Qt

    from desktop.core.text.engine import MIN_CONTEXT

    panel.context.setValue(10)
    assert panel.context.value() == MIN_CONTEXT
    panel.context.setValue(0)
    assert panel.context.text() == "automatic"
    panel.context.stepBy(1)
    assert panel.context.value() == 1024
    panel.context.stepBy(-1)
    assert panel.context.value() == 0
    panel.show()
    panel.context.lineEdit().selectAll()
    qtbot.keyClicks(panel.context, "10")
    qtbot.keyClick(panel.context, Qt.Key.Key_Return)
    assert panel.context.value() == MIN_CONTEXT  # typed: the box corrects it
    panel.load_options().validated()


def test_typed_top_p_zero_and_max_tokens_zero_are_not_kept(qtbot, panel):
    from PySide6.QtCore import Qt

    panel.show()
    for box, typed in ((panel.top_p, "0"), (panel.max_tokens, "0")):
        box.lineEdit().selectAll()
        qtbot.keyClicks(box, typed)
        qtbot.keyClick(box, Qt.Key.Key_Return)
        box.clearFocus()
    assert panel.top_p.value() > 0 and panel.max_tokens.value() >= 1
    panel.sampling().validated()


def test_every_builtin_preset_name_is_shown_whole_in_its_box(qtbot, panel):
    from PySide6.QtWidgets import QStyle, QStyleOptionComboBox

    from desktop.core.text.params import BUILTIN_PRESETS

    panel.resize(panel.minimumSizeHint().width(), 700)  # the narrowest the panel gets
    panel.show()
    qtbot.waitExposed(panel)
    box = panel.presets
    for name in BUILTIN_PRESETS:
        box.setCurrentIndex(box.findText(name))
        option = QStyleOptionComboBox()
        box.initStyleOption(option)
        field = box.style().subControlRect(QStyle.ComplexControl.CC_ComboBox, option,
                                           QStyle.SubControl.SC_ComboBoxEditField, box)
        assert box.fontMetrics().horizontalAdvance(name) <= field.width(), name
