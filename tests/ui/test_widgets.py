"""The shared widgets: one EmptyState for every empty pane, and the range-limited number boxes."""

from __future__ import annotations

import pytest

from desktop.core.image.params import MAX_GUIDANCE
from desktop.core.services import Services
from desktop.ui.chat.settings import ChatSettingsPanel
from desktop.ui.history.empty import HistoryEmptyState
from desktop.ui.images.empty import ImagesEmptyState
from desktop.ui.images.params import ImagesParamsPanel
from desktop.ui.models.view import ModelsWorkspace
from desktop.ui.widgets import EmptyState, double_spin_box, spin_box


def test_empty_state_has_icon_title_text_and_an_action(qtbot):
    state = EmptyState("magnifying-glass", "Nothing yet", "Search for something.", "Search")
    qtbot.addWidget(state)
    assert not state.picture.pixmap().isNull()
    assert (state.title.text(), state.detail.text(), state.button.text()) == ("Nothing yet", "Search for something.",
                                                                              "Search")
    with qtbot.waitSignal(state.action_requested, timeout=1000):
        state.button.click()
    state.set_text("Other", "Words")
    state.set_action_visible(False)
    assert (state.title.text(), state.detail.text()) == ("Other", "Words") and state.button.isHidden()


def test_empty_state_without_an_action_or_icon_and_with_markup_in_its_title(qtbot):
    state = EmptyState(None, "No results for “<b>x</b>”", "")
    qtbot.addWidget(state)
    assert state.button is None and state.picture.isHidden()
    assert state.title.textFormat().name == "PlainText"  # a search query is shown as typed, never as markup


@pytest.mark.slow
def test_every_empty_pane_is_the_shared_empty_state(qtbot, runner):
    history, images = HistoryEmptyState(), ImagesEmptyState()
    models = ModelsWorkspace(Services(), runner)
    for widget in (history, images, models):
        qtbot.addWidget(widget)
    for pane in (history, images, models.hub_tab.empty, models.downloads_panel.empty):
        assert isinstance(pane, EmptyState)
    with qtbot.waitSignal(history.clear_filters_requested, timeout=1000):
        history.clear_button.click()
    for button, signal in ((images.folder_button, images.open_folder_requested),
                           (images.file_button, images.open_file_requested),
                           (images.models_button, images.models_requested)):
        with qtbot.waitSignal(signal, timeout=1000):
            button.click()


def test_number_boxes_hold_their_range_step_and_special_text(qtbot):
    box = double_spin_box(0.01, 1, 0.05, decimals=3)
    assert (box.minimum(), box.maximum(), box.singleStep(), box.decimals()) == (0.01, 1, 0.05, 3)
    whole = spin_box(-1, 100, 5, special="random")
    assert (whole.minimum(), whole.maximum(), whole.singleStep()) == (-1, 100, 5)
    assert whole.textFromValue(-1) != "random" and whole.specialValueText() == "random"
    whole.setValue(-1)
    assert whole.text() == "random"


def test_chat_and_images_boxes_are_limited_to_the_validation_ranges(qtbot):
    chat = ChatSettingsPanel(Services().settings)
    images = ImagesParamsPanel()
    for widget in (chat, images):
        qtbot.addWidget(widget)
    assert (chat.top_p.minimum(), chat.top_p.maximum()) == (0.01, 1)
    assert chat.max_tokens.minimum() == 1 and chat.top_k.specialValueText() == "off"
    assert chat.seed.specialValueText() == "random" and chat.threads.specialValueText() == "automatic"
    assert (images.guidance.maximum(), images.guidance.decimals()) == (MAX_GUIDANCE, 1)
    assert images.steps.minimum() == 1 and images.batch.minimum() == 1
