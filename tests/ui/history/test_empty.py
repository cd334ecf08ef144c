"""Empty History results say why: no matches (with the filters and "Clear filters"), or nothing recorded yet."""

from __future__ import annotations

import pytest

from desktop.core.history.store import HistoryStore
from desktop.core.records import GenerationRecord
from desktop.core.services import Services
from desktop.ui.history.empty import INCOGNITO_LINE, empty_state_text
from tests.ui.history.test_view import TIMEOUT, open_workspace


def services_with(records):
    s = Services()
    s.provide_history_store(HistoryStore(embedder=None)).save_many(records)
    return s


@pytest.fixture
def services(genlab_home):
    s = services_with([GenerationRecord(kind="text", prompt="How do I bake sourdough bread?"),
                       GenerationRecord(kind="image", prompt="a lighthouse at dusk", image_path="/gone.png")])
    yield s
    s.close()


@pytest.fixture
def empty_services(genlab_home):
    s = services_with([])
    yield s
    s.close()


def test_empty_state_words():
    title, detail = empty_state_text("zebra", "keyword", [])
    assert title == "No results for “zebra”" and detail == "Searched by keyword. Try other or fewer words."
    title, detail = empty_state_text("zebra", "hybrid", ["Images", "tag “sea”"])
    assert detail == "Searched by meaning and keyword. Filters: Images · tag “sea”."
    assert empty_state_text("", "recent", ["★★★ or more"]) == ("Nothing matches these filters",
                                                                "Filters: ★★★ or more.")
    title, detail = empty_state_text("", "recent", [])
    assert title == "Nothing recorded yet" and "Chat" in detail and "Images" in detail
    assert INCOGNITO_LINE not in detail
    assert INCOGNITO_LINE in empty_state_text("", "recent", [], incognito=True)[1]


def _empty_shown(w) -> bool:
    return w.results.currentWidget() is w.results.empty


@pytest.mark.slow
def test_a_search_without_matches_says_so_and_offers_to_clear_the_filters(qtbot, services, runner):
    w = open_workspace(qtbot, services, runner)
    assert not _empty_shown(w)
    with qtbot.waitSignal(w.results_shown, timeout=TIMEOUT):
        w.search_box.setText("zebra")
    assert _empty_shown(w)
    assert w.results.empty.title.text() == "No results for “zebra”"
    assert "Searched by keyword" in w.results.empty.detail.text()  # no embedder: hybrid fell back to keyword
    assert w.results.empty.clear_button.isHidden()  # no filter to clear

    with qtbot.waitSignal(w.results_shown, timeout=TIMEOUT):
        w.kind.setCurrentIndex(w.kind.findData("image"))
        w.tag.setText("sea")
    assert "Filters: Images · tag “sea”." in w.results.empty.detail.text()
    assert not w.results.empty.clear_button.isHidden()
    assert w.results.grid_mode  # the image filter still switched to the grid behind the empty state

    with qtbot.waitSignal(w.results_shown, timeout=TIMEOUT):
        w.search_box.clear()
    assert w.results.empty.title.text() == "Nothing matches these filters"
    with qtbot.waitSignal(w.results_shown, timeout=TIMEOUT):
        w.results.empty.clear_button.click()
    assert w.filters() == {} and not _empty_shown(w) and w.results.row_count() == 2


def test_an_empty_history_says_what_will_appear_here(qtbot, empty_services, runner):
    w = open_workspace(qtbot, empty_services, runner)
    assert _empty_shown(w)
    assert w.results.empty.title.text() == "Nothing recorded yet"
    assert "Chat" in w.results.empty.detail.text() and "Images" in w.results.empty.detail.text()
    assert w.results.empty.clear_button.isHidden()
    w.incognito.setChecked(True)
    assert INCOGNITO_LINE in w.results.empty.detail.text()
    w.incognito.setChecked(False)
    assert INCOGNITO_LINE not in w.results.empty.detail.text()
