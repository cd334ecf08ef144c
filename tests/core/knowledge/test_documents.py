"""Readers and chunking: located blocks, exact character ranges, and every bad file named with its reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop.core.knowledge.chunking import chunk_document
from desktop.core.knowledge.documents import decode_text, read_document
from desktop.core.knowledge.errors import Unreadable
from tests.core.knowledge.files import make_docx, make_pdf

MARKDOWN = """# Guide

Intro paragraph about the guide.

## Install

Run the installer.

```python
def main():

    return 1
```

### From source

Clone it first.

## Usage

Use it daily.
"""


def _write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def test_markdown_blocks_know_their_heading_path_and_are_exact_ranges(tmp_path):
    doc = read_document(_write(tmp_path, "guide.md", MARKDOWN))
    assert doc.text == MARKDOWN
    by_text = {doc.text[b.start:b.end]: b for b in doc.blocks}
    assert by_text["Clone it first."].heading == ("Guide", "Install", "From source")
    assert by_text["Use it daily."].heading == ("Guide", "Usage")
    fence = next(b for b in doc.blocks if b.kind == "code")
    assert doc.text[fence.start:fence.end].startswith("```python") and "return 1" in doc.text[fence.start:fence.end]


def test_html_keeps_headings_drops_scripts_and_keeps_pre_text(tmp_path):
    page = ("<html><head><title>Manual</title><style>p{color:red}</style></head><body><nav>Home | About</nav>"
            "<h1>Otters</h1><p>Otters <b>hold hands</b> while sleeping.</p><script>var x = 'nope';</script>"
            "<h2>Food</h2><ul><li>fish</li><li>crabs</li></ul><pre>line 1\n  line 2</pre></body></html>")
    doc = read_document(_write(tmp_path, "manual.html", page))
    texts = [(doc.text[b.start:b.end], b.heading) for b in doc.blocks]
    assert ("Otters hold hands while sleeping.", ("Manual", "Otters")) in texts
    assert ("fish", ("Manual", "Otters", "Food")) in texts
    assert ("line 1\n  line 2", ("Manual", "Otters", "Food")) in texts
    assert "nope" not in doc.text and "color" not in doc.text and "Home | About" not in doc.text


def test_pdf_blocks_know_their_page(tmp_path):
    doc = read_document(_write(tmp_path, "otters.pdf", make_pdf(["Page one text", "", "Otters on page three"])))
    chunks = chunk_document(doc)
    assert [(c.text, c.location) for c in chunks] == [("Page one text", "page 1"), ("Otters on page three", "page 3")]


@pytest.mark.parametrize("name, data, reason", [
    ("photo.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8, "binary data, not text"),
    ("locked.pdf", make_pdf(["secret"], password="pw"), "encrypted with a password"),
    ("broken.pdf", b"%PDF-1.4\nthis is no pdf at all", "not a readable PDF"),
    ("scan.pdf", make_pdf(["", ""]), "hold no text"),
    ("broken.docx", b"PK\x03\x04 truncated", "not a readable Word document"),
    ("locked.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504), "encrypted with a password"),
    ("old.doc", b"\xd0\xcf\x11\xe0", "save it as .docx or PDF"),
])
def test_bad_files_are_unreadable_with_a_reason(tmp_path, name, data, reason):
    with pytest.raises(Unreadable) as caught:
        read_document(_write(tmp_path, name, data))
    assert reason in caught.value.reason


def test_word_paragraphs_know_their_heading_path(tmp_path):
    data = make_docx([("Title", "Field guide"), ("", "An intro."), ("berschrift1", "Otters"),
                      ("", "They hold |hands."), ("Heading2", "Food"), ("", "Fish & crabs.")])
    doc = read_document(_write(tmp_path, "guide.docx", data))
    chunks = chunk_document(doc)
    assert [(c.text, c.location) for c in chunks] == [
        ("Field guide\n\nAn intro.", "Field guide"), ("Otters\n\nThey hold hands.", "Field guide › Otters"),
        ("Food\n\nFish & crabs.", "Field guide › Otters › Food")]


def test_a_word_document_that_would_unpack_over_the_limit_is_refused(tmp_path):
    data = make_docx([("", "zero " * 5000)])
    with pytest.raises(Unreadable, match="unpacks to"):
        read_document(_write(tmp_path, "bomb.docx", data), max_bytes=len(data) + 100)


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path):
    path = _write(tmp_path, "big.pdf", b"%PDF" + b"0" * 5000)
    with pytest.raises(Unreadable) as caught:
        read_document(path, max_bytes=1000)
    assert "over the 0.0 MB limit" in caught.value.reason and "raise the limit" in caught.value.reason


def test_non_utf8_text_is_read_as_windows_1252_and_utf16_by_its_bom():
    assert decode_text("café crème".encode("cp1252")) == "café crème"
    assert decode_text("naïve".encode("utf-16")) == "naïve"
    assert decode_text("ünïcode".encode("utf-8")) == "ünïcode"
    assert decode_text(b"\x81\x8d odd bytes") == "\x81\x8d odd bytes"  # Latin-1: never fails


def test_code_is_cut_at_top_level_definitions(tmp_path):
    source = "import os\n\n\ndef one():\n    x = 1\n\n    return x\n\n\nclass Two:\n    pass\n"
    doc = read_document(_write(tmp_path, "mod.py", source))
    assert [doc.text[b.start:b.end] for b in doc.blocks] == [
        "import os", "def one():\n    x = 1\n\n    return x", "class Two:\n    pass"]
    chunks = chunk_document(doc)
    assert chunks[0].location == "lines 1–11"


def test_chunks_are_exact_ranges_within_one_section_with_overlap():
    from desktop.core.knowledge.documents import Document, paragraph_blocks

    words = " ".join(f"word{i}." for i in range(600))
    text = "# Long\n\n" + words + "\n\n# Next\n\nshort"
    blocks = read_document_text(text)
    doc = Document(text, blocks, "markdown")
    chunks = chunk_document(doc, max_chars=400, overlap=80)
    for c in chunks:
        assert c.text == text[c.start:c.end]
        assert len(c.text) <= 400 + 80
    long_chunks = [c for c in chunks if c.heading == ("Long",)]
    assert len(long_chunks) > 3
    for a, b in zip(long_chunks, long_chunks[1:]):
        assert b.start < a.end  # overlap
        assert b.start >= long_chunks[0].start
    assert chunks[-1].heading == ("Next",) and "short" in chunks[-1].text and "word" not in chunks[-1].text
    assert paragraph_blocks("a\n\n\nb") and chunks[0].text.startswith("# Long")


def read_document_text(text: str):
    from desktop.core.knowledge.markup import read_markdown

    return read_markdown(text).blocks
