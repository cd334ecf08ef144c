"""Grounded chat in the Chat workspace, on the real SmolLM2 and a real LanceDB collection: the thread's
collections, the sources shown before the reply, the nothing-found policies, [n] links that open the chunk,
and the chunk ids kept on the reply's record."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QUrl

pytest.importorskip("llama_cpp")

from desktop.core.knowledge.grounding import PARAMETERS_KEY, STOP  # noqa: E402
from desktop.ui.chat.grounding_choices import GroundingChoices  # noqa: E402
from desktop.ui.chat.message_text import RichText  # noqa: E402
from desktop.ui.chat.sources_card import SourcesCard  # noqa: E402

TIMEOUT = 60_000


@pytest.fixture
def history_store(services, genlab_home):
    """The history the replies are recorded in (keyword search only), opened before the workspace."""
    from desktop.core.history.store import HistoryStore

    store = services.provide_history_store(HistoryStore(embedder=None, idle_seconds=3600))
    services.set_history(store)
    return store


@pytest.fixture
def notes(services, history_store, tmp_path):
    """An indexed collection "notes" of two small documents."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "otters.md").write_text("# Otters\n\nSea otters hold hands while they sleep.\n\n## Food\n\n"
                                    "Sea otters eat sea urchins, crabs and clams.\n")
    (docs / "lighthouse.txt").write_text("Lighthouses guide ships at night with bright lamps.\n")
    services.knowledge.add("notes", [docs])
    services.knowledge.index("notes")
    return docs


@pytest.fixture
def chat(qtbot, history_store, notes, workspace):
    """The Chat workspace with "notes" in its collections menu."""
    qtbot.waitUntil(lambda: "notes" in workspace.grounding.bar.available_names(), timeout=TIMEOUT)
    return workspace


def _send(qtbot, ws, text, max_tokens=40):
    ws.settings_panel.apply_preset("Precise (greedy)")
    ws.settings_panel.max_tokens.setValue(max_tokens)
    ws.input.setPlainText(text)
    ws.generate()
    qtbot.waitUntil(lambda: not ws.busy, timeout=TIMEOUT)


def test_the_collections_choice_belongs_to_its_thread_and_is_kept(qtbot, chat, services):
    bar = chat.grounding.bar
    assert bar.picker.text() == "Nothing (plain chat)" and not bar.threshold.isVisibleTo(bar)
    first = chat.thread
    [notes_action] = [a for a in bar.menu.actions() if a.data() == "notes"]
    notes_action.trigger()
    bar.threshold.setValue(0.45)
    assert bar.picker.text() == "notes" and bar.threshold.isVisibleTo(bar)
    chat.new_chat_button.click()
    assert chat.thread is not first and bar.picker.text() == "Nothing (plain chat)"
    assert bar.threshold.value() == pytest.approx(0.30)
    chat.thread_panel.select(first)
    chat._select_thread(first)
    assert bar.picker.text() == "notes" and bar.threshold.value() == pytest.approx(0.45)
    saved = GroundingChoices().get(first.id)  # read back from the file, as after a restart
    assert saved.collections == ["notes"] and saved.threshold == pytest.approx(0.45)


@pytest.mark.slow
def test_sources_come_before_the_reply_and_its_citations_open_the_chunk(qtbot, chat, smollm2, load, history_store):
    load(chat, smollm2)
    chat.grounding.bar.toggle("notes", True)
    seen = []

    def sources_shown(grounding):
        card = chat.transcript.cards()[-1]
        seen.append((grounding, card.findChild(SourcesCard) is not None, card.body.plain_text()))

    chat.grounding.sources_shown.connect(sources_shown)
    with qtbot.waitSignal(chat.reply_finished, timeout=TIMEOUT) as blocker:
        _send(qtbot, chat, "Repeat exactly: Sea otters eat sea urchins [1].")
    [(grounding, card_shown, text_then)] = seen
    assert card_shown and text_then == ""  # the sources were on screen before any of the reply
    assert grounding.sources[0].title == "otters.md"
    result = blocker.args[0]
    assert "[1]" in result.text

    card = chat.transcript.cards()[-1]
    sources = card.findChild(SourcesCard)
    assert sources is not None and "[1] otters.md · Otters › Food" in sources.plain_text()
    view = next(v for v in card.body.views() if isinstance(v, RichText))
    assert '<a href="cite:1">[1]</a>' in view.source_html
    with qtbot.waitSignal(chat.grounding.citation_opened, timeout=TIMEOUT) as opened:
        view.anchorClicked.emit(QUrl("cite:1"))
    popup = opened.args[0]
    assert "sea urchins" in popup.text.toPlainText() and popup.isVisible()
    urls = []
    popup.open_url = lambda url: urls.append(url.toLocalFile()) or True
    popup.open_button.click()
    assert urls == [grounding.sources[0].path]

    history_store.flush()  # the store writes on its own thread
    record = history_store.get(result.record_id)
    used = record.parameters[PARAMETERS_KEY]
    assert [c["id"] for c in used["chunks"]] == [s.chunk_id for s in grounding.sources]
    assert record.prompt == "Repeat exactly: Sea otters eat sea urchins [1]."  # the question, not the packed prompt


