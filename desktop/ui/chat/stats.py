"""The one-line numbers of a reply: first token, speed, tokens, context.

One place for the words, shared by the live line while a reply streams and
the line kept under a finished reply; durations go through
:func:`desktop.core.units.format_duration` ("2.4 s", not "2400 ms").
"""

from __future__ import annotations

from desktop.core.text.stream import StreamChunk
from desktop.core.units import format_duration


def stats_line(stats: dict) -> str:
    """A finished reply's stats (the keys of ``Turn.stats``), e.g.
    "first token 420 ms · 31.2 tok/s · 18 prompt + 12 generated tokens · context 30 / 2048"."""
    if not stats:
        return ""
    parts = []
    if "ttft_s" in stats:
        parts.append(f"first token {format_duration(stats['ttft_s'])}")
    if "tokens_per_s" in stats:
        parts.append(f"{stats['tokens_per_s']:.1f} tok/s")
    # A remote server may not report the prompt's tokens, and its context is not known here (0 each).
    if stats.get("prompt_tokens") and "completion_tokens" in stats:
        parts.append(f"{stats['prompt_tokens']} prompt + {stats['completion_tokens']} generated tokens")
    elif "completion_tokens" in stats:
        parts.append(f"{stats['completion_tokens']} generated tokens")
    if stats.get("n_ctx") and "prompt_tokens" in stats:
        parts.append(f"context {stats['prompt_tokens'] + stats.get('completion_tokens', 0)} / {stats['n_ctx']}")
    return " · ".join(parts)


def live_line(chunk: StreamChunk) -> str:
    """The same line while the reply streams (empty until a rate can be told)."""
    if chunk.ttft_s is None or chunk.elapsed_s <= chunk.ttft_s or chunk.tokens <= 1:
        return ""
    rate = (chunk.tokens - 1) / (chunk.elapsed_s - chunk.ttft_s)
    return stats_line({"ttft_s": chunk.ttft_s, "tokens_per_s": rate, "prompt_tokens": chunk.prompt_tokens,
                       "completion_tokens": chunk.tokens, "n_ctx": chunk.n_ctx})
