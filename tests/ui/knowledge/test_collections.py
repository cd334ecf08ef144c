"""The Knowledge workspace on real LanceDB collections: add, index with progress, list, skipped files,
missing folders, reindex, delete with confirmation."""

from __future__ import annotations

import shutil

import pytest

from tests.ui.knowledge.conftest import TIMEOUT


def test_history_is_listed_and_cannot_be_reindexed_or_deleted(workspace):
    assert workspace.table.names() == ["history"]
    assert workspace.table.row_texts("history")[4].startswith("Up to date")
    workspace.table.select_name("history")
    assert not workspace.reindex_button.isEnabled()
    assert not workspace.delete_button.isEnabled()


def test_adding_a_collection_indexes_it_and_lists_what_was_skipped(qtbot, workspace, docs, add_collection):
    progress = []
    workspace.index_progressed.connect(progress.append)
    report = add_collection(workspace, "notes", docs)
    assert report.read == 2 and report.chunks_total >= 2
    name, folders, files, chunks, state, when = workspace.table.row_texts("notes")
    assert (name, folders, files) == ("notes", str(docs), "3")
    assert int(chunks) == report.chunks_total
    assert state == "Indexed, 1 file skipped" and when != "never"
    assert progress and progress[-1].files_done == progress[-1].files_total == 3
    workspace.table.select_name("notes")
    [(path, reason)] = workspace.skipped_rows()
    assert path.endswith("binary.txt") and "binary" in reason.lower()
    assert "Indexed “notes”" in workspace.notice.text() and "1 file skipped" in workspace.notice.text()


def test_reindex_reads_only_what_changed(qtbot, workspace, docs, add_collection):
    add_collection(workspace, "notes", docs)
    (docs / "new.md").write_text("# Kettles\n\nA kettle whistles when the water boils.\n")
    workspace.table.select_name("notes")
    with qtbot.waitSignal(workspace.index_finished, timeout=TIMEOUT) as blocker:
        workspace.reindex_button.click()
    report = blocker.args[0]
    assert report.read == 1 and report.unchanged == 2


def test_a_vanished_folder_is_marked_missing_not_deleted(qtbot, workspace, docs, add_collection):
    report = add_collection(workspace, "notes", docs)
    shutil.rmtree(docs)
    with qtbot.waitSignal(workspace.collections_shown, timeout=TIMEOUT):
        workspace.refresh_button.click()
    assert workspace.table.row_texts("notes")[4] == "Folder missing"
    assert workspace.table.row_texts("notes")[3] == str(report.chunks_total)  # the chunks are kept
    workspace.table.select_name("notes")
    assert (str(docs), ) == tuple(p for p, reason in workspace.skipped_rows() if "missing" in reason)


def test_delete_asks_first_and_removes_the_index_from_disk(qtbot, workspace, docs, add_collection, services):
    add_collection(workspace, "notes", docs)
    table_dir = services.knowledge.root / "lancedb" / f"{services.knowledge.get('notes').table}.lance"
    assert table_dir.is_dir()
    questions = []
    workspace.confirm = lambda title, text: questions.append(text) or False
    workspace.table.select_name("notes")
    workspace.delete_button.click()
    assert "notes" in questions[0] and "not touched" in questions[0]
    assert workspace.table.names() == ["history", "notes"]  # answered No: nothing happened
    workspace.confirm = lambda title, text: True
    with qtbot.waitSignal(workspace.deleted, timeout=TIMEOUT):
        workspace.delete_button.click()
    qtbot.waitUntil(lambda: workspace.table.names() == ["history"], timeout=TIMEOUT)
    assert not table_dir.exists()
    assert docs.is_dir() and (docs / "otters.md").is_file()  # the documents stay


def test_stop_before_the_run_starts_says_so(qtbot, workspace, docs, services):
    services.knowledge.add("notes", [docs])
    with qtbot.waitSignal(workspace.collections_shown, timeout=TIMEOUT):
        workspace.refresh()
    with qtbot.waitSignal(workspace.index_stopped, timeout=TIMEOUT):
        workspace.reindex("notes")
        assert workspace.cancel_button.isVisible()
        workspace.cancel_button.click()
    qtbot.waitUntil(lambda: workspace.indexing is None, timeout=TIMEOUT)
    assert "Reindex continues" in workspace.notice.text()
    assert not workspace.cancel_button.isVisible()


@pytest.mark.slow
def test_stop_while_indexing_keeps_the_list_honest_and_reindex_finishes(qtbot, workspace, services, tmp_path):
    many = tmp_path / "many"
    many.mkdir()
    for i in range(3000):
        (many / f"note{i}.md").write_text(f"# Note {i}\n\nA few words about topic {i}.\n")
    services.knowledge.add("many", [many])
    with qtbot.waitSignal(workspace.collections_shown, timeout=TIMEOUT):
        workspace.refresh()
    workspace.reindex("many")
    assert workspace.table.row_texts("many")[4] == "Indexing…"
    # Stop as soon as the run reports anything: the GUI hears of it long before 3000 files are read.
    workspace.indexing.progressed.connect(lambda _batch: workspace.stop())
    with qtbot.waitSignal(workspace.index_stopped, timeout=TIMEOUT):
        pass
    qtbot.waitUntil(lambda: workspace.table.row_texts("many")[4].startswith("Stopped part way"), timeout=TIMEOUT)
    with qtbot.waitSignal(workspace.index_finished, timeout=120_000) as blocker:
        workspace.reindex("many")
    assert blocker.args[0].chunks_total == 3000


def test_the_added_collection_is_selected(qtbot, workspace, docs, add_collection):
    add_collection(workspace, "notes", docs)
    add_collection(workspace, "again", docs)
    assert workspace.table.selected_name() == "again"
    assert workspace.search_panel.collection == "again"


def test_the_wait_for_the_history_is_said_and_goes_once_the_list_is_shown(qtbot, services, runner, genlab_home):
    from desktop.core.history.store import HistoryStore
    from desktop.ui.knowledge.view import WAITING, KnowledgeWorkspace

    ws = KnowledgeWorkspace(services, runner)  # opened before the app has opened the history
    qtbot.addWidget(ws)
    ws.show()
    assert ws.notice.text() == WAITING and ws.table.names() == []
    store = services.provide_history_store(HistoryStore(embedder=None, idle_seconds=3600))
    with qtbot.waitSignal(ws.collections_shown, timeout=TIMEOUT):
        services.set_history(store)  # what the app does after its first paint
    assert ws.table.names() == ["history"] and ws.notice.text() == ""