@pytest.mark.slow
def test_nothing_relevant_is_said_and_the_reply_comes_without_sources(qtbot, chat, smollm2, load, history_store):
    load(chat, smollm2)
    chat.grounding.bar.toggle("notes", True)
    with qtbot.waitSignal(chat.reply_finished, timeout=TIMEOUT) as blocker:
        _send(qtbot, chat, "Tell me about zeppelins", max_tokens=8)
    sources = chat.transcript.cards()[-1].findChild(SourcesCard)
    assert sources is not None and not sources.lines
    assert "Nothing relevant was found in 'notes'" in sources.message.text()
    assert "answering without them" in sources.message.text()
    history_store.flush()
    record = history_store.get(blocker.args[0].record_id)
    assert record.parameters[PARAMETERS_KEY]["outcome"] == "nothing_relevant"


@pytest.mark.slow
def test_the_stop_policy_gives_no_reply_and_says_why(qtbot, chat, smollm2, load):
    load(chat, smollm2)
    bar = chat.grounding.bar
    bar.toggle("notes", True)
    bar.no_context.setCurrentIndex(bar.no_context.findData(STOP))
    _send(qtbot, chat, "Tell me about zeppelins")
    assert [t.role for t in chat.thread.path()] == ["user"]  # no reply was made
    assert "so there is no answer" in chat.banner.text() and not chat.banner.isHidden()
    assert "Lower the threshold" in chat.banner.text()


@pytest.mark.slow
def test_a_collection_that_is_not_indexed_is_refused_with_a_reason(qtbot, chat, smollm2, load, services, tmp_path):
    empty = tmp_path / "later"
    empty.mkdir()
    services.knowledge.add("later", [empty])
    load(chat, smollm2)
    chat.grounding.bar.toggle("later", True)
    _send(qtbot, chat, "What do sea otters eat?")
    assert [t.role for t in chat.thread.path()] == ["user"]
    assert "has not been indexed yet" in chat.status.text()


@pytest.mark.slow
def test_a_rerun_of_a_grounded_reply_uses_the_chunks_it_used(qtbot, chat, smollm2, load, history_store):
    load(chat, smollm2)
    chat.grounding.bar.toggle("notes", True)
    with qtbot.waitSignal(chat.reply_finished, timeout=TIMEOUT) as blocker:
        _send(qtbot, chat, "What do sea otters eat?", max_tokens=16)
    first = chat.grounding.grounding_of(chat.thread.last.id)
    history_store.flush()
    record = history_store.get(blocker.args[0].record_id)
    chat.grounding.bar.toggle("notes", False)  # the re-run must not depend on what the bar says now
    shown = []
    chat.grounding.sources_shown.connect(shown.append)
    with qtbot.waitSignal(chat.reply_finished, timeout=TIMEOUT) as again:
        chat.rerun_record(record, str(smollm2))
    qtbot.waitUntil(lambda: not chat.busy, timeout=TIMEOUT)
    assert [s.chunk_id for s in shown[0].sources] == [s.chunk_id for s in first.sources]
    assert again.args[0].text == record.output_text
    assert chat.status.text() == "The re-run matches the recorded reply exactly."


@pytest.mark.slow
def test_after_a_restart_a_grounded_reply_shows_its_sources_again(qtbot, chat, smollm2, load, history_store,
                                                                   services, runner):
    from desktop.ui.chat.view import ChatWorkspace

    load(chat, smollm2)
    chat.grounding.bar.toggle("notes", True)
    _send(qtbot, chat, "What do sea otters eat?", max_tokens=8)
    used = [s.chunk_id for s in chat.grounding.grounding_of(chat.thread.last.id).sources]
    thread_id = chat.thread.id
    history_store.flush()
    later = ChatWorkspace(services, runner)  # as the next start builds it: threads rebuilt from the history
    qtbot.addWidget(later)
    qtbot.waitUntil(lambda: any(t.id == thread_id for t in later.threads), timeout=TIMEOUT)
    thread = next(t for t in later.threads if t.id == thread_id)
    later._select_thread(thread)
    assert later.grounding.bar.picker.text() == "notes"  # the thread's choice was kept
    qtbot.waitUntil(lambda: later.transcript.cards()[-1].findChild(SourcesCard) is not None, timeout=TIMEOUT)
    reply = later.transcript.cards()[-1]
    assert [s.chunk_id for s in reply.findChild(SourcesCard).grounding.sources] == used


def test_a_reply_whose_record_is_not_written_yet_reads_no_sources_and_reports_no_failure(qtbot, chat, runner):
    # A plain reply's card asks the history for its sources at once; the store may not have written it yet.
    handles = []
    submit = runner.submit
    runner.submit = lambda job, **kw: handles.append(submit(job, **kw)) or handles[-1]
    failures = []
    chat.grounding._read_back("turn-1", "record-not-written-yet")
    [handle] = handles
    handle.failed.connect(lambda message, _tb: failures.append(message))
    with qtbot.waitSignal(handle.ended, timeout=TIMEOUT):
        pass
    assert failures == [] and chat.grounding.grounding_of("turn-1") is None
