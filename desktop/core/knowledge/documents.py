"""A document as the indexer sees it: its text cut into located blocks.

Every reader returns a :class:`Document`: one ``text`` and the ``blocks`` it
is made of (a heading, a paragraph, a code block...), each a character range
of ``text`` with its location (the page of a PDF, the heading path of
Markdown and HTML).  For plain text, Markdown and source code ``text`` is the
file's decoded content, so a chunk's range points into the file itself; for
HTML and PDF it is the extracted text (pages or blocks joined by a blank
line), and for Word documents the paragraphs joined by a blank line.

:func:`read_document` picks the reader by file suffix and turns every way a
file can be unusable (too large, binary, encrypted, not a PDF at all, gone)
into :class:`~desktop.core.knowledge.errors.Unreadable` with the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from desktop.core.knowledge.errors import Unreadable

DEFAULT_MAX_FILE_BYTES = 64 * 1024 * 1024
TEXT_SUFFIXES = frozenset({".txt", ".text", ".rst", ".log", ".csv", ".tsv"})
MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})
HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml"})
PDF_SUFFIXES = frozenset({".pdf"})
DOCX_SUFFIXES = frozenset({".docx"})
CODE_SUFFIXES = frozenset({
    ".py", ".pyi", ".js", ".mjs", ".ts", ".tsx", ".jsx", ".c", ".h", ".cc", ".cpp", ".hpp", ".cxx", ".rs",
    ".go", ".java", ".kt", ".swift", ".rb", ".php", ".cs", ".scala", ".lua", ".sh", ".bash", ".zsh", ".ps1",
    ".sql", ".r", ".jl", ".m", ".css", ".scss", ".toml", ".yaml", ".yml", ".ini", ".cfg", ".json", ".xml",
})
LATER_SUFFIXES = {".doc": "Old Word documents (.doc) are not read; save it as .docx or PDF to include it.",
                  ".odt": "OpenDocument text (.odt) is not read yet; save it as .docx or PDF to include it."}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | MARKDOWN_SUFFIXES | HTML_SUFFIXES | PDF_SUFFIXES | DOCX_SUFFIXES | CODE_SUFFIXES


@dataclass(frozen=True)
class Block:
    """One structural unit: ``text[start:end]`` of its document."""

    start: int
    end: int
    kind: str = "paragraph"  # paragraph | heading | code | page
    heading: tuple[str, ...] = ()  # the headings above it, outermost first
    page: int = 0  # 1-based PDF page; 0: not paged


@dataclass
class Document:
    text: str
    blocks: list[Block] = field(default_factory=list)
    kind: str = "text"  # text | markdown | html | pdf | docx | code


def is_supported(path: Path) -> bool:
    return path.suffix.lower() in SUPPORTED_SUFFIXES


def unsupported_reason(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in LATER_SUFFIXES:
        return LATER_SUFFIXES[suffix]
    return f"{suffix or 'files without a suffix'} is not a document type GenLab reads."


def read_document(path: Path, data: bytes | None = None, *,
                  max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> Document:
    """The document in ``path`` (``data``: its bytes, already read); raises Unreadable."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise Unreadable(unsupported_reason(path))
    if data is None:
        data = read_bytes(path, max_bytes)
    if suffix in PDF_SUFFIXES:
        from desktop.core.knowledge.pdf import read_pdf

        return read_pdf(data)
    if suffix in DOCX_SUFFIXES:
        from desktop.core.knowledge.docx import read_docx

        return read_docx(data, max_bytes)
    text = decode_text(data)
    if suffix in MARKDOWN_SUFFIXES:
        from desktop.core.knowledge.markup import read_markdown

        return read_markdown(text)
    if suffix in HTML_SUFFIXES:
        from desktop.core.knowledge.markup import read_html

        return read_html(text)
    if suffix in CODE_SUFFIXES:
        return Document(text, code_blocks(text), "code")
    return Document(text, paragraph_blocks(text), "text")


def read_bytes(path: Path, max_bytes: int) -> bytes:
    """The file's bytes, refusing one over ``max_bytes`` before reading it."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise Unreadable(f"It is {size / 2**20:.1f} MB, over the {max_bytes / 2**20:.1f} MB limit "
                             "for one file; split it or raise the limit.")
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except FileNotFoundError as exc:
        raise Unreadable("It disappeared while being indexed.") from exc
    except PermissionError as exc:
        raise Unreadable("GenLab may not read it (permission denied).") from exc
    except IsADirectoryError as exc:
        raise Unreadable("It is a folder, not a file.") from exc
    except OSError as exc:
        raise Unreadable(f"It cannot be read: {exc.strerror or exc}.") from exc
    if len(data) > max_bytes:  # it grew while we read
        raise Unreadable(f"It is over the {max_bytes / 2**20:.1f} MB limit for one file.")
    return data


def decode_text(data: bytes) -> str:
    """Text from bytes: UTF-8 (or UTF-16 with a byte order mark), else Windows-1252, else Latin-1.

    Raises Unreadable for binary data: NUL bytes or many control characters in
    its first 8 KB (an image or an archive renamed ``.txt``).
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise Unreadable("It starts like UTF-16 text but is not valid UTF-16.") from exc
    head = data[:8192]
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13, 27))
    if b"\x00" in head or (head and controls / len(head) > 0.1):
        raise Unreadable("It is binary data, not text, although its name says text.")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")  # every byte is a Latin-1 character


_BLANK = re.compile(r"\n[ \t]*\n")


def paragraph_blocks(text: str, start: int = 0, end: int | None = None, *, heading: tuple[str, ...] = (),
                     page: int = 0) -> list[Block]:
    """``text[start:end]`` cut at blank lines, each paragraph stripped of surrounding white space."""
    end = len(text) if end is None else end
    blocks = []
    cursor = start
    for m in [*_BLANK.finditer(text, start, end), None]:
        stop = end if m is None else m.start()
        b0, b1 = _strip_span(text, cursor, stop)
        if b1 > b0:
            blocks.append(Block(b0, b1, heading=heading, page=page))
        if m is not None:
            cursor = m.end()
    return blocks


_TOP_LEVEL = re.compile(r"\n[ \t]*\n(?=\S)")  # a blank line, then a line that is not indented


def code_blocks(text: str) -> list[Block]:
    """Source code cut before every unindented line that follows a blank line (a def, a class, a
    top-level statement), so a function stays in one block while it fits."""
    blocks = []
    cursor = 0
    for m in [*_TOP_LEVEL.finditer(text), None]:
        stop = len(text) if m is None else m.start()
        b0, b1 = _strip_span(text, cursor, stop)
        if b1 > b0:
            blocks.append(Block(b0, b1, "code"))
        if m is not None:
            cursor = m.end()
    return blocks


def _strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
