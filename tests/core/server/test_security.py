"""Bad input and unwanted callers get OpenAI-style errors with the right codes, and nothing runs.

Each case goes through the real server on 127.0.0.1, with the official
client where it can send the request and raw httpx2 where a client would not
(malformed JSON, a foreign Host, a browser Origin, a chunked oversize body).
"""

from __future__ import annotations

import httpx2
import openai
import pytest

from desktop.core.errors import InvalidParameter
from desktop.core.server.config import ServerConfig
from tests.core.server.conftest import SMOL, openai_client, start_server

pytestmark = pytest.mark.slow

HI = [{"role": "user", "content": "hi"}]
KEY = "s3cret-key-for-tests"


def _error(response: httpx2.Response) -> dict:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    return body["error"]


def test_malformed_json_and_a_non_object_body_are_400s(served):
    with httpx2.Client(base_url=served.server.url) as http:
        broken = http.post("/chat/completions", content=b'{"model": "x", "messages": [', headers={
            "Content-Type": "application/json"})
        listed = http.post("/chat/completions", json=[1, 2])
    assert broken.status_code == 400 and _error(broken)["code"] == "invalid_json"
    assert "not valid JSON" in _error(broken)["message"]
    assert listed.status_code == 400 and "JSON object" in _error(listed)["message"]


@pytest.mark.parametrize(("extra", "param", "words"), [
    ({"temperature": "hot"}, "temperature", "valid number"),
    ({"temperature": -0.5}, "temperature", "greater than or equal to 0"),
    ({"max_tokens": 10**9}, "max_tokens", "less than or equal to"),
    ({"max_tokens": "ten"}, "max_tokens", "valid integer"),
    ({"n": 2}, "n", "less than or equal to 1"),
    ({"stop": 5}, "stop", "valid string"),
    ({"messages": [{"role": "robot", "content": "hi"}]}, "messages.0.role", "'system'"),
    ({"messages": [{"role": "assistant", "content": "hi"}]}, "messages", "last message must be the user's"),
    ({"messages": []}, "messages", "at least 1 item"),
    ({"genlab": {"histroy": False}}, "genlab.histroy", "extra inputs"),
])
def test_wrong_types_and_out_of_range_values_are_400s_naming_the_field(served, extra, param, words):
    body = {"model": SMOL, "messages": HI, "max_tokens": 4} | extra
    genlab = {"genlab": body.pop("genlab")} if "genlab" in body else None
    with pytest.raises(openai.BadRequestError) as caught:
        served.client().chat.completions.create(**body, extra_body=genlab)
    assert caught.value.param == param
    assert words in caught.value.message
    assert caught.value.body["type"] == "invalid_request_error"


@pytest.mark.slow
def test_ten_thousand_messages_are_refused_before_any_work(served):
    with pytest.raises(openai.BadRequestError) as caught:
        served.client().chat.completions.create(model=SMOL, messages=HI * 10_000, max_tokens=4)
    assert caught.value.param == "messages" and "at most 1024" in caught.value.message


def test_an_unknown_model_is_a_404_listing_what_is_served(served):
    with pytest.raises(openai.NotFoundError) as caught:
        served.client().chat.completions.create(model="gpt-4o", messages=HI)
    assert caught.value.code == "model_not_found" and SMOL in caught.value.message


