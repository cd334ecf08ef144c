"""pytest-qt tests of the Chat workspace on real llama.cpp with the tiny GGUF."""

from __future__ import annotations

import pytest

from desktop.core.text.thread import ChatThread

pytest.importorskip("llama_cpp")

from desktop.ui.chat.view import ChatWorkspace  # noqa: E402

TIMEOUT = 30_000


@pytest.fixture
def loaded(qtbot, workspace, tiny_gguf, load):
    load(workspace, tiny_gguf)
    return workspace


@pytest.mark.slow
def test_send_is_disabled_until_model_and_text(qtbot, workspace, tiny_gguf, load):
    workspace.input.setPlainText("hello")
    assert not workspace.send_button.isEnabled()  # no model yet
    load(workspace, tiny_gguf)
    assert workspace.send_button.isEnabled()
    workspace.input.setPlainText("   ")
    assert not workspace.send_button.isEnabled()
    workspace.generate()
    assert "Type a message" in workspace.status.text()
    assert workspace.thread.path() == []


def test_picker_lists_library_models(qtbot, services, runner, tiny_gguf):
    from desktop.core.models.library import Library

    model = Library().add_path(tiny_gguf, source="imported", owned=False)
    ws = ChatWorkspace(services, runner)
    qtbot.addWidget(ws)
    index = ws.model_bar.picker.findData(model.path)
    assert index >= 0 and ws.model_bar.picker.itemText(index) == model.name


def test_model_card_before_loading(qtbot, workspace, stories260k):
    workspace.model_bar.select_path(str(stories260k))
    qtbot.waitUntil(lambda: "Not loaded" in workspace.model_bar.card.text(), timeout=TIMEOUT)
    card = workspace.model_bar.card.text()
    assert "stories260K.gguf" in card and "none: completion mode" in card and "2,048 tokens" in card


@pytest.mark.slow
def test_model_card_shows_metadata(qtbot, workspace, tiny_gguf, load):
    loaded_model = load(workspace, tiny_gguf)
    card = workspace.model_bar.card.text()
    for fragment in ("Loaded", "llama", "F32", "2,048 tokens", "yes (from the file)", loaded_model.gpu.reason):
        assert fragment in card


@pytest.mark.slow
def test_loaded_card_collapses_so_the_conversation_gets_the_height(qtbot, workspace, tiny_gguf, load, send):
    workspace.resize(900 - 150, 600 - 60)  # the workspace's share of a 900x600 window
    workspace.show()
    qtbot.waitExposed(workspace)
    bar = workspace.model_bar
    bar.select_path(str(tiny_gguf))
    qtbot.waitUntil(lambda: "Not loaded" in bar.card.text(), timeout=TIMEOUT)
    assert bar.card.isVisible() and not bar.summary.isVisible()  # the whole card helps to choose
    load(workspace, tiny_gguf)
    assert bar.collapsed and not bar.card.isVisible() and bar.summary.isVisible()
    assert bar.summary.text() == "tiny-llama · 2,048 ctx · CPU"
    assert "F32" in bar.summary.toolTip()  # the whole card, on hover
    qtbot.waitUntil(lambda: bar.height() <= 3 * bar.picker.height() + 20, timeout=5000)
    assert workspace.transcript.height() > workspace.height() / 2
    bar.details_button.click()
    assert bar.card.isVisible() and not bar.collapsed
    bar.details_button.click()
    assert not bar.card.isVisible()
    send(workspace, "hello")
    assert " tok/s" in bar.summary.text()


@pytest.mark.slow
def test_load_status_names_the_model_and_the_real_time(qtbot, workspace, tiny_gguf, load):
    import re

    load(workspace, tiny_gguf)
    match = re.fullmatch(r"Loaded tiny-llama \(llama\) in (\d+ ms|\d+\.\d s|\d+ s)\. CPU: .*",
                         workspace.status.text())
    assert match and match.group(1) != "0 ms"  # the whole load (hash, test load), not 0
    with qtbot.waitSignal(workspace.model_changed, timeout=TIMEOUT):
        workspace.model_bar.load_button.click()
    qtbot.waitUntil(lambda: not workspace.busy, timeout=TIMEOUT)
    assert workspace.status.text() == "tiny-llama (llama) is already loaded."


