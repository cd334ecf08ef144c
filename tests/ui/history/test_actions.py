"""The History workspace's record actions end to end: continue and re-run in Chat,
re-run in Images, and the main window routing them (real llama.cpp, real diffusers)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from desktop.core.history.store import HistoryStore
from desktop.core.models.library import Library
from desktop.core.records import GenerationRecord, ModelIdentity

pytest.importorskip("llama_cpp")

from desktop.ui.chat.view import ChatWorkspace  # noqa: E402
from desktop.ui.images.view import ImagesWorkspace  # noqa: E402

# the slow set: most tests here load a real model or pipeline, or spawn processes
pytestmark = pytest.mark.slow

TIMEOUT = 60_000


@pytest.fixture
def chat(qtbot, services, runner):
    ws = ChatWorkspace(services, runner)
    qtbot.addWidget(ws)
    return ws


def load(qtbot, ws, path):
    ws.model_bar.select_path(str(path))
    with qtbot.waitSignal(ws.model_changed, timeout=TIMEOUT):
        ws.model_bar.load_button.click()
    qtbot.waitUntil(lambda: not ws.busy, timeout=TIMEOUT)


def send(qtbot, ws, text, *, temperature=0.0, seed=1234, max_tokens=10, system=""):
    panel = ws.settings_panel
    panel.temperature.setValue(temperature)
    panel.seed.setValue(seed)
    panel.max_tokens.setValue(max_tokens)
    panel.system_prompt.setPlainText(system)
    ws.input.setPlainText(text)
    with qtbot.waitSignal(ws.reply_finished, timeout=TIMEOUT) as blocker:
        ws.generate()
    qtbot.waitUntil(lambda: not ws.busy, timeout=TIMEOUT)
    return blocker.args[0]


def rerun(qtbot, ws, record, path):
    with qtbot.waitSignal(ws.reply_finished, timeout=TIMEOUT) as blocker:
        ws.rerun_record(record, str(path))
    qtbot.waitUntil(lambda: not ws.busy, timeout=TIMEOUT)
    return blocker.args[0]


def scramble_panel(ws):
    """Settings unlike the record's, so a re-run that read the panel would differ."""
    panel = ws.settings_panel
    panel.temperature.setValue(1.7)
    panel.seed.setValue(99)
    panel.max_tokens.setValue(3)
    panel.system_prompt.setPlainText("something else")


# --- Chat ------------------------------------------------------------------------------------
def test_rerun_of_a_greedy_reply_gives_the_same_text_as_a_new_branch(qtbot, chat, services, tiny_gguf):
    load(qtbot, chat, tiny_gguf)
    send(qtbot, chat, "Tell me a story", system="You are terse.")
    original = services.history.records[-1]
    scramble_panel(chat)
    result = rerun(qtbot, chat, original, tiny_gguf)
    again = services.history.records[-1]
    assert result.text == original.output_text and again.id != original.id
    assert (again.seed, again.system_prompt, again.parameters["max_tokens"]) == (1234, "You are terse.", 10)
    assert again.session_id == original.session_id and again.parent_id == original.parent_id == ""
    _user, reply = chat.thread.path()
    assert reply.content == result.text and chat.thread.siblings(reply.id) == (2, 2)  # beside the original
    assert chat.settings_panel.system_prompt.toPlainText() == "You are terse."
    assert chat.settings_panel.temperature.value() == 0.0 and chat.settings_panel.seed.value() == 1234


def test_rerun_of_a_seeded_second_turn_loads_the_model_and_rebuilds_the_turns(qtbot, chat, services, tiny_gguf):
    load(qtbot, chat, tiny_gguf)
    first = send(qtbot, chat, "one", temperature=1.3, seed=7)
    send(qtbot, chat, "two", temperature=1.3, seed=8)
    original = services.history.records[-1]
    assert original.parent_id == first.record_id
    chat.engine.unload()
    scramble_panel(chat)
    with qtbot.waitSignal(chat.model_changed, timeout=TIMEOUT):
        result = rerun(qtbot, chat, original, tiny_gguf)
    assert chat.engine.loaded is not None and result.text == original.output_text
    assert [t.content for t in chat.thread.path()[:3]] == ["one", first.text, "two"]
    again = services.history.records[-1]
    assert again.parent_id == first.record_id and again.parameters["history_messages"] == 2
    assert chat.banner.isHidden()


