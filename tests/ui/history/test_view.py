"""The History workspace on a real store: debounced search, filters, grid, details, actions, incognito."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from PySide6.QtCore import Qt

from desktop.core.history.store import HistoryStore
from desktop.core.records import GenerationRecord, ModelIdentity, NullSink
from desktop.core.services import Services
from desktop.ui.history.results import HIT_ROLE
from desktop.ui.history.view import RESULTS_MIN_WIDTH, HistoryWorkspace

TIMEOUT = 15000


@pytest.fixture
def services(genlab_home):
    s = Services()
    store = s.provide_history_store(HistoryStore(embedder=None))
    store.save_many([
        GenerationRecord(kind="text", prompt="How do I bake sourdough bread?", output_text="Feed the starter.",
                         session_id="kitchen", created_at=datetime(2026, 5, 1, tzinfo=timezone.utc),
                         model=ModelIdentity(name="tiny-llama")),
        GenerationRecord(kind="text", prompt="Write a limerick about a boat", session_id="poems",
                         created_at=datetime(2026, 5, 2, tzinfo=timezone.utc)),
        GenerationRecord(kind="image", prompt="a lighthouse at dusk", image_path="/nonexistent/gone.png",
                         session_id="poems", created_at=datetime(2026, 5, 3, tzinfo=timezone.utc),
                         model=ModelIdentity(name="tiny-sd")),
    ])
    yield s
    s.close()


def open_workspace(qtbot, services, runner):
    """The History workspace with its first search done; confirmations answered yes."""
    w = HistoryWorkspace(services, runner)
    qtbot.addWidget(w)
    w.confirm = lambda text: True
    qtbot.waitUntil(lambda: w.last_result is not None, timeout=TIMEOUT)
    return w


@pytest.fixture
def workspace(qtbot, services, runner):
    return open_workspace(qtbot, services, runner)


def _prompts(w):
    return [h.record.prompt for h in w.results.hits]


def test_opens_with_recent_records_grouped_by_day(workspace):
    assert workspace.last_result.mode == "recent"
    assert _prompts(workspace) == ["a lighthouse at dusk", "Write a limerick about a boat",
                                   "How do I bake sourdough bread?"]
    lst = workspace.results.list
    headers = [lst.item(i).text() for i in range(lst.count()) if lst.item(i).data(HIT_ROLE) is None]
    assert len(headers) == 3
    assert workspace.results.row_count() == 3


@pytest.mark.slow
def test_typing_searches_once_after_a_pause(qtbot, workspace):
    shown = []
    workspace.results_shown.connect(shown.append)
    for ch in "sourdough":
        qtbot.keyClick(workspace.search_box, ch)
    with qtbot.waitSignal(workspace.results_shown, timeout=TIMEOUT):
        pass
    assert len(shown) == 1  # debounced: one search for nine key presses
    assert _prompts(workspace) == ["How do I bake sourdough bread?"]
    assert "still loading" in workspace.notice.text()  # no embedder: keyword results, said so
    hit = workspace.results.hits[0]
    assert [hit.snippet[a:b] for a, b in hit.highlights] == ["sourdough"]


@pytest.mark.slow
def test_query_syntax_and_bad_filters_show_messages_not_crashes(qtbot, workspace):
    with qtbot.waitSignal(workspace.results_shown, timeout=TIMEOUT):
        workspace.search_box.setText('prompt:"boat*" AND (')
    assert _prompts(workspace) == ["Write a limerick about a boat"]
    workspace.date_from.setText("someday")
    qtbot.waitUntil(lambda: "not a date" in workspace.notice.text(), timeout=TIMEOUT)


@pytest.mark.slow
def test_image_filter_shows_grid_with_missing_image(qtbot, workspace):
    with qtbot.waitSignal(workspace.results_shown, timeout=TIMEOUT):
        workspace.kind.setCurrentIndex(workspace.kind.findData("image"))
    assert workspace.results.grid_mode
    assert workspace.results.grid.count() == 1
    assert workspace.results.grid.item(0).text() == "missing"
    workspace.results.select_row(0)
    assert "missing" in workspace.details.image.text()
    assert workspace.details.reuse_button.isEnabled() and not workspace.details.continue_button.isEnabled()


@pytest.mark.slow
def test_details_rating_tags_and_note_save_themselves(qtbot, workspace, services):
    store = services.opened_history_store

    def bread():
        return next(r for r in store.iter_records() if r.prompt.startswith("How do I bake"))

    workspace.results.select_row(2)
    details = workspace.details
    assert "sourdough" in details.fields.toPlainText() and "tiny-llama" in details.fields.toPlainText()
    assert details.rating.caption.text() == "not rated"
    with qtbot.waitSignal(workspace.results_shown, timeout=TIMEOUT):
        details.rating.buttons[3].click()  # the fourth star saves at once
    assert bread().rating == 4
    assert details.hit.record.prompt.startswith("How do I bake")  # still selected after the refresh
    assert workspace.results.selected_hits()[0].record.id == details.hit.record.id
    assert [b.text() for b in details.rating.buttons] == ["★"] * 4 + ["☆"]
    assert "★★★★" in workspace.results.list.itemWidget(workspace.results.list.currentItem()).text()

    qtbot.keyClicks(details.tags, "bread, favourite")
    with qtbot.waitSignal(workspace.results_shown, timeout=TIMEOUT):
        qtbot.keyClick(details.tags, Qt.Key.Key_Return)
    assert bread().tags == ["bread", "favourite"]

    details.note.setText("try rye")  # typed, never confirmed: saved when another record is shown
    with qtbot.waitSignal(workspace.results_shown, timeout=TIMEOUT):
        workspace.results.select_row(0)
    assert bread().note == "try rye" and details.hit.record.prompt == "a lighthouse at dusk"

    workspace.results.select_row(2)
    assert details.note.text() == "try rye" and details.rating.value() == 4
    with qtbot.waitSignal(workspace.results_shown, timeout=TIMEOUT):
        details.rating.buttons[3].click()  # the current rating's star clears it
    assert bread().rating == 0 and details.rating.caption.text() == "not rated"


def test_showing_a_record_again_does_not_save_or_reset_anything(qtbot, workspace):
    saved = []
    workspace.details.rate_tag_note.connect(lambda *args: saved.append(args))
    workspace.results.select_row(2)
    workspace.results.select_row(1)
    workspace.results.select_row(2)
    assert saved == []  # nothing changed: nothing written
    workspace.details.tags.setText("half typed")
    workspace.details.show_hit(workspace.results.hits[2])  # the list was refreshed under the typing
    assert workspace.details.tags.text() == "half typed" and saved == []


def test_actions_emit_the_record(qtbot, workspace):
    workspace.results.select_row(2)
    with qtbot.waitSignal(workspace.continue_requested, timeout=TIMEOUT) as blocker:
        workspace.details.continue_button.click()
    assert blocker.args[0].prompt == "How do I bake sourdough bread?"
    rerun = []
    workspace.rerun_requested.connect(rerun.append)
    workspace.details.rerun_button.click()  # the model (no sha256) cannot be found in the library
    assert rerun == []
    assert "cannot be re-run exactly" in workspace.notice.text()


def test_rerun_finds_the_model_by_sha256(qtbot, workspace, services, tiny_gguf):
    from desktop.core.models.library import Library

    model = Library().add_path(tiny_gguf, source="imported", owned=False)
    record = GenerationRecord(kind="text", prompt="again please", model=ModelIdentity(name="x", sha256=model.sha256),
                              seed=5, parameters={"temperature": 0.2})
    with qtbot.waitSignal(workspace.rerun_requested, timeout=TIMEOUT) as blocker:
        workspace.rerun(record)
    assert blocker.args[0] is record
    record.model.sha256 = "0" * 64
    workspace.rerun(record)
    assert "not in the model library" in workspace.notice.text()


def test_delete_record_and_session(qtbot, workspace, services):
    workspace.results.select_row(2)
    with qtbot.waitSignal(workspace.results_shown, timeout=TIMEOUT):
        workspace.details.delete_action.trigger()
    assert "How do I bake sourdough bread?" not in _prompts(workspace)
    workspace.results.select_row(0)
    with qtbot.waitSignal(workspace.results_shown, timeout=TIMEOUT):
        workspace.delete_current_session()
    assert _prompts(workspace) == []
    assert services.opened_history_store.count() == 0


def test_declined_confirmation_deletes_nothing(qtbot, workspace, services):
    asked = []
    workspace.confirm = lambda text: asked.append(text) or False
    workspace.delete_everything()
    assert asked  # the question was put; declining queues no delete job
    assert not [h for h in workspace.runner.active_jobs() if "Delete" in h.name]
    assert services.opened_history_store.count() == 3


def test_incognito_toggle_is_shown_and_saved(qtbot, workspace, services):
    assert not workspace.banner.isVisible() or not workspace.isVisible()
    assert workspace.banner.text() == "Incognito: new generations are not recorded"
    with qtbot.waitSignal(workspace.status_message) as said:
        workspace.incognito.setChecked(True)
    assert said.args == ["Incognito: new generations are not recorded."]  # one wording everywhere
    assert services.settings.history.incognito is True
    assert isinstance(services.history, NullSink)
    assert not workspace.banner.isHidden()
    from desktop.core.settings import load_settings

    assert load_settings()[0].history.incognito is True
    workspace.incognito.setChecked(False)
    assert workspace.banner.isHidden()


def test_focus_search(qtbot, workspace):
    workspace.show()
    qtbot.waitExposed(workspace)
    workspace.focus_search()
    qtbot.waitUntil(workspace.search_box.hasFocus, timeout=TIMEOUT)


def test_a_failed_save_on_the_writer_thread_is_shown(qtbot, workspace, services):
    import threading

    from desktop.core.history.errors import HistoryWriteError

    store = services.opened_history_store
    error = HistoryWriteError("The history could not be saved: the disk is full.", "Free some space.")
    with qtbot.waitSignal(workspace.status_message, timeout=TIMEOUT) as blocker:
        threading.Thread(target=store._report_write_error, args=(error,)).start()
    assert "disk is full" in blocker.args[0]
    assert "disk is full" in workspace.notice.text()


def _menu_action(workspace, text):
    return next(a for a in workspace.more.menu().actions() if a.text() == text)


def _click_row(qtbot, view, row, modifier=Qt.KeyboardModifier.NoModifier):
    rect = view.visualItemRect(view.item(row))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, modifier, rect.center())


def test_export_selected_exports_only_the_selected_records(qtbot, workspace, tmp_path):
    import json

    workspace.show()
    qtbot.waitExposed(workspace)
    export_selected = _menu_action(workspace, "Export selected…")
    assert not export_selected.isEnabled()  # nothing selected yet
    lst = workspace.results.list
    rows = [i for i in range(lst.count()) if lst.item(i).data(HIT_ROLE) is not None]
    with qtbot.waitSignal(workspace.results.selection_changed, timeout=TIMEOUT):
        _click_row(qtbot, lst, rows[0])
    _click_row(qtbot, lst, rows[2], Qt.KeyboardModifier.ControlModifier)
    assert [h.record.prompt for h in workspace.results.selected_hits()] == [
        "a lighthouse at dusk", "How do I bake sourdough bread?"]
    assert export_selected.isEnabled()

    out = tmp_path / "selected.jsonl"
    workspace.choose_path = lambda save: str(out)
    with qtbot.waitSignal(workspace.status_message, timeout=TIMEOUT) as blocker:
        export_selected.trigger()
    assert blocker.args[0] == "Exported 2 records."
    assert sorted(json.loads(x)["prompt"] for x in out.read_text().splitlines()) == [
        "How do I bake sourdough bread?", "a lighthouse at dusk"]


def test_export_all_still_exports_everything(qtbot, workspace, tmp_path):
    out = tmp_path / "all.parquet"
    workspace.choose_path = lambda save: str(out)
    with qtbot.waitSignal(workspace.status_message, timeout=TIMEOUT) as blocker:
        _menu_action(workspace, "Export all…").trigger()
    assert blocker.args[0] == "Exported 3 records."


@pytest.mark.slow
def test_select_all_skips_day_headers_and_a_new_search_clears_the_selection(qtbot, workspace):
    workspace.show()
    qtbot.waitExposed(workspace)
    lst = workspace.results.list
    lst.setFocus()
    qtbot.keyClick(lst, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    assert len(workspace.results.selected_hits()) == 3
    assert _menu_action(workspace, "Export selected…").isEnabled()
    with qtbot.waitSignal(workspace.results_shown, timeout=TIMEOUT):
        workspace.search_box.setText("limerick")
    assert workspace.results.selected_hits() == []
    assert not _menu_action(workspace, "Export selected…").isEnabled()
    asked = []
    workspace.choose_path = lambda save: asked.append(save) or ""
    workspace.export_selected_dialog()  # e.g. from a shortcut: says what to do, asks for no file
    assert asked == [] and "Select the records to export first" in workspace.notice.text()


@pytest.mark.slow
def test_the_image_grid_takes_several_selected_results(qtbot, workspace, services):
    store = services.opened_history_store
    store.save_many([GenerationRecord(kind="image", prompt="a red fox in snow", session_id="poems")])
    with qtbot.waitSignal(workspace.results_shown, timeout=TIMEOUT):
        workspace.kind.setCurrentIndex(workspace.kind.findData("image"))
    grid = workspace.results.grid
    assert workspace.results.grid_mode and grid.count() == 2
    workspace.show()
    qtbot.waitExposed(workspace)
    _click_row(qtbot, grid, 0)
    _click_row(qtbot, grid, 1, Qt.KeyboardModifier.ShiftModifier)
    assert sorted(h.record.prompt for h in workspace.results.selected_hits()) == [
        "a lighthouse at dusk", "a red fox in snow"]
    assert _menu_action(workspace, "Export selected…").isEnabled()


def test_import_with_broken_lines_names_them_and_imports_the_rest(qtbot, workspace, services, tmp_path):
    src = tmp_path / "mixed.jsonl"
    src.write_text('{"kind": "text", "prompt": "bad", "rating": 9}\nnot json\n{"kind": "text", "prompt": "fine"}\n')
    workspace.choose_path = lambda save: str(src)
    with qtbot.waitSignal(workspace.status_message, timeout=TIMEOUT) as blocker:
        workspace.import_dialog()
    assert blocker.args[0].startswith("Imported 1, skipped 0 duplicates, 2 broken lines. Skipped: line 1: 'rating'")
    assert "line 2: not valid JSON" in workspace.notice.text()
    assert services.opened_history_store.count() == 4


@pytest.mark.slow
def test_confirmed_delete_everything_removes_every_record_and_every_trace(qtbot, runner, genlab_home):
    """The whole path a person takes: search for it, look at it, then More ▸ Delete everything… ▸ Yes."""
    from desktop.core import paths
    from tests.support.traces import app_log, image_needles, saved_image, traces

    secret = "quibblefrostmarzipan"
    with app_log():
        services = Services()
        store = services.provide_history_store(HistoryStore(embedder=None, index_min_rows=20))
        image = saved_image("secret.png", f"a {secret} in the fog")
        store.save_many([GenerationRecord(kind="text", prompt=f"tell me about {secret}", output_text=secret,
                                          session_id="a", tags=[secret], note=secret)]
                        + [GenerationRecord(kind="image", prompt=f"a {secret} in the fog", session_id="b",
                                            image_path=str(image.path), image_sha256=image.sha256,
                                            thumbnail_path=str(image.thumbnail_path))]
                        + [GenerationRecord(kind="text", prompt=f"other record {i}", session_id="c")
                           for i in range(30)])
        store.maintain_now()
        w = HistoryWorkspace(services, runner)
        qtbot.addWidget(w)
        qtbot.waitUntil(lambda: w.last_result is not None, timeout=TIMEOUT)
        w.show()
        with qtbot.waitSignal(w.results_shown, timeout=TIMEOUT):
            w.search_box.setText(secret)
        assert len(w.results.hits) == 2
        w.grid_toggle.setChecked(True)  # thumbnails decoded and shown
        w.results.select_row(0)
        w.tag.setText(secret)
        w.date_from.setText(f"{secret} day")  # a bad filter: the error names what was typed
        qtbot.waitUntil(lambda: "not a date" in w.notice.text(), timeout=TIMEOUT)
        w.date_from.clear()
        needles = [secret.encode(), *image_needles(image)]
        assert traces(genlab_home, needles)

        asked = []
        w.confirm = lambda text: asked.append(text) or True
        with qtbot.waitSignal(w.status_message, timeout=TIMEOUT) as blocker:
            _menu_action(w, "Delete everything…").trigger()
        assert blocker.args[0] == "Deleted 32 record(s)."
        assert asked and "whole history" in asked[0]
        assert store.count() == 0
        qtbot.waitUntil(lambda: w.results.hits == [], timeout=TIMEOUT)
        assert not image.path.exists() and not image.thumbnail_path.exists()
        assert not any(p.is_file() for p in paths.outputs_dir().rglob("*"))
        services.close()
        assert traces(genlab_home, needles) == []


@pytest.mark.slow
def test_import_runs_on_a_worker_reports_totals_then_embedding_and_ends_searchable(qtbot, runner, genlab_home,
                                                                                     tmp_path):
    """A few hundred records: the GUI keeps handling timers throughout, the status bar shows the progress."""
    import json

    from PySide6.QtCore import QTimer

    from desktop.core.history.embedder import Embedder
    from desktop.ui.jobs_panel import JobStatus
    from desktop.ui.runner import RUNNING
    from tests.support.history import LateEmbedder

    real = Embedder()
    real.load()
    services = Services()
    # Records are saved while the embedder "loads", so the import embeds them afterwards, with progress.
    store = services.provide_history_store(HistoryStore(embedder=LateEmbedder(real)))
    w = HistoryWorkspace(services, runner)
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: w.last_result is not None, timeout=TIMEOUT)
    status = JobStatus(runner)
    qtbot.addWidget(status)
    src = tmp_path / "four-hundred.jsonl"
    lines = [{"kind": "text", "prompt": f"note {i} on tuning a bicycle derailleur"} for i in range(399)]
    lines.append({"kind": "text", "prompt": "How do I bake sourdough bread at home?"})
    src.write_text("".join(json.dumps(x) + "\n" for x in lines))

    ticks, seen_status = [0], set()

    def heartbeat():
        ticks[0] += 1
        seen_status.add(status.label.text())

    beat = QTimer()
    beat.setInterval(5)
    beat.timeout.connect(heartbeat)
    beat.start()
    deliveries = []  # (ticks so far, the job's state, the reports) for each progress signal the GUI got

    def watch():
        for handle in runner.active_jobs():
            if handle.name == "Import history" and not handle.property("watched"):
                handle.setProperty("watched", True)
                handle.progressed.connect(lambda batch, h=handle: deliveries.append((ticks[0], h.state, batch)))

    runner.queue_changed.connect(watch)
    w.choose_path = lambda save: str(src)
    with qtbot.waitSignal(w.status_message, timeout=120_000) as blocker:
        w.import_dialog()
    beat.stop()
    assert blocker.args[0] == "Imported 400, skipped 0 duplicates, 0 broken lines. Embedded 400."

    reports = [r for _, _, batch in deliveries for r in batch]
    reading = [r for r in reports if r.message.startswith("Read ")]
    embedding = [r for r in reports if r.message.startswith("Embedding ")]
    assert [(r.current, r.total) for r in reading] == [(100, 400), (200, 400), (300, 400), (400, 400)]
    assert embedding[-1].message == "Embedding 400 of 400 records" and embedding[-1].total == 400
    while_running = [t for t, state, _ in deliveries if state == RUNNING]
    assert len(while_running) >= 2 and while_running[-1] > while_running[0]  # timers ran during the import
    assert any(text.startswith("Import history — Embedding ") for text in seen_status)  # the status bar followed

    assert store.count("embedded = false") == 0
    w.mode.setCurrentIndex(w.mode.findData("semantic"))
    with qtbot.waitSignal(w.results_shown, timeout=TIMEOUT):
        w.search_box.setText("recipe for a homemade loaf")
    assert w.results.hits[0].record.prompt == "How do I bake sourdough bread at home?"
    services.close()


@pytest.mark.slow
def test_each_filter_widget_and_the_date_sort_narrow_the_results(qtbot, workspace, services):
    store = services.opened_history_store
    boat = next(r for r in store.iter_records() if "limerick" in r.prompt)
    store.update(boat.id, rating=4, tags=["sea"])
    imported = GenerationRecord(kind="text", prompt="A limerick about a kettle", origin="imported",
                                created_at=datetime(2026, 4, 1, tzinfo=timezone.utc))
    store.save_and_wait(imported)

    def shown_after(change) -> list[str]:
        with qtbot.waitSignal(workspace.results_shown, timeout=TIMEOUT):
            change()
        return _prompts(workspace)

    assert shown_after(lambda: workspace.model.setText("tiny-sd")) == ["a lighthouse at dusk"]
    workspace.model.clear()
    assert shown_after(lambda: workspace.rating.setCurrentIndex(workspace.rating.findData(3))) == [boat.prompt]
    workspace.rating.setCurrentIndex(0)
    assert shown_after(lambda: workspace.tag.setText("sea")) == [boat.prompt]
    workspace.tag.clear()
    assert shown_after(lambda: workspace.origin.setCurrentIndex(workspace.origin.findData("imported"))) == [
        imported.prompt]
    workspace.origin.setCurrentIndex(0)
    workspace.date_from.setText("2026-05-02")
    assert shown_after(lambda: workspace.date_to.setText("2026-05-02")) == [boat.prompt]
    workspace.date_from.clear()
    workspace.date_to.clear()
    workspace.mode.setCurrentIndex(workspace.mode.findData("keyword"))
    assert sorted(shown_after(lambda: workspace.search_box.setText("limerick"))) == sorted(
        [boat.prompt, imported.prompt])
    assert shown_after(lambda: workspace.sort.setCurrentIndex(workspace.sort.findData("date"))) == [
        boat.prompt, imported.prompt]  # newest first


def test_text_rows_show_the_reply_and_rewrap_when_the_list_narrows(qtbot, workspace):
    lst = workspace.results.list
    rows = {lst.item(i).data(HIT_ROLE).record.prompt: lst.item(i) for i in range(lst.count())
            if lst.item(i).data(HIT_ROLE) is not None}
    bread = rows["How do I bake sourdough bread?"]
    assert "→ Feed the starter." in lst.itemWidget(bread).text()  # the reply's start under the prompt
    assert "→" not in lst.itemWidget(rows["Write a limerick about a boat"]).text()  # no reply: no line
    workspace.show()
    workspace.resize(1600, 600)
    qtbot.waitUntil(lambda: lst.viewport().width() > 500)
    wide = bread.sizeHint().height()
    workspace.split.setSizes([RESULTS_MIN_WIDTH, 10_000])  # the handle dragged as far left as it goes
    qtbot.waitUntil(lambda: lst.viewport().width() < RESULTS_MIN_WIDTH)
    qtbot.waitUntil(lambda: bread.sizeHint().height() > wide)  # wrapped onto more lines, nothing clipped
    assert lst.horizontalScrollBarPolicy() == Qt.ScrollBarPolicy.ScrollBarAlwaysOff


NAVIGATION_WIDTH = 150  # the main window's workspace list beside the page


def test_the_workspace_fits_a_900_px_window_with_the_list_at_least_half(qtbot, workspace):
    assert workspace.minimumSizeHint().width() <= 900 - NAVIGATION_WIDTH
    assert workspace.details.minimumSizeHint().width() <= 420
    workspace.show()
    for width, share in ((1280 - NAVIGATION_WIDTH, 0.55), (900 - NAVIGATION_WIDTH, 0.47)):
        workspace.resize(width, 560)
        qtbot.waitUntil(lambda width=width: workspace.width() == width)
        split = workspace.split
        assert workspace.results.width() >= share * (split.width() - split.handleWidth())
        assert workspace.results.width() >= RESULTS_MIN_WIDTH
        assert workspace.details.width() >= workspace.details.minimumSizeHint().width()
