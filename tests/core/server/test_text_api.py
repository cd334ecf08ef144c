"""The official openai client against GenLab's server on the real SmolLM2: chat, completions, streams.

The stream checks are those llama.cpp's own server tests make: the first
chunk carries ``role: assistant`` and later ones none, every chunk has the
same ``id``, the finish chunk has no content, and with ``include_usage`` a
usage-only chunk with ``choices: []`` comes last.
"""

from __future__ import annotations

import httpx2
import openai
import pytest

from desktop.core.history.search import SearchQuery
from tests.core.server.conftest import SMOL, openai_client, start_server

pytestmark = pytest.mark.slow

HI = [{"role": "user", "content": "Say hello to me."}]


def test_models_list_names_the_library_models_and_the_embedder(served):
    models = served.client().models.list()
    ids = [m.id for m in models.data]
    assert SMOL in ids
    assert "all-MiniLM-L6-v2" in ids
    assert all(m.object == "model" and m.owned_by == "genlab" for m in models.data)


def test_chat_completion_counts_usage_and_stops_at_max_tokens(served):
    reply = served.client().chat.completions.create(model=SMOL, messages=HI, max_tokens=8, temperature=0)
    choice = reply.choices[0]
    assert choice.message.role == "assistant" and choice.message.content
    assert choice.finish_reason == "length"
    assert reply.usage.completion_tokens == 8
    assert reply.usage.prompt_tokens > 0
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + 8
    assert reply.id.startswith("chatcmpl-") and reply.model == SMOL


def test_greedy_replies_and_seeded_replies_repeat(served):
    client = served.client()
    first = client.chat.completions.create(model=SMOL, messages=HI, max_tokens=8, temperature=0)
    again = client.chat.completions.create(model=SMOL, messages=HI, max_tokens=8, temperature=0)
    assert first.choices[0].message.content == again.choices[0].message.content
    seeded = [client.chat.completions.create(model=SMOL, messages=HI, max_tokens=8, temperature=1.0, seed=42)
              .choices[0].message.content for _ in range(2)]
    assert seeded[0] == seeded[1]


def test_a_stop_string_ends_the_reply_with_finish_reason_stop(served):
    client = served.client()
    free = client.chat.completions.create(model=SMOL, messages=HI, max_tokens=12, temperature=0)
    text = free.choices[0].message.content
    word = text.split()[1]  # a word the greedy reply reaches
    stopped = client.chat.completions.create(model=SMOL, messages=HI, max_tokens=12, temperature=0, stop=[word])
    assert stopped.choices[0].finish_reason == "stop"
    assert word not in stopped.choices[0].message.content
    assert text.startswith(stopped.choices[0].message.content)


def test_stream_chunks_follow_the_openai_shape(served):
    chunks = list(served.client().chat.completions.create(
        model=SMOL, messages=HI, max_tokens=8, temperature=0, stream=True, stream_options={"include_usage": True}))
    assert len({c.id for c in chunks}) == 1
    first, *middle, finish, usage = chunks
    assert first.choices[0].delta.role == "assistant"
    assert all(c.choices[0].delta.role is None for c in middle + [finish])
    assert finish.choices[0].finish_reason == "length" and not finish.choices[0].delta.content
    assert all(c.choices[0].finish_reason is None for c in [first] + middle)
    assert usage.choices == [] and usage.usage.completion_tokens == 8
    whole = served.client().chat.completions.create(model=SMOL, messages=HI, max_tokens=8, temperature=0)
    assert "".join(c.choices[0].delta.content or "" for c in chunks[:-1]) == whole.choices[0].message.content


