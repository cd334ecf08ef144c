"""The llama-cpp-python internals the text engine relies on still exist and still behave.

llama-cpp-python has no public API for a few things GenLab needs, so the
engine reaches into its internals (pinned in pyproject.toml to the tested
range):

- ``Llama._ctx.kv_cache_seq_rm`` and a writable ``Llama.n_tokens``: prefill
  keeps a prompt's cached prefix and drops the rest (text/stream.py);
- ``Llama._model.vocab`` for ``llama_cpp.llama_vocab_is_eog`` (text/stream.py);
- ``Llama._model.token_get_text`` for the chat template's BOS/EOS text
  (text/engine.py);
- ``Llama.input_ids``, ``Llama._requires_eval``, ``Llama._ctx.ctx`` and
  ``llama_get_logits_ith``: a prompt asked again gets its kept logits back
  and ``Llama.generate`` samples at once (text/stream.py, ``restore_prompt``);
- ``Llama._is_recurrent`` / ``Llama._is_hybrid``: read with a False default,
  so a rename would silently send a recurrent model down the partial-removal
  path (text/stream.py).

When an upgrade changes any of them, these tests fail naming the attribute.
"""

from __future__ import annotations

import pytest

llama_cpp = pytest.importorskip("llama_cpp")


def _internal(obj, dotted: str):
    """``obj.<dotted>``, or a failure that names the attribute and the version that lacks it."""
    value = obj
    for name in dotted.split("."):
        if not hasattr(value, name):
            pytest.fail(f"llama-cpp-python {llama_cpp.__version__} has no Llama.{dotted} (missing {name!r}); "
                        "desktop/core/text relies on it: adapt the engine to the new internals, or keep "
                        "llama-cpp-python inside the range pinned in pyproject.toml")
        value = getattr(value, name)
    return value


@pytest.fixture(scope="module")
def llm(tiny_gguf):
    model = llama_cpp.Llama(model_path=str(tiny_gguf), n_ctx=256, n_batch=64, n_threads=1, verbose=False)
    yield model
    model.close()


def test_model_kind_flags_exist_and_say_a_llama_is_neither_recurrent_nor_hybrid(llm):
    for name in ("_is_recurrent", "_is_hybrid"):
        value = _internal(llm, name)
        assert isinstance(value, bool) and value is False, f"Llama.{name} is {value!r}, expected False"


def test_vocab_handle_answers_end_of_generation(llm):
    vocab = _internal(llm, "_model.vocab")
    assert llama_cpp.llama_vocab_is_eog(vocab, llm.token_eos()), "Llama._model.vocab: EOS is not end-of-generation"
    word = llm.tokenize(b"hello", add_bos=False, special=False)[0]
    assert not llama_cpp.llama_vocab_is_eog(vocab, word), "Llama._model.vocab: a word is end-of-generation"


def test_token_text_of_the_special_tokens(llm):
    token_get_text = _internal(llm, "_model.token_get_text")
    assert token_get_text(llm.token_eos()) == "</s>"
    assert token_get_text(llm.token_bos()) == "<s>"


def test_dropping_the_cache_tail_and_rewinding_n_tokens_continues_like_a_fresh_context(llm):
    """What prefill does: keep the first 8 tokens' state, evaluate the rest on top of it."""
    tokens = llm.tokenize(b"once upon a time there was a little girl and a big dog", add_bos=True, special=False)
    assert len(tokens) > 10
    llm.reset()
    llm.eval(tokens)
    fresh = next(llm.generate(tokens, temp=0.0))

    llm.reset()
    llm.eval(tokens)
    assert _internal(llm, "n_tokens") == len(tokens)
    seq_rm = _internal(llm, "_ctx.kv_cache_seq_rm")
    assert seq_rm(-1, 8, -1) is True, "Llama._ctx.kv_cache_seq_rm no longer removes a cache tail"
    llm.n_tokens = 8
    llm.eval(tokens[8:])  # decoding fails if positions 8.. were still in the cache
    assert llm.n_tokens == len(tokens), "Llama.eval no longer continues from the n_tokens it was given"
    assert next(llm.generate(tokens, temp=0.0)) == fresh


def test_a_restored_prompt_samples_its_first_token_from_the_logits_of_its_fresh_evaluation(llm):
    """What restore_prompt relies on: the logits are still the prompt's when the first token comes
    out, and with them put back (and ``_requires_eval`` cleared) generate samples before evaluating."""
    import ctypes

    from desktop.core.text.stream import capture_prompt, restore_prompt

    tokens = llm.tokenize(b"once upon a time there was a little girl and a big dog", add_bos=True, special=False)
    _internal(llm, "_requires_eval")
    _internal(llm, "_ctx.ctx")
    llm.reset()
    generator = llm.generate(tokens, temp=0.0)
    first = next(generator)
    state = capture_prompt(llm, tokens)
    reply = [next(generator) for _ in range(6)]
    generator.close()
    assert state is not None and llm.n_tokens > len(tokens)

    llm.reset()
    llm.eval(tokens)
    pointer = ctypes.cast(llama_cpp.llama_get_logits_ith(llm._ctx.ctx, -1), ctypes.c_void_p).value
    assert ctypes.string_at(pointer, len(state.logits)) == state.logits, "the kept logits are not the prompt's"

    llm.eval(reply[:3])  # the cache now holds more than the prompt, its logits those of a reply token
    assert restore_prompt(llm, state, tokens)
    generator = llm.generate(tokens, temp=0.0)
    assert next(generator) == first
    assert llm.n_tokens == len(tokens), "Llama.generate evaluated a token before sampling a restored prompt"
    assert [next(generator) for _ in range(6)] == reply
    generator.close()
    assert not restore_prompt(llm, state, tokens[:-1]), "another prompt must not take the kept state"
