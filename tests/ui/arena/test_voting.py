"""The Arena workspace on real engines and a real history: blind cards, keys 1-4, names after the vote."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from desktop.core.arena.votes import A_BETTER, TIE, VoteStore
from desktop.ui.arena.view import ArenaWorkspace

pytest.importorskip("llama_cpp")


@pytest.fixture
def workspace(qtbot, services, runner, store):
    services.provide_history_store(store)
    services.set_history(store)
    w = ArenaWorkspace(services, runner)
    qtbot.addWidget(w)
    w.resize(1000, 700)
    w.show()
    return w


def _visible_text(w: ArenaWorkspace) -> str:
    return " ".join([w.pair.prompt.text(), w.pair.left.title(), w.pair.right.title(),
                     w.pair.left.text.toPlainText(), w.pair.right.text.toPlainText(), w.pair.reveal.text()])


@pytest.mark.slow
def test_voting_by_keyboard_reveals_the_names_after_each_vote(qtbot, workspace, store, stories260k, tiny_gguf):
    w = workspace
    w.setup.rows[0].model.setText(str(stories260k))
    w.setup.rows[1].model.setText(str(tiny_gguf))
    w.setup.typed.setPlainText("Once upon a time\nThe little dog\n")
    w.setup.max_tokens.setValue(6)
    with qtbot.waitSignal(w.pairs_ready, timeout=120000) as ready:
        w.generate()
    assert ready.args == [2]
    assert "Pair 1/2" in w.pair.prompt.text()
    assert (w.pair.left.title(), w.pair.right.title()) == ("A", "B")
    assert "stories260K" not in _visible_text(w) and "tiny-llama" not in _visible_text(w)

    qtbot.keyClick(w.pair, Qt.Key.Key_7)  # not a vote key: nothing happens, the pair stays votable
    assert w.pair.votable and w.current == 0
    with qtbot.waitSignal(w.vote_recorded, timeout=30000) as first:
        qtbot.keyClick(w.pair, Qt.Key.Key_1)
    match = w.matches[0]
    a, b = match.names()
    assert first.args[0].verdict == A_BETTER and first.args[0].a_label == a
    assert w.pair.reveal.text() == f"Pair 1: A was {a}, B was {b}."
    assert "Pair 2/2" in w.pair.prompt.text()
    with qtbot.waitSignal(w.vote_recorded, timeout=30000):
        qtbot.keyClick(w.pair, Qt.Key.Key_3)
    assert not w.pair.votable and "Every pair is voted on" in w.pair.prompt.text()
    votes = VoteStore.beside(store).list()
    assert [v.verdict for v in votes] == [A_BETTER, TIE]
    assert {v.a_record_id for v in votes} == {m.left.record.id for m in w.matches}

    w.tabs.setCurrentIndex(1)
    with qtbot.waitSignal(w.standings_shown, timeout=30000) as shown:
        w.board.refresh.click()
    assert shown.args[0].board.votes == 2 and w.board.table.rowCount() == 2
    assert {w.board.table.item(r, 1).text() for r in range(2)} == {"stories260K", "tiny-llama"}
    w.board.topic.setText("quantum chromodynamics")
    with qtbot.waitSignal(w.standings_shown, timeout=30000):
        w.board.refresh.click()
    assert w.board.notice.text() == "No text votes match the topic 'quantum chromodynamics'."
    assert w.board.table.isHidden()


def test_two_identical_models_are_refused_on_screen(qtbot, workspace, stories260k):
    w = workspace
    w.setup.rows[0].model.setText(str(stories260k))
    w.setup.rows[1].model.setText(str(stories260k))
    w.setup.typed.setPlainText("Once upon a time")
    with qtbot.waitSignal(w.status_message, timeout=30000, check_params_cb=lambda t: "same" in t):
        w.generate()
    assert "Two contenders are the same: stories260K" in w.error.text()
    assert not w.pair.votable


def test_incognito_refuses_to_generate(qtbot, workspace, stories260k, tiny_gguf):
    w = workspace
    w.services.settings.history.incognito = True
    w.setup.rows[0].model.setText(str(stories260k))
    w.setup.rows[1].model.setText(str(tiny_gguf))
    w.setup.typed.setPlainText("Once upon a time")
    with qtbot.waitSignal(w.status_message, timeout=5000):
        w.generate()
    assert "Incognito is on" in w.error.text() and w.matches == [] and w.start.isEnabled()