@pytest.mark.slow
def test_no_chat_template_note_shows_once(qtbot, workspace, tmp_path, load, send):
    from desktop.core.text.prompt import NO_TEMPLATE_NOTE
    from desktop.core.tiny_models import write_tiny_gguf

    load(workspace, write_tiny_gguf(tmp_path / "plain.gguf", chat_template=False))
    first = send(workspace, "one")
    send(workspace, "two")
    assert NO_TEMPLATE_NOTE in first.note  # the record keeps it; the screen says it once
    bar = workspace.model_bar
    shown = [workspace.transcript.toPlainText(), workspace.status.text(), workspace.stats.text(),
             workspace.banner.text(), bar.summary.text(), bar.card.text()]
    assert sum(text.count(NO_TEMPLATE_NOTE) for text in shown) == 1
    assert NO_TEMPLATE_NOTE in bar.card.text() and "no chat template" in bar.summary.text()


@pytest.mark.slow
def test_empty_hint_points_to_the_models_workspace(qtbot, workspace, tiny_gguf, load):
    workspace.show()
    hint = workspace.model_bar.hint
    assert hint.isVisible() and "Models → Catalog" in hint.text() and "No chat model yet" in hint.text()
    assert not workspace.model_bar.card.isVisible()  # nothing picked: the hint alone says what to do
    with qtbot.waitSignal(workspace.open_models_requested, timeout=1000):
        hint.linkActivated.emit("models")  # what clicking the link emits
    load(workspace, tiny_gguf)
    assert not hint.isVisible()
    with qtbot.waitSignal(workspace.model_changed, timeout=TIMEOUT) as blocker:
        workspace.model_bar.unload_button.click()
    qtbot.waitUntil(lambda: not workspace.busy, timeout=TIMEOUT)
    assert blocker.args == [None] and hint.isVisible() and "Press Load to chat with tiny-llama.gguf" in hint.text()
    bar = workspace.model_bar
    assert "Not loaded" in bar.card.text() and bar.card.isVisible() and not bar.summary.isVisible()


@pytest.mark.slow
def test_main_window_opens_models_from_the_chat_hint(qtbot, runner, services):
    from desktop.ui.main_window import WORKSPACES, MainWindow

    window = MainWindow(services, runner, start_services=False)
    qtbot.addWidget(window)
    window.workspace("chat").model_bar.hint.linkActivated.emit("models")
    assert WORKSPACES[window.stack.currentIndex()].key == "models"
    models = window.current_workspace()
    assert models.tabs.currentWidget() is models.catalog_tab  # where a first model is picked


def test_long_thread_titles_elide_instead_of_scrolling(qtbot, workspace):
    workspace.resize(1280, 800)
    workspace.show()
    qtbot.waitExposed(workspace)
    thread = ChatThread()
    thread.add("user", "Once upon a time there was a little robot who wanted to see the sea " * 3, None)
    workspace.thread_panel.add(thread)
    listing = workspace.thread_list
    item = listing.item(0)  # the newest on top
    assert item.toolTip().startswith(thread.title[:30])
    assert listing.visualItemRect(item).width() <= listing.viewport().width()
    assert not listing.horizontalScrollBar().isVisible()


@pytest.mark.slow
def test_send_streams_reply_records_history_and_shows_stats(qtbot, loaded, services, send):
    result = send(loaded, "Tell me a story", max_tokens=16)
    assert result.completion_tokens == 16 and result.mode == "chat"
    path = loaded.thread.path()
    assert [t.role for t in path] == ["user", "assistant"]
    assert path[1].content == result.text and path[1].record_id == result.record_id
    assert result.text.strip().split()[0] in loaded.transcript.toPlainText()
    assert "tok/s" in loaded.stats.text() and "16 generated" in loaded.stats.text()
    record = services.history.records[-1]
    assert record.id == result.record_id and record.session_id == loaded.thread.id
    assert record.output_text == result.text


