"""Hub search, repo ids / URLs and file listings, online (loopback hub) and offline."""

from __future__ import annotations

import pytest

from desktop.core.hub import list_repo_files, parse_repo_ref, search_models
from desktop.core.model_errors import NotAHubUrl, NotOnHub, TokenRequired
from tests.support.hub_server import gguf_file_bytes


@pytest.fixture
def hub(hub):
    """The loopback hub of tests/conftest.py with this module's repos."""
    server = hub
    server.add_repo("bartowski/Qwen-GGUF", {"Qwen-Q4_K_M.gguf": gguf_file_bytes(40_000),
                                            "Qwen-Q8_0.gguf": gguf_file_bytes(60_000), "README.md": b"hi"},
                    tags=["gguf", "text-generation"], library_name="gguf", downloads=500, likes=3)
    server.add_repo("tiny/Llama-GGUF", {"llama-IQ4_XS.gguf": gguf_file_bytes(30_000)},
                    tags=["gguf"], library_name="gguf", downloads=50, likes=90)
    server.add_repo("stabilityai/tiny-sd", {"model_index.json": b"{}"}, tags=["diffusers"], library_name="diffusers",
                    downloads=900)
    return server


def test_search_filters_by_kind_and_sorts(hub):
    by_downloads = search_models("", kind="text", sort="downloads")
    assert by_downloads.ok
    assert [m.repo_id for m in by_downloads.models] == ["bartowski/Qwen-GGUF", "tiny/Llama-GGUF"]
    by_likes = search_models("", kind="text", sort="likes")
    assert [m.repo_id for m in by_likes.models] == ["tiny/Llama-GGUF", "bartowski/Qwen-GGUF"]
    images = search_models("tiny", kind="image")
    assert [(m.repo_id, m.kind) for m in images.models] == [("stabilityai/tiny-sd", "image")]


def test_search_offline_says_so_without_raising(monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", "https://huggingface.co")  # blocked by the test suite's network guard
    result = search_models("qwen")
    assert result.status == "offline" and "Offline" in result.message and result.models == []


def test_search_with_nothing_listening_is_offline(monkeypatch):
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    assert search_models("qwen", timeout=2).status == "offline"


def test_list_repo_files_with_sizes_and_quantization(hub):
    files = list_repo_files("bartowski/Qwen-GGUF")
    assert [(f.path, f.quantization) for f in files if f.is_model_file] == [
        ("Qwen-Q4_K_M.gguf", "Q4_K_M"), ("Qwen-Q8_0.gguf", "Q8_0")]
    sizes = {f.path: f.size for f in files}
    assert sizes["README.md"] == 2 and sizes["Qwen-Q8_0.gguf"] == len(hub.repos["bartowski/Qwen-GGUF"].files["Qwen-Q8_0.gguf"].data)
    assert all(len(f.sha256) == 64 for f in files if f.is_model_file)


def test_unknown_and_gated_repos_are_clear_errors(hub):
    with pytest.raises(NotOnHub, match="nobody/nothing"):
        list_repo_files("nobody/nothing")
    hub.add_repo("meta/gated", {"a.gguf": b"x"}, gated=True)
    with pytest.raises(TokenRequired, match="token"):
        list_repo_files("meta/gated")


@pytest.mark.parametrize("text, expected", [
    ("Qwen/Qwen2.5-0.5B-Instruct-GGUF", ("Qwen/Qwen2.5-0.5B-Instruct-GGUF", None, "main")),
    ("https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct-GGUF", ("Qwen/Qwen2.5-0.5B-Instruct-GGUF", None, "main")),
    ("https://huggingface.co/bartowski/x-GGUF/blob/main/x-Q4_K_M.gguf", ("bartowski/x-GGUF", "x-Q4_K_M.gguf", "main")),
    ("hf.co/a/b/resolve/abc123/sub/f.gguf", ("a/b", "sub/f.gguf", "abc123")),
    ("https://huggingface.co/a/b/tree/dev", ("a/b", None, "dev")),
])
def test_repo_ids_and_hub_urls_are_parsed(text, expected):
    ref = parse_repo_ref(text)
    assert (ref.repo_id, ref.filename, ref.revision) == expected


@pytest.mark.parametrize("text", ["https://github.com/ggerganov/llama.cpp", "not a repo", "ftp://huggingface.co/a/b",
                                  "https://huggingface.co/datasets/a/b", "https://huggingface.co/onlyone"])
def test_text_that_is_not_a_hub_repo_is_refused(text):
    with pytest.raises(NotAHubUrl):
        parse_repo_ref(text)


def test_saved_token_is_user_only_and_used(hub, genlab_home):
    import stat

    from desktop.core.model_hub_access import save_token, token

    where = save_token("hf_saved\n")
    assert stat.S_IMODE((genlab_home / "hf-token").stat().st_mode) == 0o600 and where.endswith("hf-token")
    assert token() == "hf_saved"
    hub.add_repo("meta/private", {"p.gguf": b"GGUF"}, private=True)
    hub.tokens.add("hf_saved")
    assert [f.path for f in list_repo_files("meta/private")] == ["p.gguf"]
