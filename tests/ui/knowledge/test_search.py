"""Trying a query against a collection from the Knowledge workspace, and reading a result."""

from __future__ import annotations

from tests.ui.knowledge.conftest import TIMEOUT


def test_a_query_lists_file_location_score_and_snippet(qtbot, workspace, docs, add_collection):
    add_collection(workspace, "notes", docs)
    workspace.table.select_name("notes")
    panel = workspace.search_panel
    panel.query.setText("sea urchins")
    with qtbot.waitSignal(panel.results_shown, timeout=TIMEOUT) as blocker:
        panel.search_button.click()
    hits = blocker.args[0]
    assert hits and hits[0].path.endswith("otters.md")
    row = [panel.results.item(0, col).text() for col in range(4)]
    assert row[0] == "otters.md" and "Food" in row[1] and float(row[2]) > 0 and "urchins" in row[3]

    opened = []
    popup = panel.open_hit(0)
    popup.open_url = lambda url: opened.append(url.toLocalFile()) or True
    assert "urchins" in popup.text.toPlainText()
    with qtbot.waitSignal(popup.document_opened, timeout=TIMEOUT):
        popup.open_button.click()
    assert opened == [hits[0].path]


def test_search_refusals_are_said(qtbot, workspace, docs, services):
    panel = workspace.search_panel
    workspace.table.select_name("history")
    with qtbot.waitSignal(panel.search_failed, timeout=TIMEOUT) as blocker:
        panel.search_button.click()
    assert blocker.args[0] == "Type what to look for."
    services.knowledge.add("unindexed", [docs])
    with qtbot.waitSignal(workspace.collections_shown, timeout=TIMEOUT):
        workspace.refresh()
    workspace.table.select_name("unindexed")
    panel.query.setText("otters")
    with qtbot.waitSignal(panel.search_failed, timeout=TIMEOUT) as blocker:
        panel.search_button.click()
    assert "has not been indexed yet" in blocker.args[0]
    assert panel.notice.text() == blocker.args[0]


def test_nothing_found_is_said_plainly(qtbot, workspace, docs, add_collection):
    add_collection(workspace, "notes", docs)
    workspace.table.select_name("notes")
    panel = workspace.search_panel
    panel.query.setText("zeppelin")
    with qtbot.waitSignal(panel.results_shown, timeout=TIMEOUT) as blocker:
        panel.query.returnPressed.emit()
    assert blocker.args[0] == [] and "Nothing in this collection matches" in panel.notice.text()
