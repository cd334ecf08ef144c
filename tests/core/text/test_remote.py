"""The remote text engine against servers GenLab did not write: llama-cpp-python's own OpenAI server
(streaming, stop strings, cancel, the record, wrong and missing keys), a port that accepts and never
answers, and a closed port."""

from __future__ import annotations

import threading

import pytest

from desktop.core.jobs import CancelToken, JobCancelled
from desktop.core.models.remote import RemoteError, RemoteSources
from desktop.core.records import ListSink
from desktop.core.text.params import SamplingParams
from desktop.core.text.prompt import ChatMessage, TextRequest
from desktop.core.text.remote import PARAMETER_KEY, is_remote_loaded
from desktop.core.text.remote_client import RemoteClient, Timeouts
from desktop.core.text.remote_slot import EngineSlot
from desktop.core.text.stream import StreamChunk
from tests.support.remote_servers import (
    API_KEY,
    SilentServer,
    StalledStream,
    closed_port_url,
    start_llama_server,
    stop,
)


@pytest.fixture(scope="module")
def llama_server(smollm2):
    server = start_llama_server(smollm2)
    yield server
    stop(server)


@pytest.fixture
def sink():
    return ListSink()


@pytest.fixture
def slot(llama_server, keyring_backend, sink):
    """An engine slot with llama-cpp-python's server added as a source (its key in the keyring)."""
    keyring_backend("working")
    source = RemoteSources().add(llama_server.url, api_key=API_KEY, models=[llama_server.model])
    engine = EngineSlot(sink, safe_load=False)
    engine.load(source.ref(llama_server.model))
    yield engine
    engine.close()


def greedy(max_tokens=24, **kw):
    return SamplingParams(temperature=0.0, max_tokens=max_tokens, seed=3, **kw)


@pytest.mark.slow
def test_the_server_lists_its_models_with_the_key_and_refuses_a_wrong_or_missing_one(llama_server):
    assert RemoteClient(llama_server.url, API_KEY).list_models() == [llama_server.model]
    for key in ("wrong-key", ""):
        with pytest.raises(RemoteError, match=r"refused the API key \(401"):
            RemoteClient(llama_server.url, key).list_models()


@pytest.mark.slow
def test_a_reply_streams_in_pieces_and_its_record_says_where_it_ran(slot, llama_server, sink):
    pieces: list[StreamChunk] = []
    result = slot.generate(TextRequest("Write two sentences about the sea.", history=[ChatMessage("user", "Hi"),
                                                             ChatMessage("assistant", "Hello!")],
                                       system_prompt="Be brief.", sampling=greedy(), thread_id="t1"),
                           progress=lambda p: pieces.append(p.payload) if isinstance(p.payload, StreamChunk) else None)
    assert len(pieces) > 3 and "".join(p.text for p in pieces) == result.text and result.text.strip()
    assert result.finish_reason in ("stop", "length") and result.mode == "chat"
    record = sink.records[-1]
    assert record.id == result.record_id and record.output_text == result.text and record.session_id == "t1"
    assert record.device == f"remote:{llama_server.host}"
    assert record.model.name == llama_server.model and record.model.sha256 == ""
    remote = record.parameters[PARAMETER_KEY]
    assert remote["url"] == llama_server.url and remote["host"] == llama_server.host
    assert remote["model"] == remote["served_model"] == llama_server.model
    assert remote["completion_id"].startswith("chatcmpl") and "top_k" in remote["not_sent"]
    assert record.parameters["temperature"] == 0.0 and record.seed == 3 and record.parameters["history_messages"] == 2
    again = slot.generate(TextRequest("Write two sentences about the sea.", history=[ChatMessage("user", "Hi"), ChatMessage("assistant", "Hello!")],
                                      system_prompt="Be brief.", sampling=greedy()))
    assert again.text == result.text  # greedy with one seed: the server gives the same reply


@pytest.mark.slow
def test_a_stop_string_ends_the_reply_before_it(slot):
    free = slot.generate(TextRequest("Count from 1 to 10, separated by commas.", sampling=greedy(40)))
    assert "4" in free.text
    cut = free.text[:free.text.index("4")]
    stopped = slot.generate(TextRequest("Count from 1 to 10, separated by commas.", sampling=greedy(40, stop=["4"])))
    assert stopped.text == cut and stopped.finish_reason == "stop"


