"""The PDF reader: pypdf's text of each page, cut into paragraphs that know their page.

An encrypted PDF is opened with the empty password when it has one (many
"protected" PDFs only restrict printing); otherwise, or when its cipher needs
a library GenLab does not ship, it is listed as encrypted.  A PDF whose pages
hold no text (scans) is listed as such rather than indexed as nothing.
"""

from __future__ import annotations

import io
import logging

from desktop.core.knowledge.documents import Block, Document, paragraph_blocks
from desktop.core.knowledge.errors import Unreadable

log = logging.getLogger(__name__)


def read_pdf(data: bytes) -> Document:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings about sloppy files are not for users
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise Unreadable("It is encrypted with a password; save an unprotected copy to include it.")
        pages = list(reader.pages)
    except (DependencyError, FileNotDecryptedError) as exc:
        raise Unreadable("It is encrypted in a way GenLab cannot open; save an unprotected copy.") from exc
    except Unreadable:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError) as exc:
        raise Unreadable(f"It is not a readable PDF ({exc.__class__.__name__}: {str(exc)[:120]}).") from exc
    parts: list[str] = []
    blocks: list[Block] = []
    cursor = 0
    for number, page in enumerate(pages, start=1):
        try:
            text = (page.extract_text() or "").strip()
        except Exception as exc:  # pypdf raises many kinds on a broken page; the other pages still count
            log.info("knowledge: page %d of a PDF unreadable: %s", number, exc)
            continue
        if not text:
            continue
        if parts:
            parts.append("\n\n")
            cursor += 2
        parts.append(text)
        blocks += [Block(b.start + cursor, b.end + cursor, page=number) for b in paragraph_blocks(text)]
        cursor += len(text)
    if not blocks:
        raise Unreadable("Its pages hold no text (a scan or images only); GenLab does not read text in images.")
    return Document("".join(parts), blocks, "pdf")