def test_continue_opens_the_thread_with_its_turns_and_settings_and_continues_it(
        qtbot, services, runner, tiny_gguf):
    store = services.provide_history_store(HistoryStore(embedder=None))
    services.set_history(store)
    Library().add_path(tiny_gguf, source="imported", owned=False)
    writer = ChatWorkspace(services, runner)
    qtbot.addWidget(writer)
    load(qtbot, writer, tiny_gguf)
    first = send(qtbot, writer, "one", system="Be kind.", seed=5, max_tokens=6)
    second = send(qtbot, writer, "two", system="Be kind.", seed=5, max_tokens=6)
    writer.engine.unload()  # the engine is shared: continuing must load the model again

    chat = ChatWorkspace(services, runner)
    qtbot.addWidget(chat)
    scramble_panel(chat)
    # model_changed: the model is found in the library by sha256 and loaded
    with qtbot.waitSignal(chat.model_changed, timeout=TIMEOUT), \
            qtbot.waitSignal(chat.record_opened, timeout=TIMEOUT) as opened:
        chat.continue_from_record(second.record, None)
    thread = opened.args[0]
    assert chat.thread is thread and thread.id == second.record.session_id == writer.thread.id
    assert [(t.role, t.content) for t in thread.path()] == [
        ("user", "one"), ("assistant", first.text), ("user", "two"), ("assistant", second.text)]
    assert [t.record_id for t in thread.path()[1::2]] == [first.record_id, second.record_id]
    panel = chat.settings_panel
    assert panel.system_prompt.toPlainText() == "Be kind." and panel.max_tokens.value() == 6
    assert (panel.temperature.value(), panel.seed.value(), panel.mode.currentData()) == (0.0, 5, "chat")
    qtbot.waitUntil(lambda: not chat.busy, timeout=TIMEOUT)

    third = send(qtbot, chat, "three", system="Be kind.", seed=5, max_tokens=6)
    store.flush()
    saved = store.get(third.record_id)
    assert saved.parent_id == second.record_id and saved.session_id == second.record.session_id
    assert third.prompt_tokens > second.prompt_tokens  # the earlier turns were sent


def test_continue_without_the_model_opens_the_thread_and_asks_for_one(qtbot, chat):
    record = GenerationRecord(kind="text", prompt="Hello there", output_text="General Kenobi",
                              session_id="s1", system_prompt="Quote films.",
                              model=ModelIdentity(name="gone-7b.gguf", sha256="ab" * 32),
                              parameters={"temperature": 0.5, "top_k": 7, "max_tokens": 33, "mode": "completion"},
                              seed=42)
    with qtbot.waitSignal(chat.record_opened, timeout=5000):
        chat.continue_from_record(record, None)
    assert [t.content for t in chat.thread.path()] == ["Hello there", "General Kenobi"]
    assert chat.thread.id == "s1" and len(chat.threads) == 2
    assert not chat.banner.isHidden() and "gone-7b.gguf is not in the model library" in chat.banner.text()
    assert "choose a model" in chat.banner.text()
    panel = chat.settings_panel
    assert (panel.top_k.value(), panel.max_tokens.value(), panel.seed.value()) == (7, 33, 42)
    assert panel.mode.currentData() == "completion" and not chat.busy


def test_chat_refuses_image_records(chat):
    chat.continue_from_record(GenerationRecord(kind="image", prompt="a cat"), None)
    assert "Only text records" in chat.status.text() and len(chat.threads) == 1


# --- Images ----------------------------------------------------------------------------------
@pytest.fixture
def images(qtbot, services, runner, tiny_sd_pipeline):
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    ws = ImagesWorkspace(services, runner)
    qtbot.addWidget(ws)
    yield ws
    torch.set_num_threads(before)