@pytest.mark.slow
def test_a_cancel_closes_the_stream_before_the_next_token(slot, sink):
    token = CancelToken()
    seen: list[StreamChunk] = []

    def progress(p):
        if isinstance(p.payload, StreamChunk):
            seen.append(p.payload)
            if len(seen) == 2:
                token.cancel()

    result = slot.generate(TextRequest("Tell a long story about a dragon.", sampling=greedy(200)),
                           cancel=token, progress=progress)
    assert result.finish_reason == "cancelled" and len(seen) == 2
    assert result.text == "".join(c.text for c in seen)
    assert sink.records[-1].parameters["finish_reason"] == "cancelled"
    with pytest.raises(JobCancelled):  # not kept: nothing is returned or recorded
        gone = CancelToken()
        gone.cancel()
        slot.generate(TextRequest("Again", sampling=greedy(), keep_partial=False), cancel=gone)


@pytest.mark.slow
def test_grounding_counts_a_remote_models_prompt_by_the_estimate_not_its_unknown_context(slot):
    """A remote model reports a context of 0 and tokenizes on its server: the grounding budget
    falls back to the estimate instead of packing sources into a context of 0 tokens."""
    from desktop.core.knowledge.budget import ESTIMATE_CONTEXT, EstimatedBudget, budget_for

    assert slot.loaded is not None and slot.loaded.n_ctx == 0
    budget = budget_for(slot)
    assert isinstance(budget, EstimatedBudget) and not budget.exact and budget.n_ctx == ESTIMATE_CONTEXT
    request = TextRequest("Summarise the notes about rivers.", mode="chat", sampling=SamplingParams(max_tokens=64))
    assert budget.prompt_tokens(request) > 0


@pytest.mark.slow
def test_loading_a_model_the_server_does_not_list_names_what_it_lists(slot, llama_server):
    source = RemoteSources().get(llama_server.host)
    with pytest.raises(RemoteError, match="does not serve 'nope'.*it lists"):
        slot.load(source.ref("nope"))


@pytest.mark.slow
def test_a_remote_load_frees_the_local_model_and_a_local_load_forgets_the_remote_one(slot, smollm2, sink):
    assert is_remote_loaded(slot.loaded)
    slot.load(smollm2)
    assert slot.loaded is not None and slot.loaded.path == smollm2 and slot.remote.loaded is None
    assert slot.is_loaded(smollm2)
    local = slot.generate(TextRequest("Hi", sampling=greedy(4)))
    assert sink.records[-1].device != "" and not sink.records[-1].device.startswith("remote:")
    assert local.text


@pytest.mark.slow
def test_a_server_gone_after_the_load_fails_the_reply_with_a_clear_message_and_works_again(smollm2, sink):
    server = start_llama_server(smollm2)
    engine = EngineSlot(sink, safe_load=False)
    try:
        source = RemoteSources().add(server.url, name="box", api_key="", models=[server.model])
        with pytest.raises(RemoteError, match="refused the API key"):  # the key is part of the source
            engine.load(source.ref(server.model))
        source = RemoteSources().add(server.url, name="box", api_key=API_KEY, models=[server.model])
        engine.load(source.ref(server.model))
    finally:
        stop(server)
    with pytest.raises(RemoteError, match="Cannot reach 127.0.0.1:[0-9]+.*try again"):
        engine.generate(TextRequest("Hi", sampling=greedy(4)))
    assert sink.records == [] and engine.loaded is not None  # Send again is the retry


def test_a_closed_port_says_it_cannot_be_reached():
    with pytest.raises(RemoteError, match="Cannot reach 127.0.0.1:[0-9]+: Connection refused"):
        RemoteClient(closed_port_url()).list_models()


@pytest.mark.slow
def test_a_server_that_accepts_and_never_answers_ends_in_a_read_timeout():
    silent = SilentServer()
    try:
        RemoteSources().add(silent.url, name="silent")
        engine = EngineSlot(ListSink(), safe_load=False, timeouts=Timeouts(connect_s=2, read_s=0.5))
        with pytest.raises(RemoteError, match="accepted the connection but sent nothing for 0.5 s"):
            engine.load("remote:silent/any")
        assert engine.loaded is None
    finally:
        silent.close()


def test_a_cancel_while_the_server_is_silent_ends_the_stream_without_waiting_for_the_timeout():
    stalled = StalledStream()
    token = CancelToken()
    threading.Thread(target=lambda: stalled.connected.wait(30) and token.cancel()).start()
    try:
        client = RemoteClient(stalled.url, timeouts=Timeouts(connect_s=2, read_s=120))
        with client.stream("chat/completions", {"model": "m", "messages": []}, token) as chunks:
            assert list(chunks) == []  # ended by the cancel; a read timeout would raise RemoteError
        assert token.cancelled
    finally:
        stalled.close()