@pytest.mark.slow
def test_second_turn_links_to_the_previous_record(qtbot, loaded, services, send):
    first = send(loaded, "one")
    second = send(loaded, "two")
    assert services.history.records[-1].parent_id == first.record_id
    assert second.prompt_tokens > first.prompt_tokens  # the first exchange is in the prompt


@pytest.mark.slow
def test_stop_mid_stream_keeps_partial(qtbot, loaded):
    loaded.settings_panel.apply_preset("Precise (greedy)")
    loaded.settings_panel.max_tokens.setValue(1900)
    loaded.input.setPlainText("go on")
    with qtbot.waitSignal(loaded.reply_finished, timeout=TIMEOUT) as blocker:
        loaded.generate()
        qtbot.waitUntil(lambda: loaded.thread.last.role == "assistant" and "tok/s" in loaded.stats.text(),
                        timeout=TIMEOUT)
        live_stats = loaded.stats.text()
        loaded.stop()
    assert "prompt +" in live_stats and "/ 2048" in live_stats
    result = blocker.args[0]
    assert result.finish_reason == "cancelled" and 0 < result.completion_tokens < 1900
    assert loaded.thread.last.content == result.text and "stopped" in loaded.thread.last.note


@pytest.mark.slow
def test_stop_can_discard_partial(qtbot, loaded, services):
    loaded.settings_panel.keep_partial.setChecked(False)
    loaded.settings_panel.max_tokens.setValue(1900)
    loaded.input.setPlainText("go on")
    before = len(services.history.records)
    with qtbot.waitSignal(loaded.runner.queue_changed, timeout=TIMEOUT):
        loaded.generate()
    loaded.stop()
    qtbot.waitUntil(lambda: not loaded.busy, timeout=TIMEOUT)
    assert "discarded" in loaded.status.text()
    assert [t.role for t in loaded.thread.path()] == ["user"]
    assert len(services.history.records) == before


@pytest.mark.slow
def test_regenerate_keeps_the_old_reply_as_a_branch(qtbot, loaded, send):
    send(loaded, "hello")
    old = loaded.thread.last
    loaded.settings_panel.seed.setValue(1)
    loaded.settings_panel.temperature.setValue(1.5)
    with qtbot.waitSignal(loaded.reply_finished, timeout=TIMEOUT):
        loaded.transcript.action.emit("regenerate", old.id)
    qtbot.waitUntil(lambda: not loaded.busy, timeout=TIMEOUT)
    new = loaded.thread.last
    assert new.id != old.id and loaded.thread.siblings(new.id) == (2, 2)
    assert "2/2" in loaded.transcript.toPlainText()
    loaded.transcript.action.emit("prev", new.id)
    assert loaded.thread.last.id == old.id
    assert old.content.strip()[:10] in loaded.transcript.toPlainText()


@pytest.mark.slow
def test_edit_and_resend_creates_a_branch(qtbot, loaded, send):
    send(loaded, "first version")
    user = loaded.thread.path()[0]
    loaded.transcript.action.emit("edit", user.id)
    assert loaded.input.toPlainText() == "first version" and loaded.banner.isVisible() is not None
    loaded.input.setPlainText("second version")
    with qtbot.waitSignal(loaded.reply_finished, timeout=TIMEOUT):
        loaded.generate()
    qtbot.waitUntil(lambda: not loaded.busy, timeout=TIMEOUT)
    path = loaded.thread.path()
    assert path[0].content == "second version" and loaded.thread.siblings(path[0].id) == (2, 2)
    assert "first version" not in loaded.transcript.toPlainText()
    loaded.transcript.action.emit("prev", path[0].id)
    assert loaded.thread.path()[0].content == "first version"
    assert len(loaded.thread.path()) == 2  # the old reply is still there