def generate_image(qtbot, ws, start):
    with qtbot.waitSignal(ws.generation_finished, timeout=TIMEOUT) as blocker:
        start()
    qtbot.waitUntil(lambda: not ws.busy, timeout=TIMEOUT)
    [image] = blocker.args[0].images
    return image.record


def test_image_rerun_gives_identical_pixels(qtbot, images, services, tiny_sd_pipeline):
    images.select_model(str(tiny_sd_pipeline))
    panel = images.params_panel
    panel.prompt.setPlainText("a tiny lighthouse")
    panel.negative.setPlainText("fog")
    panel.width_box.setValue(64)
    panel.height_box.setValue(72)
    panel.steps.setValue(3)
    panel.guidance.setValue(5.5)
    panel.set_seed(31337)
    original = generate_image(qtbot, images, images.generate)
    panel.prompt.setPlainText("something else")
    panel.set_seed(1)
    panel.steps.setValue(5)
    again = generate_image(qtbot, images, lambda: images.rerun_record(original, str(tiny_sd_pipeline)))
    assert again.image_path != original.image_path and again.seed == 31337
    assert (again.prompt, again.negative_prompt) == ("a tiny lighthouse", "fog")
    pixels = np.asarray(Image.open(again.image_path).convert("RGB"))
    assert pixels.shape == (72, 64, 3)
    assert np.array_equal(pixels, np.asarray(Image.open(original.image_path).convert("RGB")))
    assert panel.params().seed == 31337 and panel.steps.value() == 3  # the panel shows what ran
    assert services.history.records[-1] is again


def test_images_refuses_text_records(images):
    images.rerun_record(GenerationRecord(kind="text", prompt="hi"), "/nowhere")
    assert "Only image records" in images.status.text() and not images.busy


# --- Main window ---------------------------------------------------------------------------
def test_main_window_routes_the_history_actions(qtbot, services, runner, tiny_gguf):
    from desktop.ui.main_window import MainWindow

    services.provide_history_store(HistoryStore(embedder=None))
    model = Library().add_path(tiny_gguf, source="imported", owned=False)
    window = MainWindow(services, runner, start_services=False)
    qtbot.addWidget(window)
    history = window.workspace("history")
    text = GenerationRecord(kind="text", prompt="Once upon a time", output_text="", session_id="t1",
                            model=ModelIdentity(name=model.name, sha256=model.sha256),
                            parameters={"temperature": 0.0, "max_tokens": 5, "mode": "chat"}, seed=3)

    history.rerun(text)  # checks the library, then emits rerun_requested
    chat = window.current_workspace()
    assert isinstance(chat, ChatWorkspace)
    with qtbot.waitSignal(chat.reply_finished, timeout=TIMEOUT) as blocker:
        pass
    qtbot.waitUntil(lambda: not chat.busy, timeout=TIMEOUT)
    assert str(chat.engine.loaded.path) == model.path and blocker.args[0].record.prompt == "Once upon a time"
    assert chat.thread.id == "t1" and blocker.args[0].record.seed == 3

    window.workspace("history")
    history.continue_requested.emit(replace(text, id="c1", session_id="t2", output_text="there was"))
    assert window.current_workspace() is chat and chat.thread.id == "t2"
    assert chat.thread.last.content == "there was"

    image = GenerationRecord(kind="image", prompt="a red door", seed=12,
                             parameters={"prompt": "a red door", "steps": 7, "width": 128, "height": 128})
    history.reuse_requested.emit(image)
    images = window.current_workspace()
    assert isinstance(images, ImagesWorkspace)
    assert images.params_panel.prompt.toPlainText() == "a red door" and images.params_panel.steps.value() == 7

    missing = replace(text, model=ModelIdentity(name="gone", sha256="cd" * 32))
    history.rerun_requested.emit(missing)  # a record whose model left the library after History checked
    assert window.current_workspace() is images
    assert "not in the model library" in window.statusBar().currentMessage()
