"""A History row marks whole words of a keyword search in bold, not the same letters inside another word."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel

from desktop.core.history.search import SearchQuery
from desktop.core.records import GenerationRecord
from desktop.ui.history.results import HIT_ROLE, ResultsView


def test_a_row_marks_art_but_not_the_art_inside_start(qtbot, store):
    store.save_and_wait(GenerationRecord(kind="text", prompt="Start the art show"))
    result = store.search(SearchQuery("art", mode="keyword"))
    view = ResultsView()
    qtbot.addWidget(view)
    view.show_hits(result.hits)
    item = next(view.list.item(i) for i in range(view.list.count()) if view.list.item(i).data(HIT_ROLE))
    widget = view.list.itemWidget(item)
    text = (widget if isinstance(widget, QLabel) else widget.findChild(QLabel)).text()
    assert "<b>art</b>" in text
    assert "St<b>" not in text and "Start" in text
