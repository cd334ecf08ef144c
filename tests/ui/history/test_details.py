"""The record pane: a record reads for people yet shows every non-empty field; stars; a pane that fits 420 px."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timezone

import pytest
from PIL import Image
from PySide6.QtWidgets import QTextBrowser

from desktop.core.history.record_text import model_text, record_html, seconds_text, timings_text, when_text
from desktop.core.history.search import Hit
from desktop.core.records import GenerationRecord, ModelIdentity
from desktop.ui.history.details import DetailsPanel
from desktop.ui.history.rating import StarRating

TIMEOUT = 30_000
CREATED = datetime(2026, 11, 26, 21, 29, 13, tzinfo=timezone.utc)


def full_text_record() -> GenerationRecord:
    """A text record with every field set, as the text engine writes it."""
    return GenerationRecord(
        kind="text", prompt="Translate 'good morning' into French", id="13a60016e501403b", created_at=CREATED,
        session_id="chat-0-0", parent_id="9f8e7d6c5b4a", system_prompt="You are a translator.",
        output_text="Bonjour !",
        model=ModelIdentity(name="Meta-Llama-3.1-8B-Instruct", file="llama-3.1-8b.Q4_K_M.gguf", sha256="ab" * 32,
                            size=4_920_000_000, quantization="Q4_K_M"),
        parameters={"temperature": 0.7, "top_k": 40, "top_p": 0.95, "min_p": 0.05, "repeat_penalty": 1.1,
                    "max_tokens": 512, "seed": -1, "stop": ["User:"], "mode": "chat", "n_ctx": 4096,
                    "n_threads": 8, "n_gpu_layers": 33, "finish_reason": "stop", "dropped_turns": 0,
                    "history_messages": 2, "engine_note": ""},
        seed=1240,
        timings={"ttft_s": 0.08, "total_s": 4.1, "tokens_per_s": 35.2, "prompt_tokens": 16,
                 "completion_tokens": 80, "load_s": 1.2},
        device="cuda", versions={"genlab": "0.4.0", "llama_cpp_python": "0.3.2"},
        rating=3, tags=["fr"], note="good", origin="generated")


def plain(html: str) -> str:
    browser = QTextBrowser()
    browser.setHtml(html)
    return browser.toPlainText()


def test_a_text_record_reads_for_people(qapp):
    text = plain(record_html(full_text_record(), image_missing=False))
    assert text.index("Translate 'good morning'") < text.index("You are a translator.") < text.index("Bonjour !")
    assert when_text(CREATED) in text and CREATED.astimezone().strftime("%H:%M:%S") in text  # local time
    assert "2026-11-26T21:29:13" not in text and "+00:00" not in text
    assert "Meta-Llama-3.1-8B-Instruct · Q4_K_M · llama-3.1-8b.Q4_K_M.gguf · 4.6 GB" in text
    assert ("temperature 0.7 · top-p 0.95 · top-k 40 · min-p 0.05 · repeat penalty 1.1 · max tokens 512 · "
            'stop "User:" · seed 1240 (picked at random)') in text
    assert "context 4096 · threads 8 · GPU layers 33 · finished by stop" in text
    assert "load 1.2 s · first token 80 ms · 35.2 tok/s · 16 prompt + 80 generated tokens · total 4.1 s" in text
    assert "GenLab 0.4.0 · llama-cpp-python 0.3.2" in text
    assert "Text · generated here" in text
    assert text.index("Identity") < text.index("13a60016e501403b")  # ids and hashes come last
    assert text.rindex("Identity") > text.index("GenLab 0.4.0")
    for raw in ("{", "}", "created_at", "parent_id", "image_sha256", "timings", '"name"'):
        assert raw not in text  # no field names, no JSON


def test_empty_fields_are_hidden(qapp):
    text = plain(record_html(GenerationRecord(kind="text", prompt="hello", created_at=CREATED), image_missing=False))
    for label in ("Negative prompt", "System prompt", "Reply", "Image file", "Model", "Settings", "Timings",
                  "Device", "Versions", "Parent id", "Session id", "Image sha256", "Thumbnail", "Model sha256"):
        assert label not in text
    assert "hello" in text and "Record id" in text


def _leaves(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v)
    else:
        yield value


@pytest.mark.parametrize("record", [
    full_text_record(),
    GenerationRecord(kind="image", prompt="a lighthouse at dusk", negative_prompt="blurry, low quality",
                     created_at=CREATED, session_id="img-3", image_path="/pictures/42-abcd.png",
                     image_sha256="cd" * 32, thumbnail_path="/pictures/42-abcd.thumb.jpg",
                     model=ModelIdentity(name="stable-diffusion-v1-5", file="sd15", sha256="ef" * 32,
                                         files=["unet/model.safetensors", "vae/model.safetensors"]),
                     parameters={"steps": 25, "guidance": 7.5, "width": 512, "height": 768,
                                 "scheduler": "DPMSolverMultistep", "sampler": "DPM++ 2M", "batch_count": 2,
                                 "batch_index": 1, "mode": "txt2img", "dtype": "float16", "offload": "none",
                                 "attention_slicing": False, "model_path": "/models/sd15", "seed": 42},
                     seed=42, device="CPU", versions={"genlab": "0.4.0", "diffusers": "0.30.0", "torch": "2.4.0"},
                     origin="imported"),
], ids=["text", "image"])
def test_every_non_empty_field_is_shown(qapp, record):
    text = plain(record_html(record, image_missing=False))
    skip = {"created_at", "rating", "tags", "note", "timings"}  # edited below the text, or shown in words
    data = {k: v for k, v in asdict(record).items() if k not in skip}
    data["model"].pop("size")
    assert f"{record.kind.capitalize()} · {record.origin}" in text.replace("generated here", "generated")
    del data["kind"], data["origin"]
    if data["parameters"].get("seed") == -1:  # "pick one": the seed picked is shown instead
        del data["parameters"]["seed"]
        assert f"seed {record.seed} (picked at random)" in text
    for value in _leaves(data):
        if value in (None, "", 0) or isinstance(value, bool):
            continue
        shown = f"{value:g}" if isinstance(value, float) else str(value)
        assert shown in text, f"{value!r} is not shown"


def test_an_image_record_names_size_steps_and_seconds_per_step(qapp):
    record = GenerationRecord(kind="image", prompt="fox", image_path="/gone/fox.png", created_at=CREATED,
                              parameters={"width": 512, "height": 768, "steps": 25, "guidance": 7.5}, seed=7,
                              timings={"load_s": 3.2, "steps_s": 11.25, "per_step_s": 0.45, "decode_s": 0.3,
                                       "save_s": 0.02, "total_s": 15.0})
    text = plain(record_html(record, image_missing=True))
    assert "size 512×768 · steps 25 · guidance 7.5 · seed 7" in text
    assert "load 3.2 s · 0.45 s/step · denoising 11.2 s · decode 300 ms · save 20 ms · total 15.0 s" in text
    assert "/gone/fox.png (missing)" in text


def test_seconds_and_unknown_timings_read_as_words():
    assert [seconds_text(s) for s in (0.08, 1.25, 59.9, 125)] == ["80 ms", "1.2 s", "59.9 s", "2 min 05 s"]
    assert timings_text({"queue_s": 2.0, "total_s": 3.0, "retries": 1}) == "queue 2.0 s · retries 1 · total 3.0 s"
    assert timings_text({"load_s": "slow", "tokens_per_s": None}) == "load slow"  # an odd import: no crash


def test_stars_rate_and_clear(qtbot):
    stars = StarRating()
    qtbot.addWidget(stars)
    picked = []
    stars.changed.connect(picked.append)
    stars.setValue(2)
    assert picked == [] and [b.text() for b in stars.buttons] == ["★", "★", "☆", "☆", "☆"]
    stars.buttons[4].click()
    stars.buttons[4].click()  # the current rating's star clears it
    assert picked == [5, 0] and stars.caption.text() == "not rated"


def _image_hit(tmp_path) -> Hit:
    path = tmp_path / "wide.png"
    Image.new("RGB", (1000, 250), (0, 0, 255)).save(path)
    return Hit(GenerationRecord(kind="image", prompt="wide", image_path=str(path), session_id="s"), 0.0)


def test_the_pane_fits_420_px_with_the_main_actions_as_buttons(qtbot, tmp_path):
    panel = DetailsPanel()
    qtbot.addWidget(panel)
    assert panel.minimumSizeHint().width() <= 420
    panel.show_hit(Hit(GenerationRecord(kind="text", prompt="hi", session_id="s"), 0.0))
    assert not panel.continue_button.isHidden() and panel.reuse_button.isHidden()
    assert panel.minimumSizeHint().width() <= 420
    def menu() -> list[str]:
        return [a.text() for a in panel.more_button.menu().actions() if a.text() and a.isVisible()]

    assert menu() == ["Show session", "Delete…"]
    panel.show_hit(_image_hit(tmp_path))
    assert panel.continue_button.isHidden() and not panel.reuse_button.isHidden()
    assert menu() == ["Upscale…", "Show session", "Delete…"]
    upscale = []
    panel.upscale_requested.connect(upscale.append)
    panel.upscale_action.trigger()
    assert upscale == [panel.hit.record]
    assert panel.minimumSizeHint().width() <= 420
    deleted = []
    panel.delete_requested.connect(deleted.append)
    panel.delete_action.trigger()
    assert deleted == [panel.hit.record.id]


def test_a_wide_preview_shrinks_with_the_pane(qtbot, tmp_path):
    panel = DetailsPanel()
    qtbot.addWidget(panel)
    panel.resize(400, 700)
    panel.show()
    qtbot.waitExposed(panel)
    panel.show_hit(_image_hit(tmp_path))
    qtbot.waitUntil(lambda: not panel.image.pixmap().isNull(), timeout=TIMEOUT)
    assert panel.image.pixmap().width() <= panel.image.width() <= 400
    qtbot.waitUntil(lambda: panel.image.height() >= panel.image.pixmap().height())  # shown, not squeezed away
    assert panel.minimumSizeHint().width() <= 420  # the picture does not hold the pane open
    panel.resize(900, 700)
    qtbot.waitUntil(lambda: panel.image.pixmap().width() > 400, timeout=TIMEOUT)


def test_the_model_line_says_each_thing_once():
    llama = ModelIdentity(name="Llama-8B.Q4_K_M", quantization="Q4_K_M", file="Llama-8B.Q4_K_M.gguf", size=2 ** 30)
    assert model_text(llama) == "Llama-8B.Q4_K_M.gguf · 1.0 GB"
    assert model_text(ModelIdentity(name="Llama 8B", quantization="Q8_0", file="llama-8b-q8_0.gguf")) == \
        "Llama 8B · Q8_0 · llama-8b-q8_0.gguf"
    assert model_text(ModelIdentity()) == ""
