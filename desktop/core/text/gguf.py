"""What a GGUF file says about itself as a language model, read before llama.cpp ever sees it.

:func:`read_gguf_info` reads the file with the models layer's bounded GGUF
reader (:func:`desktop.core.models.gguf.read_gguf_file`: magic, version,
metadata and every tensor's data inside the file), then checks what a
language model needs on top: an architecture, a vocabulary without
duplicates (llama.cpp aborts the process on one) and some weights.  Anything
else raises :class:`~desktop.core.errors.ModelFileError` with a message a
person can act on, so a renamed text file or a half-finished download is
refused up front instead of being handed to llama.cpp.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from desktop.core.errors import ModelFileError
from desktop.core.models.gguf import REDOWNLOAD, TOKEN_TYPES_KEY, read_gguf_file
from desktop.core.models.memory import KvShape

# Special-token roles as named in the GGUF tokenizer metadata.
_SPECIAL_ROLES = ("bos", "eos", "eot", "unknown", "padding", "seperator")
_CONTROL = 3  # tokenizer.ggml.token_type of a control token (<|im_start|>, <start_of_image>, ...)
_MAX_CONTROL_LENGTH = 64  # longer "control" strings are not markers a display should hide


@dataclass(frozen=True)
class GgufInfo:
    """The facts about a GGUF model that the model card and the engine use."""

    path: Path
    file_size: int
    version: int
    architecture: str
    name: str
    parameter_count: int
    file_type: str  # "Q4_K_M", "F16", ... (from general.file_type or the tensors)
    context_length: int  # training context
    layer_count: int
    embedding_length: int
    vocab_size: int
    tokenizer_model: str
    chat_template: str | None
    special_tokens: dict[str, str] = field(default_factory=dict)  # role -> token text
    control_tokens: tuple[str, ...] = ()  # every token of type CONTROL, for hiding from the display
    tensor_count: int = 0
    head_count: int = 0  # attention heads
    head_count_kv: int = 0  # KV heads: fewer than head_count with grouped-query attention; 0 when not stated
    key_length: int = 0  # per-head key and value widths, when the file states them (else embedding / heads)
    value_length: int = 0

    @property
    def kv_shape(self) -> KvShape | None:
        """The KV cache's shape as llama.cpp derives it from these keys; None without a layer count."""
        if self.layer_count <= 0:
            return None
        heads = self.head_count or 1  # no head count: treat the whole embedding as one head (an upper bound)
        kv_heads = self.head_count_kv or heads  # llama.cpp's default when head_count_kv is absent
        width = max(self.embedding_length // heads, 1)
        return KvShape(self.layer_count, kv_heads, self.key_length or width, self.value_length or width)

    @property
    def hidden_tokens(self) -> frozenset[str]:
        """The token texts a transcript hides: the special roles' tokens and every control token."""
        return frozenset(self.special_tokens.values()) | frozenset(self.control_tokens)

    @property
    def parameters_label(self) -> str:
        return format_count(self.parameter_count)

    def card(self) -> list[tuple[str, str]]:
        """Rows for a model card, in display order."""
        from desktop.core.hardware import fmt_bytes

        return [
            ("File", self.path.name),
            ("Size", fmt_bytes(self.file_size)),
            ("Architecture", self.architecture),
            ("Parameters", self.parameters_label),
            ("Quantization", self.file_type),
            ("Training context", f"{self.context_length:,} tokens" if self.context_length else "unknown"),
            ("Layers", str(self.layer_count)),
            ("Vocabulary", f"{self.vocab_size:,} tokens ({self.tokenizer_model or 'unknown'})"),
            ("Chat template", "yes (from the file)" if self.chat_template else "none: completion mode"),
            ("Special tokens", ", ".join(f"{k}={v}" for k, v in self.special_tokens.items()) or "none"),
        ]


def format_count(n: int) -> str:
    """260000 -> '260K', 1_100_000_000 -> '1.1B'."""
    for div, unit in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if n >= div:
            value = n / div
            return f"{value:.1f}{unit}".replace(".0" + unit, unit)
    return str(n)


def _check_vocabulary(path: Path, tokens: list[str]) -> None:
    """Duplicate token strings make llama.cpp abort the process (GGML_ASSERT), so refuse them here."""
    seen: set[str] = set()
    for token in tokens:
        if token in seen:
            raise ModelFileError(
                f"{path.name} has a damaged tokenizer vocabulary: the token {token!r} appears twice.", REDOWNLOAD)
        seen.add(token)


def _control_tokens(tokens: list[str], types: object) -> tuple[str, ...]:
    """The vocabulary's CONTROL tokens, short ones only; none when the types are absent or do not match."""
    if not isinstance(types, list) or len(types) != len(tokens):
        return ()
    return tuple(token for token, kind in zip(tokens, types)
                 if kind == _CONTROL and 0 < len(token) <= _MAX_CONTROL_LENGTH)


def read_gguf_info(path: Path) -> GgufInfo:
    """Read and validate a GGUF language model's metadata; raise ModelFileError if it is unusable."""
    path = Path(path)
    parsed = read_gguf_file(path)
    arch = parsed.architecture
    if not arch:
        raise ModelFileError(
            f"{path.name} has damaged metadata: general.architecture is missing or unreadable.", REDOWNLOAD)
    tokens = parsed.tokens
    if tokens is None:
        raise ModelFileError(f"{path.name} has no tokenizer vocabulary in its metadata.", REDOWNLOAD)
    _check_vocabulary(path, tokens)
    if not parsed.tensors:
        raise ModelFileError(f"{path.name} contains no tensors (weights).", REDOWNLOAD)
    template = parsed.text("tokenizer.chat_template")
    specials: dict[str, str] = {}
    for role in _SPECIAL_ROLES:
        token_id = parsed.fields.get(f"tokenizer.ggml.{role}_token_id")
        if isinstance(token_id, int) and 0 <= token_id < len(tokens):
            specials[role] = tokens[token_id]
    return GgufInfo(
        path=path,
        control_tokens=_control_tokens(tokens, parsed.fields.get(TOKEN_TYPES_KEY)),
        file_size=parsed.size,
        version=parsed.version,
        architecture=arch,
        name=parsed.text("general.name") or path.stem,
        parameter_count=parsed.parameter_count,
        file_type=parsed.quantization or "unknown",
        context_length=parsed.integer(f"{arch}.context_length"),
        layer_count=parsed.integer(f"{arch}.block_count"),
        embedding_length=parsed.integer(f"{arch}.embedding_length"),
        vocab_size=len(tokens),
        tokenizer_model=parsed.text("tokenizer.ggml.model"),
        chat_template=template if template.strip() else None,
        special_tokens=specials,
        tensor_count=len(parsed.tensors),
        head_count=parsed.integer(f"{arch}.attention.head_count"),
        head_count_kv=parsed.integer(f"{arch}.attention.head_count_kv"),
        key_length=parsed.integer(f"{arch}.attention.key_length"),
        value_length=parsed.integer(f"{arch}.attention.value_length"),
    )
