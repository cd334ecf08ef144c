"""The Hub tab and the Downloads panel are not blank boxes: they say what goes there and offer the way to it."""

from __future__ import annotations

from desktop.core.hub.download import FileRef
from desktop.core.services import Services
from desktop.ui.models.view import ModelsWorkspace
from tests.support.hub_server import gguf_file_bytes


def make(qtbot, runner) -> ModelsWorkspace:
    w = ModelsWorkspace(Services(), runner)
    qtbot.addWidget(w)
    return w


def test_the_hub_tab_starts_with_a_search_call_to_action(qtbot, runner, hub):
    workspace = make(qtbot, runner)
    tab = workspace.hub_tab
    assert tab.pages.currentWidget() is tab.empty
    assert tab.empty.button.text() == "Search the Hugging Face Hub"
    workspace.show()
    workspace.activateWindow()
    qtbot.waitActive(workspace)
    workspace.tabs.setCurrentWidget(tab)
    tab.empty.button.click()
    qtbot.waitUntil(tab.query_edit.hasFocus, timeout=2000)  # nothing typed yet: the cursor goes where to type
    hub.add_repo("someone/Tiny-GGUF", {"tiny-Q4_0.gguf": gguf_file_bytes(4096, seed=3)}, tags=["gguf"],
                 library_name="gguf")
    tab.query_edit.setText("tiny")
    tab.empty.button.click()  # with text: it searches
    qtbot.waitUntil(lambda: tab.results.topLevelItemCount() > 0, timeout=15000)
    assert tab.pages.currentWidget() is not tab.empty


def test_the_downloads_panel_says_none_yet_and_leads_to_the_catalog(qtbot, runner, hub):
    workspace = make(qtbot, runner)
    panel = workspace.downloads_panel
    assert panel.pages.currentWidget() is panel.empty
    assert panel.empty.title.text() == "No downloads yet" and panel.empty.button.text() == "Browse the catalog"
    workspace.tabs.setCurrentWidget(panel)
    panel.empty.button.click()
    assert workspace.tabs.currentWidget() is workspace.catalog_tab
    hub.add_repo("someone/Tiny-GGUF", {"tiny-Q4_0.gguf": gguf_file_bytes(4096, seed=3)}, tags=["gguf"],
                 library_name="gguf")
    workspace.downloads.request(FileRef("someone/Tiny-GGUF", "tiny-Q4_0.gguf"))
    qtbot.waitUntil(lambda: panel.tree.topLevelItemCount() == 1, timeout=15000)
    assert panel.pages.currentWidget() is panel.tree
