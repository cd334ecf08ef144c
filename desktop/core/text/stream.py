"""The token loop: sample, decode, watch for stop strings, report, stop on request.

:func:`stream_tokens` drives ``Llama.generate`` one token at a time with the
same sampler settings, seed handling and end-of-generation rule as
llama-cpp-python's ``create_completion`` (so greedy output is identical), but
decodes incrementally: each token's bytes go through one UTF-8 decoder and
only the tail of the text is searched for stop strings, so the per-token
cost stays constant instead of growing with the reply.  The cancel token is
checked after every token, which is what "stop within one token" means.

The model's cache is reused only where that cannot change the reply
(:func:`reusable_prefix`), so a reply is the same whatever the model held
before, and a history record can be re-run exactly.  A prompt asked again
(a regenerate, a sweep of one prompt over seeds or temperatures, a client
repeating itself) is not evaluated again at all: its state and the logits
after its last token, as its fresh evaluation left them, are kept
(:class:`PromptState`, :func:`restore_prompt`).
"""

from __future__ import annotations

import codecs
import ctypes
import time
from dataclasses import dataclass
from typing import Any, Sequence

from desktop.core.jobs import CancelToken, Progress, ProgressCallback
from desktop.core.text.params import SamplingParams


@dataclass
class StreamChunk:
    """The payload of each generation Progress report."""

    text: str  # new text since the previous chunk (may be empty while held back)
    tokens: int  # tokens generated so far
    elapsed_s: float  # since generation started (prompt processing included)
    ttft_s: float | None  # time to first token, once known
    prompt_tokens: int = 0
    n_ctx: int = 0


@dataclass(frozen=True)
class PromptState:
    """A prompt as its fresh evaluation left it: the tokens, and the logits after the last one.

    Those logits are what the first token is sampled from; the cache keeps
    the prompt's state (evaluated in the aligned batches of :func:`prefill`),
    but its logits buffer is overwritten by every generated token, so they
    are copied (``n_vocab`` floats) when the first token is sampled.
    """

    tokens: tuple[int, ...]
    logits: bytes


@dataclass
class StreamOutcome:
    text: str
    completion_tokens: int
    finish_reason: str  # "stop" (EOS or a stop string) | "length" | "cancelled"
    ttft_s: float
    total_s: float
    prompt: PromptState | None = None  # the prompt's state, for asking it again (None: not kept)
    cached_tokens: int = 0  # prompt tokens whose state was reused instead of evaluated

    @property
    def tokens_per_s(self) -> float:
        """Decode speed: tokens after the first, over the time after the first."""
        decode_s = self.total_s - self.ttft_s
        if self.completion_tokens > 1 and decode_s > 0:
            return (self.completion_tokens - 1) / decode_s
        return self.completion_tokens / self.total_s if self.total_s > 0 else 0.0


def _held_back(text: str, stops: list[str]) -> int:
    """Length of the longest suffix of ``text`` that could begin a stop string."""
    longest = 0
    for stop in stops:
        for n in range(min(len(stop) - 1, len(text)), longest, -1):
            if text.endswith(stop[:n]):
                longest = n
                break
    return longest


