"""The text engine on real llama.cpp: equality with bare llama-cpp-python, streaming, stop, records."""

from __future__ import annotations

import gc
import hashlib
import weakref
from dataclasses import replace

import pytest

from desktop import __version__
from desktop.core.errors import InvalidParameter, ModelFileError
from desktop.core.jobs import CancelToken, JobCancelled
from desktop.core.records import ListSink
from desktop.core.text.engine import LoadOptions, TextEngine
from desktop.core.text.params import GREEDY, SamplingParams
from desktop.core.text.prompt import ChatMessage, ContextOverflow, TextRequest

# the slow set: most tests here load a real model or pipeline, or spawn processes
pytestmark = pytest.mark.slow

llama_cpp = pytest.importorskip("llama_cpp")

PROMPT = "Once upon a time"


def greedy(max_tokens: int = 48, **kw) -> SamplingParams:
    return replace(GREEDY, max_tokens=max_tokens, **kw)


def bare_completion(path, prompt: str, params: SamplingParams, n_ctx: int) -> str:
    llm = llama_cpp.Llama(model_path=str(path), n_ctx=n_ctx, verbose=False)
    try:
        chunks = llm.create_completion(
            prompt, max_tokens=params.max_tokens, temperature=params.temperature, top_k=params.top_k,
            top_p=params.top_p, min_p=params.min_p, repeat_penalty=params.repeat_penalty,
            seed=params.seed, stream=True)
        return "".join(c["choices"][0]["text"] for c in chunks)
    finally:
        llm.close()


@pytest.fixture
def sink():
    return ListSink()


@pytest.fixture
def engine(sink):
    eng = TextEngine(history=sink)
    yield eng
    eng.close()


@pytest.mark.parametrize("model", ["tiny_gguf", "stories260k"])
def test_greedy_completion_equals_bare_llama_cpp(model, request, engine):
    path = request.getfixturevalue(model)
    loaded = engine.load(path)
    params = greedy(64)
    result = engine.generate(TextRequest(PROMPT, mode="completion", sampling=params))
    assert result.completion_tokens == 64 or result.finish_reason == "stop"
    assert result.text == bare_completion(path, PROMPT, params, loaded.n_ctx)
    assert result.text.strip()


def test_chat_uses_gguf_template_like_llama_cpp_python(tiny_gguf, engine):
    engine.load(tiny_gguf)
    params = greedy(12)
    history = [ChatMessage("user", "hi"), ChatMessage("assistant", "hello there")]
    result = engine.generate(TextRequest("tell me a story", history=history, system_prompt="Be brief.",
                                         mode="chat", sampling=params))
    assert result.mode == "chat" and result.note == ""
    llm = llama_cpp.Llama(model_path=str(tiny_gguf), n_ctx=engine.loaded.n_ctx, verbose=False)
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"},
                {"role": "assistant", "content": "hello there"}, {"role": "user", "content": "tell me a story"}]
    bare = llm.create_chat_completion(messages, max_tokens=12, temperature=0.0, top_k=params.top_k,
                                      top_p=params.top_p, min_p=params.min_p, repeat_penalty=1.0, seed=0)
    llm.close()
    assert result.text == bare["choices"][0]["message"]["content"]
    assert result.prompt_tokens == bare["usage"]["prompt_tokens"]


def test_model_without_template_falls_back_to_completion_with_note(stories260k, engine):
    loaded = engine.load(stories260k)
    assert not loaded.chat_available and "no chat template" in loaded.template_note
    result = engine.generate(TextRequest(PROMPT, mode="chat", sampling=greedy(8)))
    assert result.mode == "completion"
    assert "no chat template" in result.note
    assert result.mode_note == loaded.template_note and result.other_note == ""  # the card shows the former


def test_stop_mid_stream_takes_effect_within_one_token(tiny_gguf, engine, sink):
    engine.load(tiny_gguf)
    cancel = CancelToken()
    chunks = []

    def progress(report):
        chunks.append(report.payload.text)
        if report.current == 5:
            cancel.cancel()

    result = engine.generate(TextRequest(PROMPT, sampling=greedy(200)), cancel=cancel, progress=progress)
    assert result.finish_reason == "cancelled"
    assert result.completion_tokens == 5
    assert result.text == "".join(chunks)
    assert sink.records[-1].output_text == result.text
    assert sink.records[-1].parameters["finish_reason"] == "cancelled"


