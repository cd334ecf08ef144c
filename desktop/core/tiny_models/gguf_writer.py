"""Write a tiny random-weight llama GGUF that llama.cpp loads and generates from.

The file is a real llama model in miniature: a SentencePiece-style ("llama")
vocabulary of a few hundred pieces with byte fallback (so any text, emoji and
NUL bytes included, tokenizes), BOS/EOS and ChatML control tokens, a Jinja
chat template in ``tokenizer.chat_template`` and ``n_layers`` transformer
blocks of float32 weights drawn from a seeded generator.

The output rows of control and byte tokens are zero, so their logits are
always 0 while ordinary pieces get random logits: greedy decoding then never
picks EOS and the model produces readable word pieces for as long as asked,
which is what tests and benchmarks of streaming and stopping need.
"""

from __future__ import annotations

from pathlib import Path

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

# llama.cpp token types (gguf.TokenType values).
_NORMAL, _UNKNOWN, _CONTROL, _BYTE = 1, 2, 3, 6

_WORDS = (
    "the a an and or but if then once upon time there was little girl boy cat dog "
    "sun moon tree house big small happy sad day night said to of in on at with "
    "she he they it is was were had have play run jump see look friend mom dad "
    "hello world you I me my your we our what why how when where who yes no "
    "story model text code chat user assistant system good bad new old"
).split()

_CHARS = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    ".,!?;:'\"()-_/\\*#`[]{}<>=+@&%$"
)

# Architecture of the tiny model: small enough to build in milliseconds,
# big enough to exercise attention with grouped KV heads.
EMBED = 64
HEADS = 4
KV_HEADS = 2
FFN = 128
CONTEXT = 2048


def _vocabulary() -> tuple[list[str], list[float], list[int]]:
    tokens: list[str] = ["<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>"]
    types: list[int] = [_UNKNOWN, _CONTROL, _CONTROL, _CONTROL, _CONTROL]
    for b in range(256):
        tokens.append(f"<0x{b:02X}>")
        types.append(_BYTE)
    pieces: list[str] = ["\u2581"] + list(_CHARS)
    # Every prefix of "▁word" is a piece, so the SPM merger can reach whole words.
    for word in _WORDS:
        spaced = "\u2581" + word
        for end in range(2, len(spaced) + 1):
            pieces.append(spaced[:end])
    seen = set(tokens)
    for piece in pieces:
        if piece not in seen:
            seen.add(piece)
            tokens.append(piece)
            types.append(_NORMAL)
    # Longer pieces score higher so merges prefer whole words.
    scores = [0.0 if t != _NORMAL else -1000.0 + 10.0 * len(tok) for tok, t in zip(tokens, types)]
    return tokens, scores, types


def write_tiny_gguf(path: Path, *, n_layers: int = 2, chat_template: bool | str = True, seed: int = 0) -> Path:
    """Write the tiny model to ``path`` (parents created) and return ``path``.

    ``chat_template``: True for ChatML, False for none, or a Jinja template of your own.
    """
    import gguf
    import numpy as np

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    tokens, scores, types = _vocabulary()
    n_vocab = len(tokens)

    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("tiny-llama")
    writer.add_context_length(CONTEXT)
    writer.add_embedding_length(EMBED)
    writer.add_block_count(n_layers)
    writer.add_feed_forward_length(FFN)
    writer.add_head_count(HEADS)
    writer.add_head_count_kv(KV_HEADS)
    writer.add_rope_dimension_count(EMBED // HEADS)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)

    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    writer.add_unk_token_id(0)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(False)
    if chat_template:
        writer.add_chat_template(chat_template if isinstance(chat_template, str) else CHATML_TEMPLATE)

    def weight(*shape: int, scale: float = 0.2) -> "np.ndarray":
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    # numpy shapes are (rows, cols) = reversed GGUF ne order.
    writer.add_tensor("token_embd.weight", weight(n_vocab, EMBED, scale=1.0))
    head_dim = EMBED // HEADS
    for i in range(n_layers):
        p = f"blk.{i}"
        writer.add_tensor(f"{p}.attn_norm.weight", np.ones(EMBED, dtype=np.float32))
        writer.add_tensor(f"{p}.attn_q.weight", weight(EMBED, EMBED))
        writer.add_tensor(f"{p}.attn_k.weight", weight(KV_HEADS * head_dim, EMBED))
        writer.add_tensor(f"{p}.attn_v.weight", weight(KV_HEADS * head_dim, EMBED))
        writer.add_tensor(f"{p}.attn_output.weight", weight(EMBED, EMBED))
        writer.add_tensor(f"{p}.ffn_norm.weight", np.ones(EMBED, dtype=np.float32))
        writer.add_tensor(f"{p}.ffn_gate.weight", weight(FFN, EMBED))
        writer.add_tensor(f"{p}.ffn_up.weight", weight(FFN, EMBED))
        writer.add_tensor(f"{p}.ffn_down.weight", weight(EMBED, FFN))
    writer.add_tensor("output_norm.weight", np.ones(EMBED, dtype=np.float32))
    output = weight(n_vocab, EMBED, scale=0.5)
    output[np.asarray(types) != _NORMAL] = 0.0  # never emit EOS, control or raw bytes
    writer.add_tensor("output.weight", output)

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
