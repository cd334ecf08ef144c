"""The one GGUF reader: header, metadata and tensor table, every read bounds-checked.

:func:`read_gguf_file` maps the file and walks it with a cursor that refuses
to read past the end, so a truncated download, a flipped bit in a length or a
renamed text file raises :class:`~desktop.core.errors.ModelFileError` naming
the file and what is wrong with it, never a numpy or struct traceback (the
fuzz test mutates files to prove it).  It checks the file's *structure*: the
magic and version, metadata that parses, tensors with known types and
possible shapes, aligned offsets and data inside the file.  Whether the file
is a usable language model (an architecture, a vocabulary) is the text
engine's question (:func:`desktop.core.text.gguf.read_gguf_info`); the model
library imports any well-formed GGUF.
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop.core.errors import ModelFileError

GGUF_MAGIC = b"GGUF"
GGUF_VERSIONS = (2, 3)  # version 1 (mid-2023) is no longer read by llama.cpp either
REDOWNLOAD = "Download the model again or choose another .gguf file."
TOKENS_KEY = "tokenizer.ggml.tokens"
TOKEN_TYPES_KEY = "tokenizer.ggml.token_type"  # kept: the text layer hides CONTROL tokens

_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9
_MAX_COUNT = 1 << 24  # more keys or tensors than this is damage, not a model
_MAX_DIMS = 4


@dataclass(frozen=True)
class GgufTensor:
    name: str
    dims: tuple[int, ...]
    type_name: str  # "Q4_K", "F32", ...
    n_elements: int
    n_bytes: int
    offset: int  # relative to the data section


@dataclass(frozen=True)
class GgufFile:
    """A structurally sound GGUF file: its metadata and tensor table.

    ``fields`` holds scalars and strings as values, and the token types as a
    list; other numeric arrays (scores) and string arrays other than the
    vocabulary are skipped and stored as their item count.  ``tokens`` is the
    vocabulary, or None.
    """

    path: Path
    size: int
    version: int
    fields: dict[str, Any]
    tokens: list[str] | None
    tensors: list[GgufTensor]
    data_offset: int

    @property
    def parameter_count(self) -> int:
        return sum(t.n_elements for t in self.tensors)

    @property
    def architecture(self) -> str:
        return self.text("general.architecture")

    def integer(self, key: str) -> int:
        """An integer field, 0 when absent or of another type."""
        value = self.fields.get(key)
        return int(value) if isinstance(value, int) and not isinstance(value, bool) else 0

    def text(self, key: str) -> str:
        """A string field, "" when absent or of another type."""
        value = self.fields.get(key)
        return value if isinstance(value, str) else ""

    @property
    def quantization(self) -> str:
        """``general.file_type`` by name ("Q4_K_M", "F16"), else the type most weights use, else ""."""
        import gguf

        code = self.fields.get("general.file_type")
        if isinstance(code, int) and not isinstance(code, bool):
            try:
                return gguf.LlamaFileType(code).name.removeprefix("MOSTLY_").removeprefix("ALL_")
            except ValueError:
                pass
        sizes: dict[str, int] = {}
        for t in self.tensors:
            if len(t.dims) >= 2:
                sizes[t.type_name] = sizes.get(t.type_name, 0) + t.n_elements
        return max(sizes, key=lambda name: sizes[name]) if sizes else ""


class _Damaged(Exception):
    """Raised inside the parser; turned into a ModelFileError naming the file."""


class _Unsupported(Exception):
    def __init__(self, version: int) -> None:
        super().__init__(version)
        self.version = version


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

    def value(self, vtype: int, key: str, keep_strings: bool, keep_numbers: bool = False) -> Any:
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
            if keep_numbers:
                values = list(struct.unpack_from(f"<{count}{_SCALARS[item].lstrip('<')}", self.buf, self.pos))
                self.pos += count * width
                return values
            self.skip(count * width)  # other numeric arrays (scores) are not needed
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


def _tensor(cur: _Cursor) -> GgufTensor:
    import gguf

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
    return GgufTensor(name, dims, qtype.name, n_elements, n_elements // block * type_size, offset)


def _parse(path: Path, size: int, buf: Any) -> GgufFile:
    import gguf

    cur = _Cursor(buf)
    cur.take("<I")  # magic, checked by the caller
    version = cur.take("<I")
    if version not in GGUF_VERSIONS:
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
        value = cur.value(vtype, key, keep_strings=key == TOKENS_KEY, keep_numbers=key == TOKEN_TYPES_KEY)
        if key == TOKENS_KEY:
            tokens = value if isinstance(value, list) else None
        fields[key] = value
    tensors = [_tensor(cur) for _ in range(tensor_count)]
    alignment = fields.get("general.alignment", gguf.GGUF_DEFAULT_ALIGNMENT)
    if not isinstance(alignment, int) or alignment <= 0 or alignment & (alignment - 1):
        raise _Damaged(f"general.alignment is {alignment!r}, not a power of two")
    data_offset = -(-cur.pos // alignment) * alignment
    for t in tensors:
        if t.offset % alignment:
            raise _Damaged(f"tensor {t.name!r} is not aligned to {alignment} bytes")
    return GgufFile(path, size, version, fields, tokens, tensors, data_offset)


def _check_header(path: Path, size: int) -> None:
    if size < 24:
        raise ModelFileError(
            f"{path.name} is not a GGUF model: the file is only {size} bytes.", REDOWNLOAD)
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic != GGUF_MAGIC:
        raise ModelFileError(
            f"{path.name} is not a GGUF model (it does not start with the GGUF signature; "
            f"a file renamed to .gguf, or another format such as safetensors).",
            "Choose a .gguf file, e.g. one converted with llama.cpp.")


def _check_tensor_data(parsed: GgufFile) -> None:
    for t in parsed.tensors:
        end = parsed.data_offset + t.offset + t.n_bytes
        if end > parsed.size:
            raise ModelFileError(
                f"{parsed.path.name} is truncated: tensor {t.name!r} ends at byte {end:,} "
                f"but the file has {parsed.size:,} bytes.", REDOWNLOAD)


def read_gguf_file(path: Path) -> GgufFile:
    """Parse a GGUF file's metadata and tensor table; raise ModelFileError if it is not a sound GGUF."""
    path = Path(path)
    if not path.exists():
        raise ModelFileError(f"The model file {path} does not exist.",
                             "Check the path, or pick the model again from the library.")
    if path.is_dir():
        raise ModelFileError(f"{path} is a folder, not a .gguf file.", "Choose a .gguf file.")
    try:
        size = path.stat().st_size
        _check_header(path, size)
        with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            parsed = _parse(path, size, buf)
    except _Unsupported as exc:
        raise ModelFileError(
            f"{path.name} uses GGUF version {exc.version}, which this GenLab cannot read.",
            "Convert the model again with a current llama.cpp, or download a newer file.") from None
    except _Damaged as exc:
        raise ModelFileError(f"{path.name} is truncated or its metadata is damaged: {exc}.",
                             REDOWNLOAD) from None
    except OSError as exc:
        raise ModelFileError(f"Cannot read {path}: {exc.strerror or exc}.",
                             "Check that the file is readable.") from exc
    _check_tensor_data(parsed)
    return parsed
