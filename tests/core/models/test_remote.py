"""Remote sources: URLs checked with a clear message, references that survive being taken for paths,
keys in the keyring and gone with their source, and nothing contacted by storing them."""

from __future__ import annotations

import json

import pytest

from desktop.core import secrets
from desktop.core.models.remote import RemoteError, RemoteSources, model_ref, normalize_base_url, parse_ref


@pytest.mark.parametrize("text, url", [
    ("gpu-box:8000", "http://gpu-box:8000/v1"),
    ("http://127.0.0.1:8080/", "http://127.0.0.1:8080/v1"),
    ("https://example.org/openai/v1/", "https://example.org/openai/v1"),
    ("http://[::1]:9000", "http://[::1]:9000/v1"),
])
def test_a_base_url_is_normalised_to_the_api_root(text, url):
    assert normalize_base_url(text) == url


@pytest.mark.parametrize("text, message", [
    ("", "The server URL is empty"),
    ("ftp://host/v1", "is not an http or https URL"),
    ("http://", "names no server"),
    ("http://host:99999", "is not a valid URL"),
    ("http://host:port", "is not a valid URL"),
    ("http://user:secret@host:8000", "holds a user name or password"),
    ("http://host:8000/v1?x=1", "has a query or fragment"),
])
def test_a_bad_url_is_refused_naming_what_is_wrong(text, message):
    with pytest.raises(RemoteError, match=message):
        normalize_base_url(text)


def test_a_reference_keeps_a_model_id_with_slashes_even_through_a_path():
    from pathlib import Path

    ref = model_ref("box:8000", "/models/llama.gguf")
    assert parse_ref(str(Path(ref))).model == "/models/llama.gguf"
    assert parse_ref("remote:box:8000/meta-llama/Llama-3.1-8B").model == "meta-llama/Llama-3.1-8B"
    with pytest.raises(RemoteError, match="not a remote model reference"):
        parse_ref("remote:box-only")


def test_a_source_keeps_its_key_in_the_keyring_and_removing_it_deletes_the_key(keyring_backend, genlab_home):
    backend = keyring_backend("working")
    sources = RemoteSources()
    source = sources.add("http://127.0.0.1:8000", name="box", api_key="sk-123", models=["a", "b"])
    assert source.has_key and sources.get("box").api_key() == "sk-123"
    assert "sk-123" not in (genlab_home / "remote_sources.json").read_text()
    assert json.loads((genlab_home / "remote_sources.json").read_text())["sources"][0]["models"] == ["a", "b"]
    assert ("GenLab", source.secret_name) in backend.passwords
    sources.remove("box")
    assert sources.all() == [] and secrets.read_secret(source.secret_name) == ""
    with pytest.raises(RemoteError, match="no remote source named 'box'"):
        sources.resolve("remote:box/a")


def test_a_source_name_with_a_slash_or_space_is_refused():
    with pytest.raises(RemoteError, match="cannot name a remote source"):
        RemoteSources().add("http://127.0.0.1:8000", name="my box/1")