@pytest.mark.slow
def test_copy_and_delete_a_turn(qtbot, loaded, send):
    from PySide6.QtWidgets import QApplication

    result = send(loaded, "copy me")
    reply = loaded.thread.last
    loaded.transcript.action.emit("copy", reply.id)
    assert QApplication.clipboard().text() == result.text
    loaded.transcript.action.emit("delete", reply.id)
    assert [t.role for t in loaded.thread.path()] == ["user"]
    assert "Deleted 1 message" in loaded.status.text()


@pytest.mark.slow
def test_new_chat_starts_an_empty_thread(qtbot, loaded, send):
    send(loaded, "first chat")
    first = loaded.thread
    loaded.new_chat()
    assert loaded.thread is not first and loaded.thread.path() == []
    assert loaded.transcript.toPlainText().strip() == ""
    assert loaded.threads[0] is loaded.thread  # the newest chat is on top
    loaded.thread_list.setCurrentRow(1)
    assert loaded.thread is first and "first chat" in loaded.transcript.toPlainText()


def test_presets_save_load_delete(qtbot, workspace, services):
    panel = workspace.settings_panel
    panel.temperature.setValue(0.33)
    panel.top_k.setValue(7)
    assert panel.save_preset_as("Mine")
    assert services.settings.text.presets["Mine"]["top_k"] == 7
    panel.apply_preset("Balanced")
    assert panel.top_k.value() == 40
    panel.apply_preset("Mine")
    assert panel.top_k.value() == 7 and abs(panel.temperature.value() - 0.33) < 1e-9
    panel.delete_preset("Mine")
    assert "Mine" not in services.settings.text.presets
    assert panel.presets.findText("Mine") < 0


@pytest.mark.slow
def test_out_of_range_sampling_cannot_be_typed_and_what_is_left_is_said_in_screen_words(qtbot, loaded):
    panel = loaded.settings_panel
    for widget, value, kept in ((panel.temperature, -0.5, 0.0), (panel.top_p, 0.0, 0.01), (panel.top_p, 1.5, 1.0),
                                (panel.max_tokens, 0, 1), (panel.repeat_penalty, 0.0, 0.01), (panel.top_k, -1, 0)):
        panel.apply_preset("Balanced")
        widget.setValue(value)
        assert widget.value() == pytest.approx(kept)
        panel.sampling().validated()  # what the boxes hold is always valid
    panel.apply_preset("Balanced")
    panel.stop_strings.setText(" | ".join(f"s{i}" for i in range(17)))
    loaded.input.setPlainText("hi")
    loaded.generate()
    assert loaded.status.text().startswith("Stop strings has 17 entries")  # the label on screen, not "stop"
    assert loaded.thread.path() == [] and not loaded.busy


@pytest.mark.slow
def test_overflow_offers_to_drop_oldest_turns(qtbot, workspace, tiny_gguf, load):
    workspace.settings_panel.context.setValue(128)
    load(workspace, tiny_gguf)
    thread = workspace.thread
    parent = None
    for i in range(10):
        parent = thread.add("user", f"question {i} about the cat", parent).id
        parent = thread.add("assistant", "the dog ran home", parent).id
    workspace.transcript.show_thread(thread)
    workspace.settings_panel.apply_preset("Precise (greedy)")
    workspace.settings_panel.max_tokens.setValue(16)
    workspace.input.setPlainText("and then?")
    workspace.generate()
    qtbot.waitUntil(lambda: not workspace.busy and workspace.banner_action.isVisibleTo(workspace),
                    timeout=TIMEOUT)
    assert "context of 128" in workspace.banner.text()
    assert thread.last.role == "user"  # nothing was generated
    with qtbot.waitSignal(workspace.reply_finished, timeout=TIMEOUT) as blocker:
        workspace.banner_action.click()
    assert "Dropped the" in blocker.args[0].note and blocker.args[0].completion_tokens == 16


