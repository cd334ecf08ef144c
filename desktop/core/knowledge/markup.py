"""Markdown and HTML readers: blocks that know the headings above them.

Markdown is parsed by markdown-it-py (the CommonMark parser chat replies use):
its top-level tokens carry their source lines, so every block is an exact
range of the file and a fenced code block or a list stays one block.  HTML is
read by Beautiful Soup over the standard library's ``html.parser``: headings,
paragraphs, list items, table cells and ``<pre>`` become blocks of the
extracted text; scripts, styles and navigation are dropped.
"""

from __future__ import annotations

from desktop.core.knowledge.documents import Block, Document, _strip_span, paragraph_blocks

_MD_KINDS = {"fence": "code", "code_block": "code"}


def read_markdown(text: str) -> Document:
    from markdown_it import MarkdownIt

    line_starts = [0]
    for i, ch in enumerate(text):
        if ch == "\n":
            line_starts.append(i + 1)
    line_starts.append(len(text))

    def offset(line: int) -> int:
        return line_starts[min(line, len(line_starts) - 1)]

    headings: list[tuple[int, str]] = []  # (level, title) of the current path
    blocks: list[Block] = []
    tokens = MarkdownIt("commonmark").parse(text)
    for i, token in enumerate(tokens):
        if token.level != 0 or token.map is None or token.type.endswith("_close"):
            continue
        start, end = _strip_span(text, offset(token.map[0]), offset(token.map[1]))
        if end <= start:
            continue
        if token.type == "heading_open":
            level = int(token.tag[1:])
            title = tokens[i + 1].content.strip() if i + 1 < len(tokens) else ""
            headings = [h for h in headings if h[0] < level] + [(level, title)]
            blocks.append(Block(start, end, "heading", tuple(t for _, t in headings)))
            continue
        blocks.append(Block(start, end, _MD_KINDS.get(token.type, "paragraph"), tuple(t for _, t in headings)))
    return Document(text, blocks, "markdown")


_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_BLOCKS = (*_HEADINGS, "p", "pre", "li", "blockquote", "td", "th", "dt", "dd", "figcaption", "caption")
_DROPPED = ("script", "style", "noscript", "template", "nav", "svg", "head")


def read_html(markup: str) -> Document:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(markup, "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for element in soup.find_all(_DROPPED):
        element.decompose()
    parts: list[str] = []
    blocks: list[Block] = []
    headings: list[tuple[int, str]] = [(0, title)] if title else []
    cursor = 0

    def add(text: str, kind: str) -> None:
        nonlocal cursor
        if parts:
            parts.append("\n\n")
            cursor += 2
        parts.append(text)
        blocks.append(Block(cursor, cursor + len(text), kind, tuple(t for _, t in headings)))
        cursor += len(text)

    for element in soup.find_all(_BLOCKS):
        if element.find_parent(_BLOCKS) is not None:
            continue  # its text is part of the enclosing block
        if element.name == "pre":
            text = element.get_text().strip("\n")
        else:
            text = " ".join(element.get_text(" ", strip=True).split())
        if not text.strip():
            continue
        if element.name in _HEADINGS:
            level = int(element.name[1])
            headings = [h for h in headings if h[0] < level] + [(level, text)]
            add(text, "heading")
        else:
            add(text, "code" if element.name == "pre" else "paragraph")
    if not blocks:  # no block elements: the page's bare text, by paragraph
        text = soup.get_text("\n").strip()
        return Document(text, paragraph_blocks(text, heading=(title,) if title else ()), "html")
    return Document("".join(parts), blocks, "html")
