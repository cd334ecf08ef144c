"""Export dataset… on a real history: both formats with the CLI's filters, counts shown, "nothing matched" plain."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.json as pj
import pytest

from desktop.core.arena.votes import Vote, VoteStore
from desktop.ui.datasets.dialog import ExportDialog
from tests.support.history import make_record

TIMEOUT = 30000


@pytest.fixture
def filled(services, store):
    services.provide_history_store(store)
    records = [make_record("Write a haiku", output_text="Leaves fall", rating=5, tags=["poems"]),
               make_record("  write a HAIKU ", output_text="leaves  FALL", rating=4, tags=["poems"]),  # exact dup
               make_record("Explain DNS", output_text="Names to numbers", rating=2),
               make_record("Unrated", output_text="x", rating=0)]
    a, b = make_record("Say hi", output_text="Hello!"), make_record("Say hi", output_text="hi hi")
    store.save_many(records + [a, b])
    votes = VoteStore.beside(store)
    votes.add(Vote(kind="text", prompt="Say hi", a_label="smol", a_record_id=a.id, b_label="stories",
                   b_record_id=b.id, verdict="a"))
    votes.add(Vote(kind="text", prompt="Say hi", a_label="smol", a_record_id=a.id, b_label="stories",
                   b_record_id=b.id, verdict="tie"))
    store.flush()
    return records


@pytest.fixture
def dialog(qtbot, services, runner, filled):
    d = ExportDialog(services, runner)
    qtbot.addWidget(d)
    d.show()
    return d


def _export(qtbot, d: ExportDialog, signal):
    with qtbot.waitSignal(signal, timeout=TIMEOUT) as done:
        d.export_button.click()
    qtbot.waitUntil(d.export_button.isEnabled, timeout=TIMEOUT)
    return done.args[0]


def test_an_sft_export_with_filters_shows_its_counts_and_reads_back(qtbot, dialog, tmp_path):
    d = dialog
    d.path.setText(str(tmp_path / "poems.jsonl"))
    d.rating.setValue(4)
    d.tag.setText("poems")
    result = _export(qtbot, d, d.exported)
    assert (result.rows, result.matched, result.dropped.exact) == (1, 2, 1)
    assert "Wrote 1 rows to" in d.shown_text() and "1 exact duplicates dropped" in d.shown_text()
    table = pj.read_json(tmp_path / "poems.jsonl")
    assert table.schema.field("rating").type == pa.int64() and table.schema.field("origin").type == pa.string()
    assert table.to_pylist()[0]["messages"][-1] == {"role": "assistant", "content": "Leaves fall"}

    d.near.setChecked(True)
    d.rating.setValue(0)
    d.tag.clear()
    d.path.setText(str(tmp_path / "all.jsonl"))
    result = _export(qtbot, d, d.exported)
    assert result.rows == 2 and result.near_threshold == pytest.approx(0.95)
    assert "0 near duplicates at cosine >= 0.95 dropped" in d.shown_text()
    assert "not checked for near duplicates" in d.shown_text()  # the test store has no embedder
    rows = pj.read_json(tmp_path / "all.jsonl")
    assert {type(v) for v in rows.column("tags").to_pylist()} == {list}


def test_a_selection_that_matches_nothing_says_so_and_writes_nothing(qtbot, dialog, tmp_path):
    d = dialog
    out = tmp_path / "none.jsonl"
    d.path.setText(str(out))
    d.model.setText("nobody")
    shown = _export(qtbot, d, d.nothing_matched)
    assert shown.startswith("Nothing matched: No text record") and "model=nobody" in shown
    assert d.shown_text() == shown and not out.exists()
    d.model.clear()
    d.query.setText("zebra")
    d.mode.setCurrentText("keyword")
    assert "matches the search 'zebra'" in _export(qtbot, d, d.nothing_matched)
    d.query.clear()
    d.experiment.setText("nowhere")
    assert "No experiment is named 'nowhere'" in _export(qtbot, d, d.export_failed)
    d.experiment.clear()
    d.path.clear()
    d.export_button.click()
    assert "No file is chosen" in d.shown_text()
    assert not out.exists()


def test_the_preference_set_from_the_arena_leaderboard(qtbot, services, runner, filled, tmp_path):
    from desktop.ui.arena.view import ArenaWorkspace

    w = ArenaWorkspace(services, runner)
    qtbot.addWidget(w)
    w.tabs.setCurrentIndex(1)
    with qtbot.waitSignal(w.export_opened, timeout=TIMEOUT) as opened:
        w.board.export.click()
    d = opened.args[0]
    assert d.format.currentData() == "preference" and d.path.text().endswith("arena-preferences.jsonl")
    d.path.setText(str(tmp_path / "dpo.jsonl"))
    result = _export(qtbot, d, d.exported)
    assert (result.rows, result.left_out) == (1, 1)
    assert "1 ties and 'both bad' votes were left out" in d.shown_text()
    table = pj.read_json(tmp_path / "dpo.jsonl")
    assert all(table.schema.field(n).type == pa.string() for n in ("prompt", "chosen", "rejected", "origin"))
    assert table.to_pylist()[0]["chosen"] == "Hello!"
    d.close()


def test_history_opens_the_dialog_with_its_filters(qtbot, services, runner, filled):
    from desktop.ui.history.view import HistoryWorkspace

    h = HistoryWorkspace(services, runner)
    qtbot.addWidget(h)
    h.tag.setText("poems")
    h.search_box.setText("haiku")
    d = h.export_dataset_dialog()
    qtbot.addWidget(d)
    assert d.format.currentData() == "sft" and d.tag.text() == "poems" and d.query.text() == "haiku"
    assert "Export dataset…" in [a.text() for a in h.more.menu().actions()]