@pytest.mark.slow
def test_megabyte_prompt_says_it_does_not_fit(qtbot, loaded, services, send):
    loaded.input.setPlainText("the cat sat. " * 80_000)
    loaded.generate()
    qtbot.waitUntil(lambda: not loaded.busy and loaded.banner.isVisibleTo(loaded), timeout=TIMEOUT)
    assert "more than the model's context of 2,048 tokens" in loaded.banner.text()
    assert not loaded.banner_action.isVisibleTo(loaded)  # no older turns to drop
    assert services.history.records == []
    send(loaded, "short one")  # the chat still works
    assert services.history.records[-1].prompt == "short one"


@pytest.mark.slow
def test_nul_and_emoji_prompt(qtbot, loaded, services, send):
    result = send(loaded, "a\x00b 😀🎉")
    assert result.completion_tokens == 12
    assert services.history.records[-1].prompt == "a\x00b 😀🎉"


def test_stop_during_load(qtbot, workspace, tmp_path):
    from desktop.core.tiny_models import write_tiny_gguf

    path = write_tiny_gguf(tmp_path / "fresh.gguf", seed=11)
    workspace.load_model(str(path))
    workspace.stop()
    qtbot.waitUntil(lambda: not workspace.busy, timeout=TIMEOUT)
    assert "Loading stopped" in workspace.status.text()
    assert workspace.engine.loaded is None


def test_markdown_reply_renders_code_in_monospace(qtbot, workspace):
    thread = ChatThread()
    user = thread.add("user", "code please", None)
    thread.add("assistant", "Here:\n\n```python\nprint('hi')\n```\n", user.id)
    workspace.transcript.show_thread(thread)
    assert "monospace" in workspace.transcript.toHtml()
    assert "print('hi')" in workspace.transcript.toPlainText()
    assert "```" not in workspace.transcript.toPlainText()  # rendered, not shown as source


@pytest.mark.slow
def test_hundreds_of_turns_render(qtbot, workspace):
    thread = ChatThread()
    parent = None
    for i in range(300):
        parent = thread.add("user" if i % 2 == 0 else "assistant", f"message number {i}", parent).id
    workspace.transcript.show_thread(thread)
    text = workspace.transcript.toPlainText()
    assert "message number 0" in text and "message number 299" in text


def test_the_library_is_read_once_at_start_and_again_when_the_workspace_comes_back(qtbot, services, runner,
                                                                                tiny_gguf, monkeypatch):
    from desktop.core.models.library import Library

    reads = []
    models = Library.models
    monkeypatch.setattr(Library, "models", lambda self, *a, **k: reads.append(1) or models(self, *a, **k))
    ws = ChatWorkspace(services, runner)
    qtbot.addWidget(ws)
    ws.show()  # shown at once, as the main window does with its first workspace
    assert len(reads) == 1
    qtbot.waitUntil(lambda: not ws._library_fresh, timeout=TIMEOUT)  # the start's read is no longer fresh
    ws.hide()
    added = Library().import_path(tiny_gguf, "link")  # added in the Models workspace meanwhile
    reads.clear()
    ws.show()
    assert len(reads) == 1 and ws.model_bar.picker.findData(added.path) >= 0


# --- sending with Enter ------------------------------------------------------------------------

