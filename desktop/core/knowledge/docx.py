"""The Word reader: paragraphs of ``word/document.xml``, headings from their paragraph styles.

A ``.docx`` file is a zip of XML parts; the text is in ``word/document.xml``
as paragraphs (``w:p``) of runs (``w:t``), and a heading is a paragraph whose
style is the built-in "heading 1" .. "heading 9" or "Title" (looked up in
``word/styles.xml``, since localized Word names the style ids in its language).  The standard library reads
that directly (python-docx would bring lxml, about 12 MB in the bundle, for
the same paragraphs).  ElementTree resolves no external entities, and the part
is refused when it would unpack to more than the file size limit (a zip bomb).
Tables are read cell by cell; images, comments and tracked deletions are not
text and are left out.
"""

from __future__ import annotations

import io
import re
import zipfile
from xml.etree import ElementTree

from desktop.core.knowledge.documents import Block, Document
from desktop.core.knowledge.errors import Unreadable

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_HEADING_STYLE = re.compile(r"^heading\s*(\d)$", re.I)


def read_docx(data: bytes, max_bytes: int) -> Document:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            try:
                info = archive.getinfo("word/document.xml")
            except KeyError as exc:
                raise Unreadable("It is a zip file but not a Word document (no word/document.xml).") from exc
            if info.flag_bits & 0x1:
                raise Unreadable("It is encrypted with a password; save an unprotected copy to include it.")
            if info.file_size > max_bytes:
                raise Unreadable(f"Its text part unpacks to {info.file_size / 2**20:.1f} MB, over the "
                                 f"{max_bytes / 2**20:.1f} MB limit for one file.")
            xml = archive.read(info)
            styles = _style_names(archive, max_bytes)
    except zipfile.BadZipFile as exc:
        if data.startswith(b"\xd0\xcf\x11\xe0"):  # an OLE container: an encrypted .docx or an old .doc renamed
            raise Unreadable("It is encrypted with a password (or an old .doc renamed); save an unprotected "
                             ".docx copy to include it.") from exc
        raise Unreadable("It is not a readable Word document (not a zip file).") from exc
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError as exc:
        raise Unreadable(f"Its text part is not valid XML ({exc}).") from exc
    body = root.find(f"{W}body")
    if body is None:
        return Document("", [], "docx")
    parts: list[str] = []
    blocks: list[Block] = []
    headings: list[tuple[int, str]] = []
    cursor = 0
    for paragraph in body.iter(f"{W}p"):
        text = "".join(_texts(paragraph)).strip()
        if not text:
            continue
        if parts:
            parts.append("\n\n")
            cursor += 2
        parts.append(text)
        level = _heading_level(paragraph, styles)
        if level is not None:
            headings = [h for h in headings if h[0] < level] + [(level, text)]
        blocks.append(Block(cursor, cursor + len(text), "paragraph" if level is None else "heading",
                            tuple(t for _, t in headings)))
        cursor += len(text)
    return Document("".join(parts), blocks, "docx")


def _texts(paragraph):
    for node in paragraph.iter():
        if node.tag == f"{W}t" and node.text:
            yield node.text
        elif node.tag == f"{W}tab":
            yield "\t"
        elif node.tag in (f"{W}br", f"{W}cr"):
            yield "\n"


def _style_names(archive: zipfile.ZipFile, max_bytes: int) -> dict[str, str]:
    """Style id -> built-in style name.  Localized Word writes ids such as "berschrift1", but the names
    of built-in styles in styles.xml are always English ("heading 1")."""
    try:
        info = archive.getinfo("word/styles.xml")
        if info.file_size > max_bytes:
            return {}
        root = ElementTree.fromstring(archive.read(info))
    except (KeyError, ElementTree.ParseError, zipfile.BadZipFile):
        return {}
    names = {}
    for style in root.iter(f"{W}style"):
        name = style.find(f"{W}name")
        if name is not None:
            names[style.get(f"{W}styleId", "")] = name.get(f"{W}val", "")
    return names


def _heading_level(paragraph, styles: dict[str, str]) -> int | None:
    """1..9 for Heading 1..Heading 9, 0 for the document's Title (above them), None for other paragraphs."""
    style = paragraph.find(f"{W}pPr/{W}pStyle")
    style_id = style.get(f"{W}val", "") if style is not None else ""
    name = styles.get(style_id, style_id)
    if name.lower() == "title":
        return 0
    m = _HEADING_STYLE.match(name)
    return int(m.group(1)) if m else None
