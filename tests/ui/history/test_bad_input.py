"""The History workspace under bad input: a database from a newer GenLab, a 100 KB query, a deleted image."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QApplication, QLabel

from desktop.core import paths
from desktop.core.history.schema import SCHEMA_VERSION
from desktop.core.history.search import MAX_QUERY_CHARS
from desktop.core.history.store import HistoryStore
from desktop.core.records import GenerationRecord, ListSink
from desktop.core.services import Services
from desktop.ui.history.results import HIT_ROLE, MISSING_COLOR
from desktop.ui.main_window import MainWindow
from tests.support.traces import saved_image
from tests.ui.history.test_view import open_workspace

TIMEOUT = 30_000


@pytest.fixture
def store_services(genlab_home):
    services = Services()
    store = services.provide_history_store(HistoryStore(embedder=None))
    yield services, store
    services.close()


def _workspace(qtbot, services, runner):
    return open_workspace(qtbot, services, runner)


@pytest.mark.slow
def test_a_history_from_a_newer_genlab_is_refused_with_a_message_and_the_app_keeps_running(
        qtbot, runner, genlab_home):
    history = paths.history_dir()
    history.mkdir(parents=True)
    (history / "meta.json").write_text(json.dumps({"schema_version": SCHEMA_VERSION + 1, "table": "generations_v9"}))
    before = sorted(p.relative_to(history) for p in history.rglob("*"))
    services = Services()
    w = MainWindow(services, runner)
    qtbot.addWidget(w)
    messages = []
    w.statusBar().messageChanged.connect(messages.append)
    w.show()
    qtbot.waitUntil(lambda: any("newer GenLab" in m for m in messages), timeout=TIMEOUT)
    # The open job's failure reached one receiver; its other receivers' deliveries were
    # posted at the same emission, so delivering what is posted now brings any second message.
    QCoreApplication.sendPostedEvents()
    QCoreApplication.processEvents()
    newer = [m for m in messages if "newer GenLab" in m]
    assert len(newer) == 1, messages  # one message, not the raw error and then the explained one
    assert newer[0].startswith("The history could not be opened: The history in ") and "Update GenLab" in newer[0]

    page = w.workspace("history")
    qtbot.waitUntil(lambda: "newer GenLab" in page.notice.text(), timeout=TIMEOUT)
    assert page.store is None
    page.confirm = lambda text: True
    page.search_box.setText("anything")  # searching, importing, deleting: nothing happens, nothing breaks
    page.search_now()
    page.delete_everything()
    page.choose_path = lambda save: "/nonexistent.jsonl"
    page.import_dialog()
    assert not [h for h in runner.active_jobs() if h.name in {"History search", "Delete all history", "Import history"}]
    assert "newer GenLab" in page.notice.text()

    w.workspace("chat")  # the rest of the app works
    assert w.current_workspace() is w.workspace("chat") and w.isVisible()
    assert isinstance(services.history, ListSink)  # generations are kept in memory, not written over it
    assert sorted(p.relative_to(history) for p in history.rglob("*")) == before  # the history is untouched
    w.close()
    services.close()


@pytest.mark.slow
def test_a_100_kb_query_pasted_in_the_search_box_is_kept_and_searched_shortened(qtbot, runner, store_services):
    services, store = store_services
    store.save_many([GenerationRecord(kind="text", prompt="How do I bake sourdough bread?"),
                     GenerationRecord(kind="text", prompt="Write a limerick about a boat")])
    w = _workspace(qtbot, services, runner)
    big = ("sourdough bread " * 7000)[:100_000]
    QApplication.clipboard().setText(big)
    w.search_box.setFocus()
    with qtbot.waitSignal(w.results_shown, timeout=TIMEOUT):
        w.search_box.paste()
    assert len(w.search_box.text()) == 100_000  # QLineEdit's default would have cut it at 32,767 silently
    assert [h.record.prompt for h in w.results.hits] == ["How do I bake sourdough bread?"]
    assert f"The query was shortened to its first {MAX_QUERY_CHARS} characters." in w.notice.text()
    with qtbot.waitSignal(w.results_shown, timeout=TIMEOUT):
        w.search_box.end(False)
        qtbot.keyClicks(w.search_box, " limerick")  # typing on after it still works
    assert len(w.search_box.text()) == 100_009
    assert "shortened" in w.notice.text()


def _list_row(w, prompt):
    lst = w.results.list
    item = next(lst.item(i) for i in range(lst.count())
                if lst.item(i).data(HIT_ROLE) is not None and lst.item(i).data(HIT_ROLE).record.prompt == prompt)
    labels = lst.itemWidget(item).findChildren(QLabel)
    thumb = next(label for label in labels if label.objectName() == "listThumbnail")
    text = next(label for label in labels if label.objectName() != "listThumbnail")
    return text, thumb


def _center(pixmap):
    image = pixmap.toImage()
    color = image.pixelColor(image.width() // 2, image.height() // 2)
    return color.name()


def test_an_image_deleted_from_disk_is_shown_as_missing_in_the_list_the_grid_and_the_details(
        qtbot, runner, store_services):
    services, store = store_services
    kept, gone = saved_image("kept.png", "a red barn"), saved_image("gone.png", "a lighthouse at dusk")
    store.save_many([GenerationRecord(kind="image", prompt=prompt, image_path=str(s.path),
                                      thumbnail_path=str(s.thumbnail_path), image_sha256=s.sha256)
                     for prompt, s in (("a red barn", kept), ("a lighthouse at dusk", gone))])
    w = _workspace(qtbot, services, runner)
    w.show()
    qtbot.waitUntil(lambda: _center(_list_row(w, "a lighthouse at dusk")[1].pixmap()) != "#808080"
                    and "image missing" not in _list_row(w, "a lighthouse at dusk")[0].text(), timeout=TIMEOUT)

    gone.path.unlink()  # deleted outside GenLab, after it was shown
    with qtbot.waitSignal(w.results_shown, timeout=TIMEOUT):
        w.search_now()
    text, thumb = _list_row(w, "a lighthouse at dusk")
    assert "image missing" in text.text() and _center(thumb.pixmap()) == MISSING_COLOR.lower()
    assert "image missing" not in _list_row(w, "a red barn")[0].text()

    w.grid_toggle.setChecked(True)
    grid = w.results.grid
    labels = {grid.item(i).data(HIT_ROLE).record.prompt: grid.item(i).text() for i in range(grid.count())}
    assert labels["a lighthouse at dusk"] == "missing" and labels["a red barn"] != "missing"

    row = next(i for i in range(grid.count()) if grid.item(i).data(HIT_ROLE).record.prompt == "a lighthouse at dusk")
    w.results.select_row(row)
    assert w.details.image.text() == f"The image file is missing:\n{gone.path}"
    assert "(missing)" in w.details.fields.toPlainText()
