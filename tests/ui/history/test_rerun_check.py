"""An exact re-run from History says before it runs when it may not give the recorded output,
and after it whether it did, with the differences of a text reply shown (real llama.cpp on
SmolLM2-135M-Instruct, real diffusers on the tiny pipeline)."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

pytest.importorskip("llama_cpp")

from desktop.ui.chat.view import ChatWorkspace  # noqa: E402

# the slow set: most tests here load a real model or pipeline, or spawn processes
pytestmark = pytest.mark.slow

TIMEOUT = 60_000


@pytest.fixture
def chat(qtbot, services, runner, smollm2):
    ws = ChatWorkspace(services, runner)
    qtbot.addWidget(ws)
    ws.model_bar.select_path(str(smollm2))
    with qtbot.waitSignal(ws.model_changed, timeout=TIMEOUT):
        ws.model_bar.load_button.click()
    qtbot.waitUntil(lambda: not ws.busy, timeout=TIMEOUT)
    ws.settings_panel.apply_preset("Precise (greedy)")
    ws.settings_panel.max_tokens.setValue(16)
    ws.input.setPlainText("Name three colours.")
    with qtbot.waitSignal(ws.reply_finished, timeout=TIMEOUT):
        ws.generate()
    qtbot.waitUntil(lambda: not ws.busy, timeout=TIMEOUT)
    return ws


def rerun(qtbot, ws, record, path):
    with qtbot.waitSignal(ws.reply_finished, timeout=TIMEOUT) as blocker:
        ws.rerun_record(record, str(path))
    qtbot.waitUntil(lambda: not ws.busy, timeout=TIMEOUT)
    return blocker.args[0]


def test_a_matching_rerun_says_so_and_asks_nothing(qtbot, chat, services, smollm2):
    original = services.history.records[-1]
    result = rerun(qtbot, chat, original, smollm2)
    assert result.text == original.output_text
    assert chat.rerun_question is None and chat.rerun_diff is None
    assert chat.status.text() == "The re-run matches the recorded reply exactly."


def test_another_library_version_or_device_is_said_before_running(qtbot, chat, services, smollm2):
    original = services.history.records[-1]
    elsewhere = replace(original, device="cuda",
                        versions={**original.versions, "llama_cpp_python": "0.0.1"})
    records = len(services.history.records)
    chat.rerun_record(elsewhere, str(smollm2))
    qtbot.waitUntil(lambda: chat.rerun_question is not None and chat.rerun_question.isVisible(), timeout=TIMEOUT)
    question = chat.rerun_question.informativeText()
    assert "made on cuda and runs on cpu now" in question
    assert "llama_cpp_python 0.0.1" in question
    assert not chat.busy and len(services.history.records) == records  # asked before running
    run_anyway = next(b for b in chat.rerun_question.buttons() if b.text() == "Run anyway")
    with qtbot.waitSignal(chat.reply_finished, timeout=TIMEOUT) as blocker:
        run_anyway.click()
    qtbot.waitUntil(lambda: not chat.busy, timeout=TIMEOUT)
    assert blocker.args[0].text == original.output_text
    assert "matches the recorded reply" in chat.status.text()


def test_cancel_at_the_notice_runs_nothing(qtbot, chat, services, smollm2):
    original = services.history.records[-1]
    chat.rerun_record(replace(original, device="cuda"), str(smollm2))
    qtbot.waitUntil(lambda: chat.rerun_question is not None and chat.rerun_question.isVisible(), timeout=TIMEOUT)
    records = len(services.history.records)
    chat.rerun_question.reject()
    assert chat.status.text() == "Re-run cancelled."
    assert not chat.busy and len(services.history.records) == records


def test_a_rerun_that_differs_shows_the_changed_words(qtbot, chat, services, smollm2):
    from desktop.ui.chat.rerun_diff import changed_words

    original = services.history.records[-1]
    text = original.output_text
    words = list(re.finditer(r"[A-Za-z]{3,}", text))
    assert len(words) > 2, text
    word = words[1]
    altered = replace(original, output_text=text[:word.start()] + "aubergine" + text[word.end():])
    result = rerun(qtbot, chat, altered, smollm2)
    assert result.text == original.output_text
    assert "differs from the recorded reply" in chat.status.text()
    diff = chat.rerun_diff
    assert diff is not None and diff.isVisible()
    assert changed_words(altered.output_text, result.text) == (["aubergine"], [word.group()])
    recorded_html, new_html = diff.recorded_view.toHtml(), diff.new_view.toHtml()
    assert "aubergine" in recorded_html and "line-through" in recorded_html
    assert "aubergine" not in new_html and "underline" in new_html
    assert diff.summary.text() == ("1 word of the recorded reply (struck through) is not in the re-run; "
                                   "the re-run has 1 word of its own (underlined).")


# --- Images ---------------------------------------------------------------------------------------
@pytest.fixture
def images(qtbot, services, runner, tiny_sd_pipeline, one_torch_thread):
    from desktop.ui.images.view import ImagesWorkspace

    ws = ImagesWorkspace(services, runner)
    qtbot.addWidget(ws)
    ws.select_model(str(tiny_sd_pipeline))
    panel = ws.params_panel
    panel.prompt.setPlainText("a tiny lighthouse")
    panel.width_box.setValue(64)
    panel.height_box.setValue(64)
    panel.steps.setValue(2)
    panel.set_seed(4242)
    return ws


def make_image(qtbot, ws, start):
    with qtbot.waitSignal(ws.generation_finished, timeout=TIMEOUT) as blocker:
        start()
    qtbot.waitUntil(lambda: not ws.busy, timeout=TIMEOUT)
    [image] = blocker.args[0].images
    return image.record


def test_an_image_rerun_says_pixel_identical(qtbot, images, tiny_sd_pipeline):
    original = make_image(qtbot, images, images.generate)
    make_image(qtbot, images, lambda: images.rerun_record(original, str(tiny_sd_pipeline)))
    assert images.rerun_question is None
    assert "Pixel-identical to the recorded image." in images.status.text()


def test_an_image_rerun_elsewhere_asks_first_and_says_when_it_differs(qtbot, images, services,
                                                                       tiny_sd_pipeline, tmp_path):
    from PIL import Image

    original = make_image(qtbot, images, images.generate)
    other = tmp_path / "other.png"
    Image.new("RGB", (64, 64), (255, 0, 0)).save(other)  # "the recorded image" is not what this seed makes
    moved = replace(original, image_path=str(other), device="cuda",
                    versions={**original.versions, "diffusers": "0.1.0"})
    records = len(services.history.records)
    images.rerun_record(moved, str(tiny_sd_pipeline))
    qtbot.waitUntil(lambda: images.rerun_question is not None and images.rerun_question.isVisible(),
                    timeout=TIMEOUT)
    question = images.rerun_question.informativeText()
    assert "made on cuda and runs on cpu now" in question and "diffusers 0.1.0" in question
    assert not images.busy and len(services.history.records) == records  # asked before running
    run_anyway = next(b for b in images.rerun_question.buttons() if b.text() == "Run anyway")
    make_image(qtbot, images, run_anyway.click)
    assert "differs from the recorded image" in images.status.text()
    assert "Pixel-identical" not in images.status.text()
