"""Structure-aware chunking with overlap.

A chunk never crosses a heading or a PDF page: blocks sharing one heading path
and page form a section, and a section's blocks (paragraphs, code blocks,
lists) are packed whole into chunks of at most ``max_chars``.  A block longer
than that is cut at a line break, else a sentence end, else a space, in the
second half of the window.  Every chunk after the first of a section starts
up to ``overlap`` characters before the previous one ended (at a word
boundary), so a sentence cut by a boundary is whole in one of the two.

The defaults suit all-MiniLM-L6-v2, which reads at most 256 word pieces (about
1,000 characters of English): a longer chunk would be embedded by its start
alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby

from desktop.core.knowledge.documents import Block, Document

MAX_CHARS = 900
OVERLAP = 150


@dataclass(frozen=True)
class Chunk:
    start: int  # character range in the document's text
    end: int
    text: str
    heading: tuple[str, ...] = ()
    page: int = 0
    location: str = ""  # for a person: "page 3", "Install › From source", "lines 10–42"


def chunk_document(doc: Document, max_chars: int = MAX_CHARS, overlap: int = OVERLAP) -> list[Chunk]:
    if max_chars < 50:
        raise ValueError("max_chars must be at least 50")
    overlap = max(0, min(overlap, max_chars // 2))
    chunks: list[Chunk] = []
    for (heading, page), section in groupby(doc.blocks, key=lambda b: (b.heading, b.page)):
        blocks = list(section)
        spans = _pack(doc.text, blocks, max_chars)
        previous_end = None
        for start, end in spans:
            if previous_end is not None and overlap:
                start = max(blocks[0].start, _overlap_start(doc.text, start, previous_end, overlap))
            previous_end = end
            chunks.append(Chunk(start, end, doc.text[start:end], heading, page,
                                _location(doc, start, end, heading, page)))
    return chunks


def _pack(text: str, blocks: list[Block], max_chars: int) -> list[tuple[int, int]]:
    pieces: list[tuple[int, int, bool]] = []
    for block in blocks:
        pieces += [(s, e, block.kind == "heading") for s, e in _split(text, block.start, block.end, max_chars)]
    spans: list[tuple[int, int]] = []
    heading_only = False  # the last span holds a heading alone: it goes with what follows, whatever the size
    for start, end, is_heading in pieces:
        if spans and (heading_only or end - spans[-1][0] <= max_chars):
            spans[-1] = (spans[-1][0], end)
            heading_only = heading_only and is_heading
        else:
            spans.append((start, end))
            heading_only = is_heading
    return spans


def _split(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    pieces = []
    while end - start > max_chars:
        low, high = start + max_chars // 2, start + max_chars
        cut = -1
        for sep in ("\n", ". ", "; ", " "):
            found = text.rfind(sep, low, high)
            if found != -1:
                cut = found + len(sep.rstrip()) if sep != "\n" else found
                break
        if cut <= start:
            cut = high
        pieces.append((start, cut))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if end > start:
        pieces.append((start, end))
    return pieces


def _overlap_start(text: str, start: int, previous_end: int, overlap: int) -> int:
    """A word boundary about ``overlap`` characters before ``previous_end`` (never after ``start``)."""
    target = min(start, previous_end) - overlap
    if target <= 0:
        return 0
    space = text.find(" ", target, start)
    newline = text.find("\n", target, start)
    cuts = [c for c in (space, newline) if c != -1]
    if not cuts:
        return start
    begin = min(cuts) + 1
    while begin < start and text[begin].isspace():
        begin += 1
    return begin


def _location(doc: Document, start: int, end: int, heading: tuple[str, ...], page: int) -> str:
    if page:
        return f"page {page}"
    named = [h for h in heading if h]
    if named:
        return " › ".join(named)
    first = doc.text.count("\n", 0, start) + 1
    last = first + doc.text.count("\n", start, end)
    return f"line {first}" if first == last else f"lines {first}–{last}"


def body_text(text: str, heading: str) -> str:
    """A chunk's ``text`` without the heading it starts with, when ``heading`` (its " › "-joined path, which
    its location shows) ends with that heading: a snippet then reads "The lens was invented…", not "The
    Fresnel lens The lens was invented…"."""
    last = heading.rsplit(" › ", 1)[-1].strip() if heading else ""
    start = text.lstrip().lstrip("#").lstrip()
    if last and start.startswith(last) and not start[len(last):len(last) + 1].isalnum():
        return start[len(last):].lstrip()
    return text
