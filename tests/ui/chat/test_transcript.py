"""pytest-qt tests of the chat transcript: turns that cannot leak into each other,
Markdown as CommonMark with HTML escaped, control tokens hidden, streaming
without a jump, code blocks with a Copy button."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QTextEdit

from desktop.core.text.thread import ChatThread
from desktop.ui.chat.transcript import ChatTranscript

TIMEOUT = 5_000


@pytest.fixture
def transcript(qtbot):
    widget = ChatTranscript()
    qtbot.addWidget(widget)
    widget.resize(700, 600)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def documents(transcript):
    """Every text document on screen in the transcript (itself too, were it one text view)."""
    views = transcript.findChildren(QTextEdit)
    if isinstance(transcript, QTextEdit):
        views.insert(0, transcript)
    return [view.document() for view in views]


def blocks_with(transcript, text):
    """The text blocks, in any of the transcript's documents, that contain ``text``."""
    found = []
    for document in documents(transcript):
        block = document.begin()
        while block.isValid():
            if text in block.text():
                found.append(block)
            block = block.next()
    return found


def conversation(*messages, stats=None):
    """A thread of alternating user/assistant turns; assistant turns get ``stats``."""
    thread = ChatThread()
    parent = None
    for i, text in enumerate(messages):
        turn = thread.add("user" if i % 2 == 0 else "assistant", text, parent)
        if turn.role == "assistant" and stats:
            turn.stats = dict(stats)
        parent = turn.id
    return thread


STATS = {"ttft_s": 0.25, "tokens_per_s": 31.0, "prompt_tokens": 12, "completion_tokens": 20, "n_ctx": 2048}


def test_a_numbered_list_does_not_number_the_turns_after_it(qtbot, transcript):
    thread = conversation("steps please", "Do this:\n\n1. first step\n2. second step",
                          "and then what", "then you rest", stats=STATS)
    transcript.show_thread(thread)
    assert all(block.textList() is not None for block in blocks_with(transcript, "second step"))
    for later in ("and then what", "then you rest"):
        found = blocks_with(transcript, later)
        assert found and all(block.textList() is None for block in found), later
    # The stats line and the role labels are no text of any list either.
    for label in ("first token", "You", "Assistant"):
        assert all(block.textList() is None for block in blocks_with(transcript, label)), label
    other = conversation("a new chat", "a reply in it", stats=STATS)
    transcript.show_thread(other)  # switching threads leaves nothing behind either
    for later in ("a new chat", "a reply in it"):
        found = blocks_with(transcript, later)
        assert found and all(block.textList() is None for block in found), later


def test_a_paragraph_after_a_code_block_still_wraps(qtbot, transcript):
    long = "This paragraph is long enough to need several lines at a narrow width. " * 8
    thread = conversation("code", "Here:\n\n```python\nprint('hi')\n```", "thanks", long)
    transcript.resize(360, 500)
    transcript.show_thread(thread)
    qtbot.waitUntil(lambda: all(b.layout().lineCount() > 0 for b in blocks_with(transcript, "paragraph is long")),
                    timeout=TIMEOUT)
    [paragraph] = blocks_with(transcript, "paragraph is long")
    assert paragraph.layout().lineCount() > 3
    assert transcript.horizontalScrollBar().maximum() == 0


def test_a_long_unbroken_word_wraps_instead_of_scrolling_sideways(qtbot, transcript):
    transcript.resize(360, 500)
    transcript.show_thread(conversation("link?", "https://example.org/" + "a" * 300))
    qtbot.waitUntil(lambda: all(b.layout().lineCount() > 1 for b in blocks_with(transcript, "aaaa")), timeout=TIMEOUT)
    assert transcript.horizontalScrollBar().maximum() == 0


def test_single_line_breaks_are_kept(qtbot, transcript):
    transcript.show_thread(conversation("a poem", "Roses are red\nViolets are blue\nSugar is sweet"))
    assert "Roses are red\nViolets are blue\nSugar is sweet" in transcript.toPlainText()


def test_html_a_model_writes_is_shown_as_written(qtbot, transcript):
    transcript.show_thread(conversation("html?", "Use <b>x</b> for bold.\n\n<div>a div</div>"))
    text = transcript.toPlainText()
    assert "Use <b>x</b> for bold." in text and "<div>a div</div>" in text


def test_control_tokens_are_hidden_but_kept_in_the_turn(qtbot, transcript):
    thread = conversation("hi", "Hello there!<|im_end|><end_of_turn>\n<start_of_image>")
    transcript.show_thread(thread)
    text = transcript.toPlainText()
    assert "Hello there!" in text
    for token in ("<|im_end|>", "<end_of_turn>", "<start_of_image>", "im_end", "start_of_image"):
        assert token not in text
    assert thread.last.content.endswith("<start_of_image>")  # the record keeps what the model wrote


