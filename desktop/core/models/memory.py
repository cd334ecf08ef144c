"""How much memory a llama.cpp model needs: its weights, its KV cache and a runtime overhead.

The one estimate behind both the fit verdict (Catalog, hub results, the
library: :mod:`desktop.core.models.fit`) and the loader's GPU layer plan
(:mod:`desktop.core.text.gpu`), so "fits on GPU" and "all layers on the GPU"
are the same judgement.

llama.cpp maps the weights as stored, so they cost the file size.  The KV
cache holds, per token and per layer, one key and one value vector for each
*KV* head: with grouped-query attention (most current models) there are far
fewer KV heads than attention heads, so the cache is that many times smaller
than ``layers × embedding`` would suggest.  It is f16 (2 bytes a value),
llama.cpp's default.  Without the shape (a hub file not yet read), it is
scaled from the file size.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# Compute buffers and scratch beyond the KV cache (a few hundred MiB for a 7-8B model at 4k context).
TEXT_OVERHEAD = 512 * 1024 * 1024
KV_VALUE_BYTES = 2  # f16
# KV bytes per token per GB of weights, from a typical 7-8B GQA model (128 KiB/token for ~4.6 GB Q4_K_M).
KV_PER_TOKEN_PER_GB = 131072 / 4.6


@dataclass(frozen=True)
class KvShape:
    """What sizes the KV cache: layers, KV heads and the width of each head's key and value."""

    layers: int
    kv_heads: int
    key_dim: int
    value_dim: int

    @classmethod
    def from_arch(cls, arch: Mapping[str, int] | None) -> KvShape | None:
        """From a catalog entry's ``arch`` (``layers``, ``kv_heads``, ``head_dim``); None if incomplete."""
        if not arch or not all(arch.get(k) for k in ("layers", "kv_heads", "head_dim")):
            return None
        return cls(int(arch["layers"]), int(arch["kv_heads"]), int(arch["head_dim"]), int(arch["head_dim"]))

    @property
    def bytes_per_token(self) -> int:
        return self.layers * self.kv_heads * (self.key_dim + self.value_dim) * KV_VALUE_BYTES


def kv_cache_bytes(context: int, shape: KvShape | None, file_size: int = 0) -> int:
    """The f16 KV cache for ``context`` tokens; estimated from ``file_size`` when the shape is unknown."""
    if shape is not None:
        return shape.bytes_per_token * context
    return int(context * KV_PER_TOKEN_PER_GB * max(file_size / 1024 ** 3, 0.25))


@dataclass(frozen=True)
class TextMemory:
    weights: int
    kv_cache: int
    overhead: int

    @property
    def total(self) -> int:
        return self.weights + self.kv_cache + self.overhead


def text_memory(file_size: int, context: int, shape: KvShape | None) -> TextMemory:
    """What loading a GGUF of ``file_size`` bytes with a ``context``-token cache takes, all on one device."""
    return TextMemory(file_size, kv_cache_bytes(context, shape, file_size), TEXT_OVERHEAD)
