"""What a GGUF file says about itself, read before llama.cpp ever sees it.

:func:`read_gguf_info` parses the header, metadata and tensor table with the
``gguf`` package's reader and checks that the file is whole: the magic and
version are right, the metadata parses, the keys a model needs are there and
every tensor's data lies inside the file.  Anything else raises
:class:`~desktop.core.errors.ModelFileError` with a message a person can act
on, so a renamed text file or a half-finished download is refused up front
instead of being handed to llama.cpp.
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desktop.core.errors import ModelFileError

GGUF_MAGIC = b"GGUF"

_REDOWNLOAD = "Download the model again or choose another .gguf file."

# Special-token roles as named in the GGUF tokenizer metadata.
_SPECIAL_ROLES = ("bos", "eos", "eot", "unknown", "padding", "seperator")


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
    tensor_count: int = 0

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


def _file_type_name(value: Any) -> str:
    import gguf

    try:
        name = gguf.LlamaFileType(int(value)).name
    except (ValueError, TypeError):
        return f"unknown ({value})"
    return name.removeprefix("MOSTLY_").removeprefix("ALL_")


class _Damaged(Exception):
    """Raised inside the parser; turned into a ModelFileError naming the file."""


@dataclass
class _Tensor:
    name: str
    dims: tuple[int, ...]
    type_name: str
    n_elements: int
    n_bytes: int
    offset: int  # relative to the data section


@dataclass
class _Parsed:
    version: int
    fields: dict[str, Any]
    tokens: list[str] | None
    tensors: list[_Tensor]
    data_offset: int


_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9
_MAX_COUNT = 1 << 24  # more keys or tensors than this is damage, not a model
_MAX_DIMS = 4


class _Cursor:
    """Bounds-checked little-endian reads from a buffer."""

    def __init__(self, buf: Any) -> None:
        self.buf = buf
        self.size = len(buf)
        self.pos = 0

    def take(self, fmt: str) -> Any:
        n = struct.calcsize(fmt)
        if self.pos + n > self.size:
            raise _Damaged(f"the file ends inside the header at byte {self.pos:,}")
        value = struct.unpack_from(fmt, self.buf, self.pos)[0]
        self.pos += n
        return value

    def string(self) -> str:
        raw = self.raw_string()
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise _Damaged(f"a text value at byte {self.pos - len(raw):,} is not valid UTF-8") from None

    def raw_string(self) -> bytes:
        n = self.take("<Q")
        if n > self.size - self.pos:
            raise _Damaged(f"a text value at byte {self.pos:,} claims {n:,} bytes, past the end of the file")
        raw = bytes(self.buf[self.pos:self.pos + n])
        self.pos += n
        return raw

    def skip(self, n: int) -> None:
        if n < 0 or n > self.size - self.pos:
            raise _Damaged(f"a value at byte {self.pos:,} runs past the end of the file")
        self.pos += n

    def value(self, vtype: int, key: str, keep_strings: bool) -> Any:
        if vtype in _SCALARS:
            return self.take(_SCALARS[vtype])
        if vtype == _STRING:
            return self.string()
        if vtype != _ARRAY:
            raise _Damaged(f"key {key!r} has an unknown value type {vtype}")
        item = self.take("<I")
        count = self.take("<Q")
        if item in _SCALARS:
            width = struct.calcsize(_SCALARS[item])
            if count * width > self.size - self.pos:
                raise _Damaged(f"the array {key!r} claims {count:,} items, past the end of the file")
            self.skip(count * width)  # numeric arrays (scores, token types) are not needed
            return count
        if item == _STRING:
            if count > self.size - self.pos:
                raise _Damaged(f"the array {key!r} claims {count:,} strings, past the end of the file")
            if keep_strings:
                return [self.string() for _ in range(count)]
            for _ in range(count):
                self.skip(self.take("<Q"))
            return count
        raise _Damaged(f"the array {key!r} has an unsupported item type {item}")


def _parse(buf: Any) -> _Parsed:
    import gguf

    cur = _Cursor(buf)
    cur.take("<I")  # magic, checked by the caller
    version = cur.take("<I")
    if version not in (2, 3):
        raise _Unsupported(version)
    tensor_count = cur.take("<Q")
    kv_count = cur.take("<Q")
    if tensor_count > _MAX_COUNT or kv_count > _MAX_COUNT:
        raise _Damaged(f"the header claims {kv_count:,} metadata keys and {tensor_count:,} tensors")
    fields: dict[str, Any] = {}
    tokens = None
    for _ in range(kv_count):
        key = cur.string()
        vtype = cur.take("<I")
        value = cur.value(vtype, key, keep_strings=key == "tokenizer.ggml.tokens")
        if key == "tokenizer.ggml.tokens":
            tokens = value if isinstance(value, list) else None
        fields[key] = value
    tensors = []
    for _ in range(tensor_count):
        name = cur.string()
        n_dims = cur.take("<I")
        if not 1 <= n_dims <= _MAX_DIMS:
            raise _Damaged(f"tensor {name!r} has {n_dims} dimensions")
        dims = tuple(cur.take("<Q") for _ in range(n_dims))
        type_code = cur.take("<I")
        offset = cur.take("<Q")
        try:
            qtype = gguf.GGMLQuantizationType(type_code)
            block, type_size = gguf.GGML_QUANT_SIZES[qtype]
        except (ValueError, KeyError):
            raise _Damaged(f"tensor {name!r} has an unknown data type {type_code}") from None
        n_elements = 1
        for d in dims:
            n_elements *= d
        if n_elements <= 0 or dims[0] % block:
            raise _Damaged(f"tensor {name!r} has an impossible shape {list(dims)} for {qtype.name}")
        tensors.append(_Tensor(name, dims, qtype.name, n_elements, n_elements // block * type_size, offset))
    alignment = fields.get("general.alignment", gguf.GGUF_DEFAULT_ALIGNMENT)
    if not isinstance(alignment, int) or alignment <= 0 or alignment & (alignment - 1):
        raise _Damaged(f"general.alignment is {alignment!r}, not a power of two")
    data_offset = -(-cur.pos // alignment) * alignment
    for t in tensors:
        if t.offset % alignment:
            raise _Damaged(f"tensor {t.name!r} is not aligned to {alignment} bytes")
    return _Parsed(version, fields, tokens, tensors, data_offset)


class _Unsupported(Exception):
    def __init__(self, version: int) -> None:
        super().__init__(version)
        self.version = version


def _check_header(path: Path, size: int) -> None:
    if size < 24:
        raise ModelFileError(
            f"{path.name} is not a GGUF model: the file is only {size} bytes.", _REDOWNLOAD)
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic != GGUF_MAGIC:
        raise ModelFileError(
            f"{path.name} is not a GGUF model (it does not start with the GGUF signature; "
            f"a file renamed to .gguf, or another format such as safetensors).",
            "Choose a .gguf file, e.g. one converted with llama.cpp.")


def _read(path: Path) -> _Parsed:
    try:
        with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            return _parse(buf)
    except _Unsupported as exc:
        raise ModelFileError(
            f"{path.name} uses GGUF version {exc.version}, which this GenLab cannot read.",
            "Convert the model again with a current llama.cpp, or download a newer file.") from None
    except _Damaged as exc:
        raise ModelFileError(f"{path.name} is truncated or its metadata is damaged: {exc}.",
                             _REDOWNLOAD) from None
    except OSError as exc:
        raise ModelFileError(f"Cannot read {path}: {exc.strerror or exc}.",
                             "Check that the file is readable.") from exc


def _dominant_tensor_type(tensors: list[_Tensor]) -> str:
    """The quantization most of the weights use, when general.file_type is absent."""
    sizes: dict[str, int] = {}
    for t in tensors:
        if len(t.dims) >= 2:
            sizes[t.type_name] = sizes.get(t.type_name, 0) + t.n_elements
    return max(sizes, key=sizes.get) if sizes else "unknown"


def _check_tensors(path: Path, parsed: _Parsed, size: int) -> int:
    """Sum of parameters; raises if any tensor's data lies past the end of the file."""
    total = 0
    for t in parsed.tensors:
        end = parsed.data_offset + t.offset + t.n_bytes
        if end > size:
            raise ModelFileError(
                f"{path.name} is truncated: tensor {t.name!r} ends at byte {end:,} "
                f"but the file has {size:,} bytes.", _REDOWNLOAD)
        total += t.n_elements
    return total