def test_the_models_own_special_tokens_are_hidden(qtbot, transcript):
    thread = conversation("hi", "Bonjour</s>")
    transcript.show_thread(thread)
    assert "</s>" in transcript.toPlainText()  # not a control token of this model (yet)
    transcript.set_special_tokens(["<s>", "</s>"])
    assert "Bonjour" in transcript.toPlainText() and "</s>" not in transcript.toPlainText()


def test_streaming_renders_markdown_and_ends_without_a_jump(qtbot, transcript):
    thread = ChatThread()
    user = thread.add("user", "go", None)
    reply = thread.add("assistant", "", user.id)
    transcript.show_thread(thread, streaming_last=True)
    text = "A **bold** start.\n\n1. one\n2. two\n\n```python\nx = 1\ny = 2"
    for i in range(0, len(text), 7):
        transcript.stream(text[i:i + 7])
    qtbot.waitUntil(lambda: "y = 2" in transcript.toPlainText(), timeout=TIMEOUT)
    assert "**" not in transcript.toPlainText() and "bold" in transcript.toPlainText()
    assert "```" not in transcript.toPlainText()  # the open fence is already a code block
    while_streaming = transcript.toHtml()
    heights = [view.height() for view in transcript.cards()[-1].body.views()]
    reply.content = text
    transcript.finish_last(reply)
    assert transcript.toHtml() == while_streaming
    qtbot.waitUntil(lambda: [v.height() for v in transcript.cards()[-1].body.views()] == heights, timeout=TIMEOUT)


def test_streaming_keeps_the_widgets_above_the_growing_end(qtbot, transcript):
    thread = ChatThread()
    thread.add("assistant", "", thread.add("user", "go", None).id)
    transcript.show_thread(thread, streaming_last=True)
    transcript.stream("First paragraph.\n\n")
    qtbot.waitUntil(lambda: not transcript.stream_pending and "First" in transcript.toPlainText(), timeout=TIMEOUT)
    first = transcript.cards()[-1].body.views()[0]
    transcript.stream("```sh\nls\n```\n\nMore text")
    qtbot.waitUntil(lambda: "More text" in transcript.toPlainText(), timeout=TIMEOUT)
    views = transcript.cards()[-1].body.views()
    assert views[0] is first and len(views) == 3


def test_streaming_follows_the_end_unless_scrolled_up(qtbot, transcript):
    thread = ChatThread()
    thread.add("assistant", "", thread.add("user", "go", None).id)
    transcript.show_thread(thread, streaming_last=True)
    bar = transcript.verticalScrollBar()
    transcript.stream("line\n\n" * 80)
    qtbot.waitUntil(lambda: bar.maximum() > 0 and bar.value() == bar.maximum(), timeout=TIMEOUT)
    bar.setValue(0)  # the user scrolls up to read
    transcript.stream("more\n\n" * 40)
    qtbot.waitUntil(lambda: "more" in transcript.toPlainText() and not transcript.stream_pending, timeout=TIMEOUT)
    assert bar.value() == 0


def test_code_block_has_a_language_and_copies_its_code(qtbot, transcript):
    from desktop.ui.chat.code_block import CodeBlockView

    code = "def f(x):\n    return x < 2  # a & b"
    transcript.show_thread(conversation("code", f"Here:\n\n```python\n{code}\n```\n\nDone."))
    [block] = transcript.findChildren(CodeBlockView)
    assert block.language_label.text() == "python"
    assert "color" in block.view.source_html  # highlighted with inline colours
    QApplication.clipboard().clear()
    qtbot.mouseClick(block.copy_button, Qt.MouseButton.LeftButton)
    assert QApplication.clipboard().text() == code
    assert block.copy_button.text() == "Copied"


def test_action_buttons_have_tooltips_and_emit_the_turn(qtbot, transcript):
    thread = conversation("hello", "hi there")
    transcript.show_thread(thread)
    user_card, reply_card = transcript.cards()
    assert set(user_card.buttons) == {"copy", "edit", "delete"}
    assert set(reply_card.buttons) == {"copy", "regenerate", "delete"}
    assert all(button.toolTip() and not button.text() for button in reply_card.buttons.values())
    with qtbot.waitSignal(transcript.action, timeout=TIMEOUT) as blocker:
        reply_card.buttons["regenerate"].click()
    assert blocker.args == ["regenerate", thread.last.id]
    assert user_card.objectName() != reply_card.objectName()  # styled apart


def test_a_reply_cut_by_the_token_limit_offers_continue(qtbot, transcript):
    thread = conversation("tell me", "Once upon a time")
    reply = thread.last
    reply.finish_reason = "length"
    reply.stats = {"completion_tokens": 512}
    transcript.show_thread(thread)
    assert "token limit" not in transcript.toPlainText()  # until the workspace asks for it
    transcript.set_offer_continue(True)
    assert "Stopped at the 512-token limit" in transcript.toPlainText()
    card = transcript.cards()[-1]
    with qtbot.waitSignal(transcript.continue_requested, timeout=TIMEOUT) as blocker:
        card.continue_button.click()
    assert blocker.args == [reply.id]
    transcript.append_turn(thread.add("user", "something else", reply.id))
    assert "token limit" not in transcript.toPlainText()  # only the last reply can be continued


