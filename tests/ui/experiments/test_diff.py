"""The text table's diff: the words of a reply that differ from its row's first reply are marked."""

from __future__ import annotations

import pytest

from desktop.ui.experiments.diff import DIFF_ROLE, MARK_STYLE, word_diff_html
from desktop.ui.experiments.table import INDEX_ROLE
from tests.ui.experiments.conftest import text_spec


def test_word_diff_marks_only_the_changed_words():
    marked = word_diff_html("there was a little girl", "there was a big <girl>")
    assert marked == f"there was a <span style='{MARK_STYLE}'>big &lt;girl&gt;</span>"
    assert word_diff_html("same words here", "same words here") == "same words here"


@pytest.mark.slow
def test_the_diff_toggle_marks_differing_replies_in_the_table(qtbot, open_workspace, stories260k):
    w = open_workspace()
    w.new_experiment()
    w.editor.set_text(text_spec(stories260k, temperatures=(0.0, 1.5),
                                prompts=("Once upon a time", "The little dog", "Lily saw a bird")))
    with qtbot.waitSignal(w.run_finished, timeout=120000):
        w.editor.run_button.click()
    table = w.results.current_table()
    qtbot.waitUntil(lambda: len(table.records) == 6, timeout=30000)
    assert w.results.diff_button.isVisible()
    assert all(table.item(r, c).data(DIFF_ROLE) is None for r in range(3) for c in range(2))
    w.results.diff_button.click()
    assert w.results.diff_button.text() == "Diff: on"
    differing = 0
    for row in range(3):
        first, second = (table.records[table.item(row, c).data(INDEX_ROLE)] for c in range(2))
        assert MARK_STYLE not in table.item(row, 0).data(DIFF_ROLE)  # the reference
        same = first.output_text.split() == second.output_text.split()
        assert (MARK_STYLE in table.item(row, 1).data(DIFF_ROLE)) is not same
        differing += not same
    assert differing  # at temperature 1.5 some reply differs from the greedy one
    w.results.diff_button.click()
    assert all(table.item(r, c).data(DIFF_ROLE) is None for r in range(3) for c in range(2))
