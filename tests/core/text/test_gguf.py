"""GGUF metadata is read before llama.cpp sees a file, and unusable files are refused clearly."""

from __future__ import annotations

import struct

import pytest

from desktop.core.errors import ModelFileError
from desktop.core.text.gguf import format_count, read_gguf_info
from desktop.core.tiny_models import gguf_writer


def test_reads_tiny_gguf_metadata(tiny_gguf):
    info = read_gguf_info(tiny_gguf)
    tokens, _, _ = gguf_writer._vocabulary()
    assert info.architecture == "llama"
    assert info.layer_count == 2
    assert info.context_length == gguf_writer.CONTEXT
    assert info.vocab_size == len(tokens)
    assert info.file_type == "F32"
    assert info.chat_template == gguf_writer.CHATML_TEMPLATE
    assert info.special_tokens["bos"] == "<s>" and info.special_tokens["eos"] == "</s>"
    assert info.file_size == tiny_gguf.stat().st_size
    # Parameters: embeddings + output + per-layer weights, all counted from the tensor table.
    e, f, v, kv = gguf_writer.EMBED, gguf_writer.FFN, len(tokens), gguf_writer.KV_HEADS * (gguf_writer.EMBED // gguf_writer.HEADS)
    per_layer = 2 * e + 2 * e * e + 2 * e * kv + 3 * e * f
    assert info.parameter_count == 2 * v * e + e + 2 * per_layer


def test_reads_real_stories_metadata(stories260k):
    info = read_gguf_info(stories260k)
    assert info.architecture == "llama"
    assert info.layer_count == 5
    assert info.context_length == 2048
    assert info.chat_template is None
    assert dict(info.card())["Chat template"].startswith("none")
    assert info.parameters_label.endswith("K")


def test_format_count():
    assert format_count(260_000) == "260K"
    assert format_count(1_100_000_000) == "1.1B"
    assert format_count(999) == "999"


def test_missing_file(tmp_path):
    with pytest.raises(ModelFileError, match="does not exist"):
        read_gguf_info(tmp_path / "nope.gguf")


def test_folder_instead_of_file(tmp_path):
    with pytest.raises(ModelFileError, match="folder"):
        read_gguf_info(tmp_path)


def test_non_gguf_renamed(tmp_path):
    fake = tmp_path / "notes.gguf"
    fake.write_text("these are my notes, not a model\n" * 20)
    with pytest.raises(ModelFileError, match="not a GGUF model"):
        read_gguf_info(fake)


def test_empty_file(tmp_path):
    empty = tmp_path / "empty.gguf"
    empty.write_bytes(b"")
    with pytest.raises(ModelFileError, match="only 0 bytes"):
        read_gguf_info(empty)


@pytest.mark.parametrize("fraction", [0.02, 0.5, 0.999])
def test_truncated_gguf(tiny_gguf, tmp_path, fraction):
    data = tiny_gguf.read_bytes()
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(ModelFileError, match="truncated"):
        read_gguf_info(cut)


def test_damaged_metadata_string_length(tiny_gguf, tmp_path):
    data = bytearray(tiny_gguf.read_bytes())
    key = b"general.architecture"
    at = data.index(key) + len(key)
    assert struct.unpack_from("<I", data, at)[0] == 8  # a string value follows
    struct.pack_into("<Q", data, at + 4, 2**62)  # its length now runs far past the file
    bad = tmp_path / "damaged.gguf"
    bad.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="damaged|truncated"):
        read_gguf_info(bad)


def test_damaged_metadata_missing_architecture(tiny_gguf, tmp_path):
    data = tiny_gguf.read_bytes().replace(b"general.architecture", b"general.architecturX", 1)
    bad = tmp_path / "noarch.gguf"
    bad.write_bytes(data)
    with pytest.raises(ModelFileError, match="general.architecture"):
        read_gguf_info(bad)


def test_unsupported_version(tiny_gguf, tmp_path):
    data = bytearray(tiny_gguf.read_bytes())
    struct.pack_into("<I", data, 4, 99)
    bad = tmp_path / "v99.gguf"
    bad.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="version"):
        read_gguf_info(bad)


def test_every_control_token_is_listed_for_hiding(tiny_gguf):
    info = read_gguf_info(tiny_gguf)
    assert info.control_tokens == ("<s>", "</s>", "<|im_start|>", "<|im_end|>")
    assert {"<|im_start|>", "<unk>"} <= info.hidden_tokens  # controls and the special roles' tokens


def test_smollm2s_control_tokens_are_more_than_its_special_roles(smollm2):
    info = read_gguf_info(smollm2)
    assert "<file_sep>" not in info.special_tokens.values()  # a control token with no role
    assert {"<|im_start|>", "<file_sep>", "<jupyter_code>"} <= info.hidden_tokens