@pytest.mark.slow
def test_enter_sends_and_shift_enter_adds_a_line(qtbot, loaded):
    from PySide6.QtCore import Qt

    loaded.settings_panel.apply_preset("Precise (greedy)")
    loaded.settings_panel.max_tokens.setValue(4)
    loaded.input.setFocus()
    qtbot.keyClicks(loaded.input, "first line")
    qtbot.keyClick(loaded.input, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(loaded.input, "second line")
    assert loaded.input.toPlainText() == "first line\nsecond line" and loaded.thread.path() == []
    with qtbot.waitSignal(loaded.reply_finished, timeout=TIMEOUT):
        qtbot.keyClick(loaded.input, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not loaded.busy, timeout=TIMEOUT)
    assert loaded.thread.path()[0].content == "first line\nsecond line" and loaded.input.toPlainText() == ""
    assert "Enter to send" in loaded.input.placeholderText()


@pytest.mark.slow
def test_the_send_key_can_be_ctrl_enter(qtbot, loaded, services):
    from PySide6.QtCore import Qt

    services.settings.text.chat_send_key = "ctrl+enter"
    loaded.settings_panel.apply_preset("Precise (greedy)")
    loaded.settings_panel.max_tokens.setValue(4)
    qtbot.keyClicks(loaded.input, "one")
    qtbot.keyClick(loaded.input, Qt.Key.Key_Return)
    qtbot.keyClicks(loaded.input, "two")
    assert loaded.input.toPlainText() == "one\ntwo" and loaded.thread.path() == []
    with qtbot.waitSignal(loaded.reply_finished, timeout=TIMEOUT):
        qtbot.keyClick(loaded.input, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not loaded.busy, timeout=TIMEOUT)
    assert loaded.thread.path()[0].content == "one\ntwo"


def test_preferences_choose_the_send_key_and_the_model_reload(qtbot, services):
    from desktop.ui.preferences import PreferencesDialog

    assert services.settings.text.chat_send_key == "enter" and services.settings.text.chat_reload_last_model
    dialog = PreferencesDialog(services.settings)
    qtbot.addWidget(dialog)
    dialog.send_key.setCurrentIndex(dialog.send_key.findData("ctrl+enter"))
    dialog.reload_model.setChecked(False)
    dialog.accept()
    assert dialog.result_settings.text.chat_send_key == "ctrl+enter"
    assert dialog.result_settings.text.chat_reload_last_model is False


# --- old status texts go -------------------------------------------------------------------------

@pytest.mark.slow
def test_stopped_is_cleared_when_regenerating(qtbot, loaded):
    loaded.settings_panel.apply_preset("Precise (greedy)")
    loaded.settings_panel.max_tokens.setValue(1900)
    loaded.input.setPlainText("go on")
    with qtbot.waitSignal(loaded.reply_finished, timeout=TIMEOUT):
        loaded.generate()
        qtbot.waitUntil(lambda: "tok/s" in loaded.stats.text(), timeout=TIMEOUT)
        loaded.stop()
    qtbot.waitUntil(lambda: not loaded.busy, timeout=TIMEOUT)
    assert loaded.status.text() == "stopped"
    loaded.settings_panel.max_tokens.setValue(4)
    with qtbot.waitSignal(loaded.reply_finished, timeout=TIMEOUT):
        loaded.regenerate(loaded.thread.last.id)
        assert "stopped" not in loaded.status.text()  # while the new reply runs
    qtbot.waitUntil(lambda: not loaded.busy, timeout=TIMEOUT)


@pytest.mark.slow
def test_a_new_chat_does_not_show_the_previous_chats_stats(qtbot, loaded, send):
    send(loaded, "hello")
    assert "tok/s" in loaded.stats.text()
    first = loaded.thread
    loaded.new_chat()
    assert loaded.stats.text() == "" and loaded.status.text() == ""
    loaded.thread_panel.select(first)
    loaded.thread_panel.selected.emit(first)  # what picking its row emits
    assert "tok/s" in loaded.stats.text()  # each chat shows its own


@pytest.mark.slow
def test_a_refused_send_does_not_keep_waiting_for_the_first_token(qtbot, loaded):
    loaded.input.setPlainText("the cat sat. " * 80_000)
    loaded.generate()
    assert loaded.stats.text() == "Waiting for the first token…"
    qtbot.waitUntil(lambda: not loaded.busy and loaded.banner.isVisibleTo(loaded), timeout=TIMEOUT)
    assert "Waiting" not in loaded.stats.text()


def test_durations_over_a_second_read_in_seconds():
    from desktop.ui.chat.stats import stats_line

    assert stats_line({"ttft_s": 2.4, "tokens_per_s": 3.0}) == "first token 2.4 s · 3.0 tok/s"
    assert stats_line({"ttft_s": 0.42}) == "first token 420 ms"


# --- a reply cut by Max tokens --------------------------------------------------------------------

@pytest.mark.slow
def test_a_reply_cut_by_max_tokens_says_so_and_continues_the_same_reply(qtbot, loaded, services, send):
    loaded.show()
    first = send(loaded, "Tell me a story", max_tokens=8)
    assert first.finish_reason == "length"
    card = loaded.transcript.cards()[-1]
    assert card.limit_shown and card.limit_label.text() == "Stopped at the 8-token limit"
    reply = loaded.thread.last
    before = reply.content
    with qtbot.waitSignal(loaded.reply_finished, timeout=TIMEOUT) as blocker:
        card.continue_button.click()
    qtbot.waitUntil(lambda: not loaded.busy, timeout=TIMEOUT)
    result = blocker.args[0]
    assert [t.role for t in loaded.thread.path()] == ["user", "assistant"]  # the same reply, not a new turn
    assert loaded.thread.last is reply and reply.content == result.text
    assert result.text.startswith(before) and len(result.text) > len(before) and result.completion_tokens == 8
    record = services.history.records[-1]
    assert record.output_text == result.text and record.parameters["continues"] == first.record_id
    assert record.parent_id == services.history.records[-2].parent_id  # answers the same message
    assert loaded.transcript.cards()[-1].limit_shown  # cut again, at 8 more


@pytest.mark.slow
def test_the_token_limit_is_said_only_in_the_cards_continue_row(qtbot, loaded, send):
    from PySide6.QtWidgets import QLabel

    loaded.show()
    send(loaded, "Tell me a story", max_tokens=8)
    card = loaded.transcript.cards()[-1]
    assert "limit" not in loaded.stats.text() and "limit" not in card.stats_label.text()
    assert "limit" not in loaded.status.text() and "limit" not in loaded.thread.last.note
    saying = [w for w in loaded.findChildren(QLabel) if "limit" in w.text().lower()]
    assert saying == [card.limit_label] and card.limit_shown


@pytest.mark.slow
def test_a_whole_reply_offers_no_continue(qtbot, loaded):
    loaded.show()
    loaded.settings_panel.apply_preset("Precise (greedy)")
    loaded.settings_panel.max_tokens.setValue(64)
    loaded.settings_panel.stop_strings.setText("e | a | o | i | t")  # ends early, before the limit
    loaded.input.setPlainText("Tell me a story")
    with qtbot.waitSignal(loaded.reply_finished, timeout=TIMEOUT) as blocker:
        loaded.generate()
    qtbot.waitUntil(lambda: not loaded.busy, timeout=TIMEOUT)
    assert blocker.args[0].finish_reason == "stop"
    assert not loaded.transcript.cards()[-1].limit_shown


# --- composition ----------------------------------------------------------------------------------

def test_the_history_actions_are_a_collaborator_not_a_mixin(workspace):
    from desktop.ui.chat.history_actions import ChatFromHistory

    assert not issubclass(ChatWorkspace, ChatFromHistory)
    assert isinstance(workspace.history_actions, ChatFromHistory) and workspace.history_actions.host is workspace


@pytest.mark.slow
def test_a_reply_hides_the_loaded_models_control_tokens(qtbot, workspace, smollm2, load):
    load(workspace, smollm2)
    thread = ChatThread()
    user = thread.add("user", "hi", None)
    thread.add("assistant", "<file_sep>Hello<|im_start|> there", user.id)  # <file_sep>: SmolLM2's, not generic
    workspace.transcript.show_thread(thread)
    text = workspace.transcript.toPlainText()
    assert "Hello there" in text and "<file_sep>" not in text and "file_sep" not in text