def test_user_text_is_shown_as_typed(qtbot, transcript):
    transcript.show_thread(conversation("line one\nline **two** <i>three</i>"))
    assert "line one\nline **two** <i>three</i>" in transcript.toPlainText()


def test_continue_streams_on_into_the_same_card(qtbot, transcript):
    thread = conversation("tell me", "Once upon")
    reply = thread.last
    reply.finish_reason = "length"
    transcript.set_offer_continue(True)
    transcript.show_thread(thread)
    card = transcript.cards()[-1]
    transcript.resume_streaming(reply)
    assert transcript.cards()[-1] is card and not card.limit_shown
    assert not any(button.isVisibleTo(card) for button in card.buttons.values())
    transcript.stream(" a **time**")
    qtbot.waitUntil(lambda: "Once upon a time" in transcript.toPlainText(), timeout=TIMEOUT)
    assert transcript.toPlainText().count("Once upon") == 1


def _code_html(transcript):
    from desktop.ui.chat.code_block import CodeBlockView

    [block] = transcript.findChildren(CodeBlockView)
    return block.view.source_html


def test_code_colours_follow_the_application_palette_not_a_transparent_stylesheet(qtbot, transcript):
    from PySide6.QtGui import QColor, QPalette

    from desktop.core.text.markdown import highlight

    app = QApplication.instance()
    old_palette, old_sheet = app.palette(), app.styleSheet()
    thread = conversation("code", "```python\nx = 1\n```")
    try:
        light = QPalette(old_palette)
        light.setColor(QPalette.ColorRole.Base, QColor("#ffffff"))
        light.setColor(QPalette.ColorRole.Text, QColor("#111111"))
        app.setPalette(light)
        # The app's stylesheet makes scroll areas transparent; that is no dark theme.
        app.setStyleSheet("QScrollArea { background: transparent; }")
        transcript.show_thread(thread)
        assert highlight("x = 1", "python", dark=False) in _code_html(transcript)
        dark = QPalette(light)
        dark.setColor(QPalette.ColorRole.Base, QColor("#1f2026"))
        dark.setColor(QPalette.ColorRole.Text, QColor("#e6e7eb"))
        app.setPalette(dark)
        qtbot.waitUntil(lambda: highlight("x = 1", "python", dark=True) in _code_html(transcript), timeout=TIMEOUT)
    finally:
        app.setStyleSheet(old_sheet)
        app.setPalette(old_palette)


def test_the_wheel_over_a_message_scrolls_the_conversation(qtbot, transcript):
    from PySide6.QtCore import QPoint, QPointF
    from PySide6.QtGui import QWheelEvent

    from desktop.ui.chat.message_text import RichText

    transcript.show_thread(conversation(*[f"message {i}\n\nwith a second paragraph" for i in range(30)]))
    bar = transcript.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0 and bar.value() == bar.maximum(), timeout=TIMEOUT)
    start = bar.value()
    view = transcript.cards()[-1].body.findChild(RichText)
    target = view.viewport()
    centre = QPointF(target.rect().center())
    event = QWheelEvent(centre, QPointF(target.mapToGlobal(centre.toPoint())), QPoint(0, 0), QPoint(0, 120),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(target, event)
    assert bar.value() < start


def _contrast(a, b) -> float:
    def luminance(c) -> float:
        def channel(v: float) -> float:
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
        return 0.2126 * channel(c.redF()) + 0.7152 * channel(c.greenF()) + 0.0722 * channel(c.blueF())
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("base, text, accent", [
    ("#ffffff", "#1b1d22", "#3b5bdb"),  # light
    ("#1f2026", "#e6e7eb", "#3b5bdb"),  # dark
    ("#ffffff", "#000000", "#308cc6"),  # Fusion's own light palette
])
def test_transcript_text_is_readable_on_every_card(base, text, accent):
    from PySide6.QtGui import QColor, QPalette

    from desktop.ui.chat.message_style import TranscriptStyle

    palette = QPalette()
    palette.setColor(QPalette.ColorRole.Base, QColor(base))
    palette.setColor(QPalette.ColorRole.Text, QColor(text))
    palette.setColor(QPalette.ColorRole.Highlight, QColor(accent))
    style = TranscriptStyle.from_palette(palette)
    for card in (style.user_card, style.assistant_card, style.code_background, style.code_header):
        assert _contrast(style.muted, card) >= 4.5, card.name()
        assert _contrast(style.text, card) >= 7, card.name()