def reusable_prefix(canonical: Sequence[int], tokens: Sequence[int], n_batch: int) -> int:
    """How many leading ``tokens`` may keep the state the model holds for them.

    ``canonical`` are the leading tokens of the cache that were evaluated in
    whole batches counted from position 0, exactly as a fresh context would
    evaluate them.  A token's state depends on the batch it was evaluated in
    (llama.cpp picks kernels and summation order by batch size), so reusing a
    reply's tokens, decoded one at a time, or a partial last batch would give
    different numbers, and with them a different reply, than a fresh
    context: a record then could not be re-run exactly.  Only whole aligned
    batches are kept, and never the batch the prompt ends in.
    """
    common = 0
    for a, b in zip(canonical, tokens):
        if a != b:
            break
        common += 1
    last_batch_start = (len(tokens) - 1) // n_batch * n_batch if tokens else 0
    return min(common // n_batch * n_batch, last_batch_start)


def canonical_tokens(llm: Any, tokens: Sequence[int]) -> list[int]:
    """The leading ``tokens`` whose cached state is what a fresh context would hold (see
    :func:`reusable_prefix`): the whole batches of the prompt that are still in the cache."""
    n_batch = int(llm.n_batch)
    whole = min(int(llm.n_tokens), len(tokens)) // n_batch * n_batch
    return list(tokens[:whole])


def _logits_pointer(llm: Any) -> int | None:
    """The address of the last evaluated token's logits in the context (None: there are none)."""
    import llama_cpp

    pointer = llama_cpp.llama_get_logits_ith(llm._ctx.ctx, -1)
    return ctypes.cast(pointer, ctypes.c_void_p).value if pointer else None


def capture_prompt(llm: Any, tokens: Sequence[int]) -> PromptState | None:
    """The state of ``tokens`` just evaluated, for :func:`restore_prompt` (None where it cannot be kept:
    a recurrent model, whose state cannot be cut back to the prompt)."""
    if getattr(llm, "_is_recurrent", False) or getattr(llm, "_is_hybrid", False):
        return None
    address = _logits_pointer(llm)
    if address is None:
        return None
    return PromptState(tuple(tokens), ctypes.string_at(address, int(llm.n_vocab()) * ctypes.sizeof(ctypes.c_float)))


def restore_prompt(llm: Any, state: PromptState, tokens: Sequence[int]) -> bool:
    """Make the model hold ``tokens`` exactly as right after their fresh evaluation, when ``state``
    is theirs and the cache still begins with them: the reply's tokens are dropped from the cache and
    the kept logits put back, so ``Llama.generate`` samples the first token at once (its "full
    prompt already cached" path) from the same numbers a fresh evaluation gives.  False: nothing
    changed, evaluate as usual."""
    n = len(tokens)
    if not n or state.tokens != tuple(tokens) or not hasattr(llm, "_requires_eval"):
        return False  # _requires_eval: llama-cpp-python's flag for "the logits are not the cache's last"
    if int(llm.n_tokens) < n or list(llm.input_ids[:n]) != list(tokens):
        return False
    address = _logits_pointer(llm)
    if address is None or len(state.logits) != int(llm.n_vocab()) * ctypes.sizeof(ctypes.c_float):
        return False
    if not llm._ctx.kv_cache_seq_rm(-1, n, -1):
        return False
    llm.n_tokens = n
    ctypes.memmove(address, state.logits, len(state.logits))
    llm._requires_eval = False
    return True


def prefill(llm: Any, tokens: list[int], reuse: int, *, cancel: CancelToken, progress: ProgressCallback) -> None:
    """Keep the first ``reuse`` tokens' state, then evaluate the prompt batch by batch,
    checking the cancel token between batches.

    ``reuse`` comes from :func:`reusable_prefix` (0: forget everything the model
    holds).  Every batch starts at a multiple of ``n_batch``, as in a fresh
    context; every full batch but the last is evaluated here and
    ``Llama.generate`` then finds them cached (its prefix match) and evaluates
    only the final batch, so the numbers, and the output, are those of a
    fresh context whatever the model held before.
    """
    n_batch = int(llm.n_batch)
    total = len(tokens)
    recurrent = getattr(llm, "_is_recurrent", False) or getattr(llm, "_is_hybrid", False)
    if reuse <= 0 or recurrent or not llm._ctx.kv_cache_seq_rm(-1, reuse, -1):
        llm.reset()  # n_tokens = 0: generate() does no prefix matching against older state
        reuse = 0
    else:
        llm.n_tokens = reuse
    if recurrent:
        return  # generate() evaluates a recurrent model's prompt in one go (no partial removal)
    position = reuse
    while position + n_batch < total:
        cancel.raise_if_cancelled()
        progress(Progress(position / total, f"Reading the prompt ({position:,} / {total:,} tokens)",
                          position, total))
        llm.eval(tokens[position:position + n_batch])
        position += n_batch
    cancel.raise_if_cancelled()


def stream_tokens(llm: Any, prompt_tokens: list[int], params: SamplingParams, stops: list[str], *,
                  cancel: CancelToken, progress: ProgressCallback, reuse: int = 0,
                  cached: PromptState | None = None) -> StreamOutcome:
    """Generate up to ``params.max_tokens`` tokens after ``prompt_tokens``, keeping the
    cached state of the first ``reuse`` of them (see :func:`prefill`), or of all of them when
    ``cached`` is their state and the cache still holds it (:func:`restore_prompt`)."""
    import llama_cpp

    vocab = llm._model.vocab
    is_eog = llama_cpp.llama_vocab_is_eog
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    max_stop = max((len(s) for s in stops), default=0)
    max_tokens = params.max_tokens
    n_prompt, n_ctx = len(prompt_tokens), int(llm.n_ctx())

    text = ""  # everything decoded so far
    emitted = 0  # how much of ``text`` has been reported
    count = 0
    finish = "length"
    start = time.perf_counter()
    ttft: float | None = None
    hit_stop_string = False

    restored = cached is not None and restore_prompt(llm, cached, prompt_tokens)
    state = cached if restored else None
    if restored:
        cancel.raise_if_cancelled()
    else:
        prefill(llm, prompt_tokens, reuse, cancel=cancel, progress=progress)
    llm.set_seed(params.seed)
    generator = llm.generate(
        prompt_tokens, top_k=params.top_k, top_p=params.top_p, min_p=params.min_p,
        temp=params.temperature, repeat_penalty=params.repeat_penalty,
    )
    try:
        for token in generator:
            now = time.perf_counter()
            if ttft is None:
                ttft = now - start
                if state is None:  # the logits are still the prompt's last (sampling only reads them)
                    state = capture_prompt(llm, prompt_tokens)
            if is_eog(vocab, token):
                finish = "stop"
                break
            count += 1
            piece = decoder.decode(llm.detokenize([token]))
            if piece:
                search_from = max(0, len(text) - max_stop)
                text += piece
                if stops:
                    hits = [i for i in (text.find(s, search_from) for s in stops) if i >= 0]
                    if hits:
                        text = text[:min(hits)]
                        finish = "stop"
                        hit_stop_string = True
                        break
            visible = len(text) - (_held_back(text, stops) if stops else 0)
            chunk = text[emitted:visible] if visible > emitted else ""
            emitted = max(emitted, visible)
            progress(Progress(count / max_tokens, f"{count}/{max_tokens} tokens", count, max_tokens,
                              StreamChunk(chunk, count, now - start, ttft, n_prompt, n_ctx)))
            if count >= max_tokens:
                break
            if cancel.cancelled:
                finish = "cancelled"
                break
    finally:
        generator.close()
    if not hit_stop_string:
        text += decoder.decode(b"", final=True)
    end = time.perf_counter()
    if len(text) > emitted:
        progress(Progress(count / max_tokens, f"{count}/{max_tokens} tokens", count, max_tokens,
                          StreamChunk(text[emitted:], count, end - start, ttft, n_prompt, n_ctx)))
    return StreamOutcome(text, count, finish, ttft if ttft is not None else end - start, end - start,
                         prompt=state, cached_tokens=n_prompt if restored else reuse)
