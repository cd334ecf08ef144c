"""GenLab as the remote engine of another GenLab: the test's own data root adds the module's server
(another data root) as a source and chats with its SmolLM2 through the engine slot.  Both histories
say where the reply was made: remote:<host> on this side, origin "api" with the GenLab client there."""

from __future__ import annotations

import pytest

from desktop.core.jobs import CancelToken
from desktop.core.models.remote import RemoteError, RemoteSources
from desktop.core.records import ListSink
from desktop.core.text.params import SamplingParams
from desktop.core.text.prompt import TextRequest
from desktop.core.text.remote import PARAMETER_KEY
from desktop.core.text.remote_client import RemoteClient
from desktop.core.text.remote_slot import EngineSlot
from desktop.core.text.stream import StreamChunk
from tests.core.server.conftest import SMOL, start_server

pytestmark = pytest.mark.slow
KEY = "remote-engine-key-1"


@pytest.fixture
def sink():
    return ListSink()


@pytest.fixture
def slot(served, genlab_home, sink):
    assert genlab_home != served.shared.home  # a second data root uses the first one's server
    source = RemoteSources().add(served.server.url, name="genlab")
    engine = EngineSlot(sink, safe_load=False)
    engine.load(source.ref(SMOL))
    yield engine
    engine.close()


def test_the_server_lists_its_library_models(served):
    assert SMOL in RemoteClient(served.server.url).list_models()


def test_a_reply_streams_and_both_histories_say_where_it_ran(served, slot, sink):
    pieces: list[StreamChunk] = []
    result = slot.generate(TextRequest("Name three fruits.", sampling=SamplingParams(temperature=0, max_tokens=12,
                                                                                      seed=4)),
                           progress=lambda p: pieces.append(p.payload) if isinstance(p.payload, StreamChunk) else None)
    assert len(pieces) > 2 and "".join(p.text for p in pieces) == result.text
    assert result.finish_reason == "length" and result.completion_tokens == 12  # the server's usage count
    record = sink.records[-1]
    assert record.device == f"remote:{served.server.url.split('//')[1].split('/')[0]}"
    remote = record.parameters[PARAMETER_KEY]
    assert remote["served_model"] == SMOL and remote["usage_reported"] and remote["source"] == "genlab"
    store = served.shared.history_store
    store.flush(timeout=60)
    served_records = [r for r in store.iter_records("origin = 'api'") if r.prompt == "Name three fruits."]
    assert [r.output_text for r in served_records] == [result.text]
    assert served_records[0].parameters["api_client"].startswith("GenLab/")


def test_a_cancel_stops_the_served_generation_within_one_token(served, slot):
    token = CancelToken()
    seen: list[StreamChunk] = []

    def progress(p):
        if isinstance(p.payload, StreamChunk):
            seen.append(p.payload)
            if len(seen) == 3:
                token.cancel()

    result = slot.generate(TextRequest("Tell me a very long story about a lighthouse.",
                                       sampling=SamplingParams(temperature=0, max_tokens=300, seed=1)),
                           cancel=token, progress=progress)
    assert result.finish_reason == "cancelled" and len(seen) == 3
    entry = served.log.wait_for(lambda e: e.client.startswith("GenLab/") and e.outcome == "cancelled", timeout=120)
    assert entry is not None and entry.completion_tokens < 300
    assert entry.tokens_after_cancel is not None and entry.tokens_after_cancel <= 1


def test_a_stop_string_ends_the_reply(served, slot):
    free = slot.generate(TextRequest("Count from 1 to 10.", sampling=SamplingParams(temperature=0, max_tokens=40)))
    assert "5" in free.text
    stopped = slot.generate(TextRequest("Count from 1 to 10.",
                                        sampling=SamplingParams(temperature=0, max_tokens=40, stop=["5"])))
    assert stopped.text == free.text[:free.text.index("5")] and stopped.finish_reason == "stop"


def test_a_keyed_server_refuses_a_wrong_key_and_takes_the_right_one(served, keyring_backend):
    keyring_backend("working")
    server = start_server(served.shared, api_key=KEY)
    try:
        with pytest.raises(RemoteError, match=r"refused the API key \(401"):
            RemoteClient(server.url, KEY + "x").list_models()
        source = RemoteSources().add(server.url, name="keyed", api_key=KEY)
        assert SMOL in RemoteClient(source.base_url, source.api_key()).list_models()
    finally:
        server.stop()