def _check_vocabulary(path: Path, tokens: list[str]) -> None:
    """Duplicate token strings make llama.cpp abort the process (GGML_ASSERT), so refuse them here."""
    if len(set(tokens)) != len(tokens):
        seen: set[str] = set()
        dup = next(t for t in tokens if t in seen or seen.add(t))
        raise ModelFileError(
            f"{path.name} has a damaged tokenizer vocabulary: the token {dup!r} appears twice.", _REDOWNLOAD)


def _int(fields: dict[str, Any], key: str) -> int:
    value = fields.get(key)
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else 0


def read_gguf_info(path: Path) -> GgufInfo:
    """Read and validate a GGUF file's metadata; raise ModelFileError if it is unusable."""
    path = Path(path)
    if not path.exists():
        raise ModelFileError(f"The model file {path} does not exist.",
                             "Check the path, or pick the model again from the library.")
    if path.is_dir():
        raise ModelFileError(f"{path} is a folder, not a .gguf file.", "Choose a .gguf file.")
    try:
        size = path.stat().st_size
        _check_header(path, size)
    except OSError as exc:
        raise ModelFileError(f"Cannot read {path}: {exc.strerror or exc}.",
                             "Check that the file is readable.") from exc

    parsed = _read(path)
    fields = parsed.fields
    arch = fields.get("general.architecture")
    if not isinstance(arch, str) or not arch:
        raise ModelFileError(
            f"{path.name} has damaged metadata: general.architecture is missing or unreadable.", _REDOWNLOAD)
    tokens = parsed.tokens
    if tokens is None:
        raise ModelFileError(f"{path.name} has no tokenizer vocabulary in its metadata.", _REDOWNLOAD)
    _check_vocabulary(path, tokens)
    if not parsed.tensors:
        raise ModelFileError(f"{path.name} contains no tensors (weights).", _REDOWNLOAD)
    parameters = _check_tensors(path, parsed, size)

    file_type = fields.get("general.file_type")
    file_type_name = _file_type_name(file_type) if file_type is not None else _dominant_tensor_type(parsed.tensors)
    template = fields.get("tokenizer.chat_template")
    specials: dict[str, str] = {}
    for role in _SPECIAL_ROLES:
        token_id = fields.get(f"tokenizer.ggml.{role}_token_id")
        if isinstance(token_id, int) and 0 <= token_id < len(tokens):
            specials[role] = tokens[token_id]
    name = fields.get("general.name")
    model = fields.get("tokenizer.ggml.model")
    return GgufInfo(
        path=path,
        file_size=size,
        version=parsed.version,
        architecture=arch,
        name=name if isinstance(name, str) and name else path.stem,
        parameter_count=parameters,
        file_type=file_type_name,
        context_length=_int(fields, f"{arch}.context_length"),
        layer_count=_int(fields, f"{arch}.block_count"),
        embedding_length=_int(fields, f"{arch}.embedding_length"),
        vocab_size=len(tokens),
        tokenizer_model=model if isinstance(model, str) else "",
        chat_template=template if isinstance(template, str) and template.strip() else None,
        special_tokens=specials,
        tensor_count=len(parsed.tensors),
    )
