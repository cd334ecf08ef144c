"""The History's relevance floor: unrelated records are not listed as matches; the floor is shown and adjustable."""

from __future__ import annotations

import pytest

from desktop.core.history.search import MIN_RELEVANCE
from desktop.core.history.store import HistoryStore
from desktop.core.services import Services
from tests.support.history import make_record
from tests.ui.history.test_view import TIMEOUT, _prompts, open_workspace

# the slow set: most tests here load a real model or pipeline, or spawn processes
pytestmark = pytest.mark.slow

COOKING = ["How do I bake sourdough bread at home?", "A quick weeknight recipe for chicken curry",
           "How long should I boil an egg for a runny yolk?", "Tips for a crispy roast potato",
           "How to season a cast iron skillet", "A simple vinaigrette for a green salad"]
FLOOR = MIN_RELEVANCE["all-MiniLM-L6-v2"]


@pytest.fixture
def workspace(qtbot, runner, genlab_home, embedder):
    services = Services()
    store = services.provide_history_store(HistoryStore(embedder=embedder, idle_seconds=3600))
    store.save_many([make_record(p) for p in COOKING])
    w = open_workspace(qtbot, services, runner)
    with qtbot.waitSignal(w.results_shown, timeout=TIMEOUT):
        w.mode.setCurrentIndex(w.mode.findData("semantic"))
    yield w
    services.close()


def search(qtbot, w, text: str) -> None:
    with qtbot.waitSignal(w.results_shown, timeout=TIMEOUT):
        w.search_box.setText(text)


def test_an_unrelated_query_lists_nothing_says_what_it_hid_and_shows_them_on_request(qtbot, workspace):
    w = workspace
    search(qtbot, w, "quantum chromodynamics lattice")
    assert _prompts(w) == [] and w.last_result.hidden == len(COOKING)
    assert w.floor.spin.value() == pytest.approx(FLOOR)  # the floor applied is the one shown
    assert not w.floor.note.isHidden()
    assert w.floor.note.text().startswith(f"{len(COOKING)} weaker matches hidden (relevance below {FLOOR:.2f})")
    with qtbot.waitSignal(w.results_shown, timeout=TIMEOUT):
        w.floor.note.linkActivated.emit("show")
    assert len(_prompts(w)) == len(COOKING) and w.floor.spin.value() == 0
    assert "Use the default floor" in w.floor.note.text()
    with qtbot.waitSignal(w.results_shown, timeout=TIMEOUT):
        w.floor.note.linkActivated.emit("default")
    assert _prompts(w) == [] and w.floor.spin.value() == pytest.approx(FLOOR)


def test_the_floor_is_adjustable_and_clear_resets_it(qtbot, workspace):
    w = workspace
    search(qtbot, w, "baking bread")
    default = _prompts(w)
    assert default and default[0] == "How do I bake sourdough bread at home?"
    with qtbot.waitSignal(w.results_shown, timeout=TIMEOUT):
        w.floor.spin.setValue(0.0)
    assert len(_prompts(w)) == len(COOKING) > len(default)
    assert w.last_result.min_relevance == 0
    with qtbot.waitSignal(w.results_shown, timeout=TIMEOUT):
        w.clear_filters.click()
    assert w.floor.query_value() is None and w.search_box.text() == ""


def test_keyword_search_is_never_cut_so_its_floor_is_disabled(qtbot, workspace):
    w = workspace
    assert w.floor.spin.value() == pytest.approx(FLOOR)  # shown before any search by meaning
    assert w.floor.spin.isEnabled()
    with qtbot.waitSignal(w.results_shown, timeout=TIMEOUT):
        w.mode.setCurrentIndex(w.mode.findData("keyword"))
    assert not w.floor.spin.isEnabled()