def test_stream_without_include_usage_sends_no_usage_chunk(served):
    chunks = list(served.client().chat.completions.create(model=SMOL, messages=HI, max_tokens=4, stream=True))
    assert all(c.choices for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "length"


def test_completions_plain_and_streamed_agree(served):
    client = served.client()
    whole = client.completions.create(model=SMOL, prompt="Once upon a time", max_tokens=8, temperature=0)
    assert whole.choices[0].finish_reason == "length" and whole.usage.completion_tokens == 8
    # The client's Completion type has a non-null finish_reason, which OpenAI's own stream chunks break
    # (null until the last), so this stream is read without strict validation and checked here.
    loose = served.client(_strict_response_validation=False)
    chunks = list(loose.completions.create(model=SMOL, prompt="Once upon a time", max_tokens=8, temperature=0,
                                           stream=True, stream_options={"include_usage": True}))
    assert len({c.id for c in chunks}) == 1
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "length"
    assert all(c.choices[0].finish_reason is None for c in chunks[:-2])
    assert "".join(c.choices[0].text for c in chunks if c.choices) == whole.choices[0].text
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 8


def test_system_and_earlier_turns_reach_the_model(served):
    client = served.client()
    system = [{"role": "system", "content": "You only speak French."}]
    plain = client.chat.completions.create(model=SMOL, messages=HI, max_tokens=4, temperature=0)
    told = client.chat.completions.create(model=SMOL, messages=system + HI, max_tokens=4, temperature=0)
    turns = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Bonjour, mon ami !"}]
    more = client.chat.completions.create(model=SMOL, messages=system + turns + HI, max_tokens=4, temperature=0)
    assert told.usage.prompt_tokens != plain.usage.prompt_tokens  # SmolLM2's own default system prompt went
    assert more.usage.prompt_tokens > told.usage.prompt_tokens + 8


def test_served_replies_are_history_records_of_origin_api_with_the_client_name(served):
    store = served.shared.history_store
    store.flush(timeout=60)
    before = store.count()
    client = served.client(default_headers={"User-Agent": "NotesApp/2.1"})
    client.chat.completions.create(model=SMOL, messages=[{"role": "user", "content": "Name a fruit."}],
                                   max_tokens=6, temperature=0)
    store.flush(timeout=60)
    records = [r for r in store.iter_records("origin = 'api'") if r.prompt == "Name a fruit."]
    assert len(records) == 1
    record = records[0]
    assert record.parameters["api_client"] == "NotesApp/2.1"
    assert record.parameters["api_endpoint"] == "/v1/chat/completions"
    assert record.model.file == SMOL and record.kind == "text"
    assert store.count() == before + 1
    found = store.search(SearchQuery("fruit", mode="keyword", filters={"origin": "api"}))
    assert [h.record.id for h in found.hits] == [record.id]


def test_genlab_history_false_and_incognito_record_nothing(served):
    store = served.shared.history_store
    client = served.client()
    client.chat.completions.create(model=SMOL, messages=[{"role": "user", "content": "Private question one."}],
                                   max_tokens=4, extra_body={"genlab": {"history": False}})
    served.shared.settings.history.incognito = True
    try:
        client.chat.completions.create(model=SMOL, messages=[{"role": "user", "content": "Private question two."}],
                                       max_tokens=4)
    finally:
        served.shared.settings.history.incognito = False
    client.chat.completions.create(model=SMOL, messages=[{"role": "user", "content": "Public question three."}],
                                   max_tokens=4)  # saved after the two, so its presence shows the writer ran
    store.flush(timeout=60)
    prompts = {r.prompt for r in store.iter_records("origin = 'api'")}
    assert "Public question three." in prompts
    assert not prompts & {"Private question one.", "Private question two."}


def test_a_client_that_disconnects_mid_stream_stops_the_generation_within_one_token(served):
    body = {"model": SMOL, "messages": [{"role": "user", "content": "Tell me a very long story."}],
            "max_tokens": 400, "temperature": 0, "stream": True}
    with httpx2.Client(base_url=served.server.url, timeout=60) as http:
        with http.stream("POST", "/chat/completions", json=body, headers={"User-Agent": "leaver"}) as response:
            assert response.status_code == 200
            seen = 0
            for line in response.iter_lines():
                if line.startswith("data: "):
                    seen += 1
                if seen >= 4:
                    break
        # leaving the block closes the connection mid-stream
    entry = served.log.wait_for(lambda e: e.client == "leaver", timeout=120)
    assert entry is not None and entry.outcome == "cancelled"
    assert entry.completion_tokens < 400
    assert entry.tokens_after_cancel is not None and entry.tokens_after_cancel <= 1
    # the slot is free again
    reply = served.client().chat.completions.create(model=SMOL, messages=HI, max_tokens=2)
    assert reply.usage.completion_tokens == 2


def test_a_prompt_longer_than_the_context_is_a_422_naming_the_limit(served):
    with pytest.raises(openai.UnprocessableEntityError) as caught:
        served.client().chat.completions.create(model=SMOL, messages=HI, max_tokens=1_000_000)
    assert "context" in caught.value.message.lower()


def test_without_model_switching_a_request_for_another_model_is_refused_while_one_is_loaded(served, stories260k):
    served.client().chat.completions.create(model=SMOL, messages=HI, max_tokens=1)  # SmolLM2 is loaded
    other = served.shared.library.add_path(stories260k, source="found", owned=False)
    server = start_server(served.shared, switch_models=False)
    try:
        with pytest.raises(openai.ConflictError) as caught:
            openai_client(server).completions.create(model=other.name, prompt="Once", max_tokens=2)
        kept = openai_client(server).completions.create(model=SMOL, prompt="Once", max_tokens=2)
    finally:
        server.stop()
    assert caught.value.code == "model_not_loaded" and SMOL in caught.value.message
    assert kept.usage.completion_tokens == 2
    assert served.shared.text_engine.loaded.path.name == SMOL
