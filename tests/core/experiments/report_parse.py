"""Reads an exported HTML report back with the standard library's parser: its tables, images and scripts."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path


class ReportPage(HTMLParser):
    """``tables``: class -> rows (each a list of cell texts); ``images``: every <img> src; ``scripts``: their count."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, list[list[str]]] = {}
        self.images: list[str] = []
        self.scripts = 0
        self._table = ""
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "table":
            self._table = attributes.get("class") or ""
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table:
            self._cell = []
        elif tag == "img":
            self.images.append(attributes.get("src") or "")
        elif tag == "script":
            self.scripts += 1

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._table = ""

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)

    @classmethod
    def read(cls, path: Path) -> "ReportPage":
        page = cls()
        page.feed(Path(path).read_text(encoding="utf-8"))
        page.close()
        return page