def test_a_ten_megabyte_prompt_is_413_whether_its_length_is_declared_or_not(served):
    huge = "word " * 2_000_000
    with pytest.raises(openai.APIStatusError) as caught:
        served.client().chat.completions.create(model=SMOL, messages=[{"role": "user", "content": huge}])
    assert caught.value.status_code == 413 and "limit of 1 MB" in caught.value.message

    def chunks():
        yield b'{"model": "x", "messages": [{"role": "user", "content": "'
        for _ in range(20):
            yield b"x" * 100_000
        yield b'"}]}'

    with httpx2.Client(base_url=served.server.url) as http:
        response = http.post("/chat/completions", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and _error(response)["code"] == "request_too_large"


@pytest.mark.parametrize("size", ["0x0", "100000x100000", "512"])
def test_image_sizes_out_of_range_are_400s(served, size):
    with pytest.raises(openai.BadRequestError) as caught:
        served.client().images.generate(model="tiny-sd", prompt="a cat", size=size)  # type: ignore[arg-type]
    assert caught.value.param == "size"


def test_unknown_paths_and_methods_get_error_bodies(served):
    with httpx2.Client(base_url=served.server.url) as http:
        missing = http.get("/nothing-here")
        wrong = http.get("/chat/completions")
    assert missing.status_code == 404 and _error(missing)["code"] == "unknown_url"
    assert wrong.status_code == 405 and _error(wrong)["code"] == "method_not_allowed"


def test_a_foreign_host_header_is_refused_on_loopback(served):
    with httpx2.Client(base_url=served.server.url) as http:
        rebound = http.get("/models", headers={"Host": "attacker.example:8765"})
        local = http.get("/models", headers={"Host": f"localhost:{served.server.port}"})
    assert rebound.status_code == 400 and _error(rebound)["code"] == "invalid_host"
    assert local.status_code == 200


def test_a_browser_origin_is_refused_without_cors_headers(served):
    with httpx2.Client(base_url=served.server.url) as http:
        response = http.post("/chat/completions", json={"model": SMOL, "messages": HI},
                             headers={"Origin": "https://evil.example"})
        preflight = http.options("/chat/completions", headers={
            "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert response.status_code == 403 and _error(response)["code"] == "origin_not_allowed"
    assert "access-control-allow-origin" not in response.headers
    assert preflight.status_code == 403 and "access-control-allow-origin" not in preflight.headers


def test_listed_origins_get_cors_and_others_still_do_not(served):
    server = start_server(served.shared, allowed_origins=["http://localhost:3000"])
    try:
        with httpx2.Client(base_url=server.url) as http:
            preflight = http.options("/models", headers={
                "Origin": "http://localhost:3000", "Access-Control-Request-Method": "GET"})
            listed = http.get("/models", headers={"Origin": "http://localhost:3000"})
            other = http.get("/models", headers={"Origin": "http://localhost:4000"})
    finally:
        server.stop()
    assert preflight.status_code == 200
    assert listed.status_code == 200 and listed.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert other.status_code == 403


def test_a_missing_or_wrong_key_is_401_and_the_right_one_works(served):
    server = start_server(served.shared, api_key=KEY)
    try:
        with pytest.raises(openai.AuthenticationError) as wrong:
            openai_client(server, api_key=KEY + "x").models.list()
        with httpx2.Client(base_url=server.url) as http:
            bare = http.get("/models")
            not_bearer = http.get("/models", headers={"Authorization": f"Basic {KEY}"})
        listed = openai_client(server, api_key=KEY).models.list()
    finally:
        server.stop()
    assert wrong.value.code == "invalid_api_key"
    assert not_bearer.status_code == 401 and _error(not_bearer)["code"] == "invalid_api_key"
    assert bare.status_code == 401 and _error(bare)["code"] == "missing_api_key"
    assert SMOL in [m.id for m in listed.data]


def test_any_address_but_loopback_needs_a_key():
    with pytest.raises(InvalidParameter, match="needs an API key"):
        ServerConfig(host="0.0.0.0").validated()
    assert ServerConfig(host="0.0.0.0", api_key=KEY).validated().loopback is False
    assert ServerConfig(host="::1").validated().loopback is True
    with pytest.raises(InvalidParameter, match="at least 8"):
        ServerConfig(api_key="short").validated()


def test_a_full_queue_is_503_and_a_client_past_its_share_429_with_retry_after(served):
    full = start_server(served.shared, max_waiting=0)
    stingy = start_server(served.shared, max_waiting_per_client=0)
    try:
        with pytest.raises(openai.InternalServerError) as busy:
            openai_client(full).chat.completions.create(model=SMOL, messages=HI, max_tokens=2)
        with pytest.raises(openai.RateLimitError) as limited:
            openai_client(stingy).chat.completions.create(model=SMOL, messages=HI, max_tokens=2, stream=True)
    finally:
        full.stop()
        stingy.stop()
    assert busy.value.status_code == 503 and int(busy.value.response.headers["Retry-After"]) >= 1
    assert limited.value.status_code == 429 and int(limited.value.response.headers["Retry-After"]) >= 1
    assert limited.value.code == "queue_full"
