"""The tiny random GGUF is a real llama model: llama.cpp loads it, tokenizes any text and generates."""

from __future__ import annotations

import hashlib

import pytest

from desktop.core.tiny_models import write_tiny_gguf


@pytest.fixture(scope="module")
def tiny_llm(tiny_gguf):
    llama_cpp = pytest.importorskip("llama_cpp")
    llm = llama_cpp.Llama(model_path=str(tiny_gguf), n_ctx=256, verbose=False)
    yield llm
    llm.close()


def test_llama_cpp_generates_from_tiny_gguf(tiny_llm):
    out = tiny_llm.create_completion("Once upon a time", max_tokens=8, temperature=0)
    assert out["usage"]["completion_tokens"] == 8  # EOS is never sampled, so every token is produced
    assert out["choices"][0]["text"].strip()


def test_tiny_gguf_tokenizes_any_text_through_byte_fallback(tiny_llm):
    text = "naïve 😀 \x00 漢字"
    tokens = tiny_llm.tokenize(text.encode("utf-8"), add_bos=False)
    assert tiny_llm.detokenize(tokens).decode("utf-8") == " " + text  # SPM adds the leading space


def test_tiny_gguf_has_chat_template_and_special_tokens(tiny_llm):
    assert "<|im_start|>" in tiny_llm.metadata["tokenizer.chat_template"]
    assert tiny_llm.token_bos() == 1 and tiny_llm.token_eos() == 2
    reply = tiny_llm.create_chat_completion([{"role": "user", "content": "hello"}], max_tokens=4, temperature=0)
    assert reply["choices"][0]["message"]["role"] == "assistant"
    assert reply["usage"]["completion_tokens"] == 4


def test_writer_is_deterministic_per_seed_and_options(tmp_path):
    a = write_tiny_gguf(tmp_path / "a.gguf", seed=3)
    b = write_tiny_gguf(tmp_path / "b.gguf", seed=3)
    c = write_tiny_gguf(tmp_path / "c.gguf", seed=4)
    digest = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()  # noqa: E731
    assert digest(a) == digest(b) != digest(c)


def test_writer_options_change_layers_and_template(tmp_path):
    from desktop.core.text.gguf import read_gguf_info

    path = write_tiny_gguf(tmp_path / "deep" / "m.gguf", n_layers=3, chat_template=False)
    info = read_gguf_info(path)
    assert info.layer_count == 3
    assert info.chat_template is None