def test_stop_can_discard_the_partial_reply(tiny_gguf, engine, sink):
    engine.load(tiny_gguf)
    cancel = CancelToken()
    request = TextRequest(PROMPT, sampling=greedy(200), keep_partial=False)
    with pytest.raises(JobCancelled):
        engine.generate(request, cancel=cancel, progress=lambda r: cancel.cancel())
    assert sink.records == []


def test_stop_strings_end_the_reply_before_the_stop(tiny_gguf, engine):
    engine.load(tiny_gguf)
    full = engine.generate(TextRequest(PROMPT, sampling=greedy(40))).text
    stop = full[len(full) // 2: len(full) // 2 + 3]
    cut = engine.generate(TextRequest(PROMPT, sampling=greedy(40, stop=[stop])))
    assert cut.finish_reason == "stop"
    assert cut.text == full[: full.index(stop)]


def test_seeded_sampling_is_reproducible_and_the_seed_recorded(tiny_gguf, engine, sink):
    engine.load(tiny_gguf)
    params = SamplingParams(temperature=1.0, max_tokens=24, seed=-1)
    first = engine.generate(TextRequest(PROMPT, sampling=params))
    assert 0 <= first.seed and sink.records[-1].seed == first.seed
    again = engine.generate(TextRequest(PROMPT, sampling=replace(params, seed=first.seed)))
    assert again.text == first.text


def test_record_has_everything_to_reproduce(tiny_gguf, engine, sink):
    loaded = engine.load(tiny_gguf)
    result = engine.generate(TextRequest("hello", system_prompt="sys", thread_id="t1", parent_id="p0",
                                         sampling=greedy(6)))
    record = sink.records[-1]
    assert record.id == result.record_id
    assert record.kind == "text" and record.prompt == "hello" and record.system_prompt == "sys"
    assert record.session_id == "t1" and record.parent_id == "p0"
    assert record.output_text == result.text
    assert record.model.sha256 == hashlib.sha256(tiny_gguf.read_bytes()).hexdigest() == loaded.sha256
    assert record.model.file == tiny_gguf.name and record.model.size == tiny_gguf.stat().st_size
    assert record.model.quantization == "F32"
    for key in ("temperature", "top_k", "top_p", "min_p", "repeat_penalty", "max_tokens", "stop",
                "n_ctx", "n_gpu_layers", "mode"):
        assert key in record.parameters
    assert record.parameters["n_gpu_layers"] == loaded.gpu.n_gpu_layers
    assert record.timings["completion_tokens"] == result.completion_tokens == 6
    assert record.timings["prompt_tokens"] == result.prompt_tokens > 0
    assert record.timings["ttft_s"] > 0 and record.timings["tokens_per_s"] > 0
    assert record.device == loaded.device
    assert record.versions["llama_cpp_python"] == llama_cpp.__version__
    assert record.versions["genlab"] == __version__
    assert record.timings["load_s"] >= 0 and record.timings["total_s"] >= record.timings["ttft_s"]


def test_unload_frees_the_model(tiny_gguf, engine):
    engine.load(tiny_gguf)
    assert engine.is_loaded(tiny_gguf)
    ref = weakref.ref(engine._llm)
    engine.unload()
    gc.collect()
    assert ref() is None and engine.loaded is None and not engine.is_loaded(tiny_gguf)
    with pytest.raises(ModelFileError, match="No model is loaded"):
        engine.generate(TextRequest(PROMPT, sampling=greedy(4)))


def test_switching_models_frees_the_previous_one(tiny_gguf, stories260k, engine):
    engine.load(tiny_gguf)
    ref = weakref.ref(engine._llm)
    loaded = engine.load(stories260k)
    gc.collect()
    assert ref() is None
    assert loaded.path == stories260k and loaded.info.layer_count == 5


def test_loading_the_same_model_again_keeps_it(tiny_gguf, engine):
    engine.load(tiny_gguf)
    llm = engine._llm
    engine.load(tiny_gguf)
    assert engine._llm is llm


def test_default_context_is_training_context_capped(tiny_gguf, engine):
    loaded = engine.load(tiny_gguf)
    assert loaded.n_ctx == min(loaded.info.context_length, 8192)
    assert engine.load(tiny_gguf, LoadOptions(n_ctx=256)).n_ctx == 256


# --- bad input -------------------------------------------------------------------

@pytest.mark.parametrize("prompt", ["", "   \n\t"])
def test_empty_prompt_is_refused(tiny_gguf, engine, prompt):
    engine.load(tiny_gguf)
    with pytest.raises(InvalidParameter, match="prompt is empty"):
        engine.generate(TextRequest(prompt))


def test_megabyte_prompt_is_a_clear_context_error(tiny_gguf, engine, sink):
    engine.load(tiny_gguf, LoadOptions(n_ctx=512))
    with pytest.raises(ContextOverflow, match="more than the model's context of 512 tokens") as info:
        engine.generate(TextRequest("the cat sat. " * 80_000, sampling=greedy(8)))
    assert info.value.prompt_tokens > 512 and not info.value.can_drop_turns
    assert sink.records == []
    assert engine.generate(TextRequest(PROMPT, sampling=greedy(4))).completion_tokens == 4


def test_nul_bytes_and_emoji_in_prompts(tiny_gguf, engine, sink):
    engine.load(tiny_gguf)
    prompt = "a\x00b 😀🎉 naïve"
    result = engine.generate(TextRequest(prompt, sampling=greedy(6)))
    assert result.completion_tokens == 6
    assert sink.records[-1].prompt == prompt


def test_overflowing_conversation_offers_and_drops_oldest_turns(tiny_gguf, engine):
    engine.load(tiny_gguf, LoadOptions(n_ctx=128))
    history = []
    for i in range(12):
        history += [ChatMessage("user", f"question {i} about the cat"), ChatMessage("assistant", "the dog ran")]
    request = TextRequest("and then?", history=history, sampling=greedy(16))
    with pytest.raises(ContextOverflow, match="conversation is .* tokens, more than the model's context of 128") as info:
        engine.generate(request)
    assert info.value.can_drop_turns and "drop the oldest turns" in info.value.hint
    result = engine.generate(replace(request, drop_oldest_turns=True))
    assert "Dropped the" in result.note
    assert result.prompt_tokens + 16 <= 128 and result.completion_tokens == 16


@pytest.mark.parametrize("params, field", [
    (SamplingParams(temperature=-0.5), "Temperature must be"),
    (SamplingParams(top_p=1.5), "Top-p must be"),
    (SamplingParams(max_tokens=0), "Max tokens must be"),
    (SamplingParams(top_k=-1), "Top-k must be"),
    (SamplingParams(min_p=2.0), "Min-p must be"),
    (SamplingParams(repeat_penalty=0), "Repeat penalty must be"),
    (SamplingParams(seed=2**40), "Seed must be"),
    (SamplingParams(temperature=float("nan")), "Temperature must be"),
    (SamplingParams(stop=[""]), "Stop strings is empty"),
])
def test_invalid_sampling_values_are_refused_clearly(tiny_gguf, engine, sink, params, field):
    engine.load(tiny_gguf)
    with pytest.raises(InvalidParameter, match=field):
        engine.generate(TextRequest(PROMPT, sampling=params))
    assert sink.records == []


def test_bad_files_are_refused_and_the_loaded_model_stays(tiny_gguf, tmp_path, engine):
    engine.load(tiny_gguf)
    fake = tmp_path / "fake.gguf"
    fake.write_bytes(b"PK\x03\x04 a zip renamed to gguf" * 10)
    truncated = tmp_path / "truncated.gguf"
    truncated.write_bytes(tiny_gguf.read_bytes()[:100_000])
    damaged = tmp_path / "damaged.gguf"
    damaged.write_bytes(tiny_gguf.read_bytes().replace(b"general.architecture", b"general.architecturQ", 1))
    for path, message in [(fake, "not a GGUF"), (truncated, "truncated"), (damaged, "damaged metadata"),
                          (tmp_path / "missing.gguf", "does not exist")]:
        with pytest.raises(ModelFileError, match=message):
            engine.load(path)
        assert engine.loaded is not None and engine.loaded.path == tiny_gguf
    assert engine.generate(TextRequest(PROMPT, sampling=greedy(3))).completion_tokens == 3


def test_model_file_deleted_while_loaded(tiny_gguf, tmp_path, engine, sink):
    copy = tmp_path / "doomed.gguf"
    copy.write_bytes(tiny_gguf.read_bytes())
    loaded = engine.load(copy)
    copy.unlink()
    result = engine.generate(TextRequest(PROMPT, sampling=greedy(5)))  # the weights stay mapped
    assert result.completion_tokens == 5
    assert sink.records[-1].model.sha256 == loaded.sha256
    engine.unload()
    with pytest.raises(ModelFileError, match="does not exist"):
        engine.load(copy)


def test_stop_during_load_leaves_no_model(tiny_gguf, engine):
    cancel = CancelToken()

    def progress(report):
        if report.message.startswith("Loading"):
            cancel.cancel()  # llama.cpp is about to load; the stop applies when it returns

    with pytest.raises(JobCancelled):
        engine.load(tiny_gguf, cancel=cancel, progress=progress)
    assert engine.loaded is None and engine._llm is None


def test_history_failure_keeps_the_reply(tiny_gguf):
    class FullDisk:
        def save(self, record):
            raise OSError(28, "No space left on device")

    engine = TextEngine(history=FullDisk())
    engine.load(tiny_gguf)
    result = engine.generate(TextRequest(PROMPT, sampling=greedy(4)))
    assert result.completion_tokens == 4 and "Not saved to the history" in result.note
    engine.close()


def test_invalid_load_options(tiny_gguf, engine):
    with pytest.raises(InvalidParameter, match="Context must be 0 "):
        engine.load(tiny_gguf, LoadOptions(n_ctx=3))
    with pytest.raises(InvalidParameter, match="Threads must be 0 "):
        engine.load(tiny_gguf, LoadOptions(n_threads=-1))


def test_template_that_refuses_a_system_prompt(tmp_path, engine):
    from desktop.core.tiny_models import write_tiny_gguf

    template = ("{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}"
                "{% endif %}{% for m in messages %}{{ m['content'] }}\n{% endfor %}")
    engine.load(write_tiny_gguf(tmp_path / "strict.gguf", chat_template=template))
    with pytest.raises(InvalidParameter, match="System role not supported"):
        engine.generate(TextRequest("hi", system_prompt="be nice", sampling=greedy(4)))
    assert engine.generate(TextRequest("hi", sampling=greedy(4))).mode == "chat"


def test_invalid_jinja_template_is_refused_clearly(tmp_path, engine, tiny_gguf):
    from desktop.core.tiny_models import write_tiny_gguf

    engine.load(tiny_gguf)
    broken = write_tiny_gguf(tmp_path / "broken.gguf", chat_template="{% for m in messages %}")
    with pytest.raises(ModelFileError, match="chat template is not valid Jinja"):
        engine.load(broken)
    unprobed = TextEngine(safe_load=False)
    with pytest.raises(ModelFileError, match="chat template that is not valid Jinja"):
        unprobed.load(broken)
    assert unprobed.loaded is None


LONG_PROMPT = " ".join(["the little cat saw a big dog and they went to play in the sun"] * 90)


def test_long_prompt_is_read_in_batches_with_the_same_output(tiny_gguf, engine):
    loaded = engine.load(tiny_gguf)
    reports = []
    params = greedy(16)
    result = engine.generate(TextRequest(LONG_PROMPT, mode="completion", sampling=params),
                             progress=reports.append)
    reading = [r for r in reports if r.message.startswith("Reading the prompt")]
    assert result.prompt_tokens > 2 * engine._llm.n_batch and len(reading) >= 2
    assert result.text == bare_completion(tiny_gguf, LONG_PROMPT, params, loaded.n_ctx)


def test_stop_while_reading_a_long_prompt(tiny_gguf, engine, sink):
    loaded = engine.load(tiny_gguf)
    cancel = CancelToken()

    def progress(report):
        if report.message.startswith("Reading the prompt"):
            cancel.cancel()

    with pytest.raises(JobCancelled):
        engine.generate(TextRequest(LONG_PROMPT, mode="completion", sampling=greedy(16)),
                        cancel=cancel, progress=progress)
    assert sink.records == []
    # The half-read prompt does not leak into the next reply.
    params = greedy(12)
    result = engine.generate(TextRequest(PROMPT, mode="completion", sampling=params))
    assert result.text == bare_completion(tiny_gguf, PROMPT, params, loaded.n_ctx)


def _chat(prompt: str, history: list[ChatMessage], **kw) -> TextRequest:
    return TextRequest(prompt, history=list(history), mode="chat",
                       sampling=SamplingParams(seed=7, temperature=0.8, max_tokens=40), **kw)


@pytest.mark.slow
def test_a_reply_does_not_depend_on_what_the_model_held_before(smollm2, sink):
    """A reply made in a chat with earlier turns (the cache holds them) is the reply a fresh
    process gives, so the record can be re-run exactly; old code reused the cache and differed."""
    from desktop.core.history.rerun import compare_text, text_rerun_request

    engine = TextEngine(history=sink, safe_load=False)
    try:
        engine.load(smollm2, LoadOptions(n_ctx=2048))
        first = engine.generate(_chat("Tell me about cats.", []))
        history = [ChatMessage("user", "Tell me about cats."), ChatMessage("assistant", first.text)]
        second = engine.generate(_chat("And dogs?", history))
        engine.generate(_chat("Write a poem about the sea.", []))  # other context in the cache
        rerun = engine.generate(text_rerun_request([first.record, second.record]))
    finally:
        engine.close()
    assert compare_text(second.text, rerun.text).matches, compare_text(second.text, rerun.text).diff
    assert rerun.text.encode() == second.text.encode() and rerun.text

    fresh = TextEngine(history=ListSink(), safe_load=False)  # another process, as the CLI
    try:
        fresh.load(smollm2, LoadOptions(n_ctx=2048))
        assert fresh.generate(_chat("And dogs?", history)).text == second.text
    finally:
        fresh.close()


@pytest.mark.slow
def test_long_prompts_keep_their_whole_batches_and_still_match_a_fresh_context(smollm2, sink):
    from desktop.core.text.stream import reusable_prefix

    facts = " ".join(f"Item {i} is a fact about the number {i * 7}." for i in range(120))
    engine = TextEngine(history=sink, safe_load=False)
    try:
        engine.load(smollm2, LoadOptions(n_ctx=4096))
        first = engine.generate(_chat("Summarize: " + facts, []))
        history = [ChatMessage("user", "Summarize: " + facts), ChatMessage("assistant", first.text)]
        plan = engine.prepare(_chat("Tell me more.", history))
        n_batch = int(engine._llm.n_batch)
        assert reusable_prefix(engine._canonical, plan.tokens, n_batch) >= n_batch  # the cache is used
        second = engine.generate(_chat("Tell me more.", history))
        again = engine.generate(_chat("Tell me more.", history, fresh_context=True))
    finally:
        engine.close()
    assert again.text == second.text


@pytest.mark.slow
def test_a_prompt_asked_again_is_not_evaluated_again_and_replies_as_a_fresh_context(smollm2, sink):
    """A regenerate (the same prompt, greedy or another seed) restores the prompt's state and the
    logits its fresh evaluation gave: no prompt token is evaluated again, and the reply is the one a
    fresh context gives, so its record still re-runs exactly."""
    engine = TextEngine(history=sink, safe_load=False)

    def ask(params: SamplingParams, prompt: str = "Tell me about cats.", **kw):
        return engine.generate(TextRequest(prompt, mode="chat", sampling=params, **kw))

    seeded = SamplingParams(seed=11, temperature=0.8, max_tokens=40)
    try:
        engine.load(smollm2, LoadOptions(n_ctx=2048))
        first = ask(greedy(40))
        again = ask(greedy(40))
        sampled = ask(seeded)
        fresh_sampled = ask(seeded, fresh_context=True)
        ask(greedy(8), "Write a poem about the sea.")  # another prompt in the cache
        after_other = ask(greedy(40))
    finally:
        engine.close()

    def cached(result) -> int:
        return result.record.timings["cached_prompt_tokens"]

    assert first.text and first.prompt_tokens > 0 and cached(first) == 0
    assert cached(again) == again.prompt_tokens == first.prompt_tokens
    assert again.text.encode() == first.text.encode()
    assert cached(sampled) == first.prompt_tokens and cached(fresh_sampled) == 0
    assert sampled.text.encode() == fresh_sampled.text.encode() and sampled.text != first.text
    assert cached(after_other) == 0 and after_other.text.encode() == first.text.encode()


def test_loading_a_file_by_path_lists_it_in_the_library_as_a_link(tiny_gguf, engine, sink):
    from desktop.core.history.rerun import rerun_model_path
    from desktop.core.models.library import Library

    engine.load(tiny_gguf, LoadOptions(n_ctx=256))
    [model] = Library().models()
    assert model.path == str(tiny_gguf) and not model.owned and model.last_used > 0
    result = engine.generate(TextRequest(PROMPT, mode="completion", sampling=greedy(4)))
    assert rerun_model_path(result.record) == str(tiny_gguf)
    assert tiny_gguf.exists()
