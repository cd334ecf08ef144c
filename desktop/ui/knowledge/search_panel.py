"""Try a query against one collection: the chunks chat would retrieve, with file, location, score and snippet.

Each search is an ``io`` job calling :meth:`Knowledge.search` (hybrid:
keyword and meaning); a result for an older query or another collection is
dropped.  Double-clicking a result opens it in a
:class:`~desktop.ui.knowledge.chunk_popup.ChunkPopup`.

Signals:
    results_shown(list): the hits now listed (a list of ``Hit``).
    search_failed(str): the search was refused or failed; the message shown.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.core.jobs import Job
from desktop.core.knowledge.chunking import body_text
from desktop.core.knowledge.search import Hit
from desktop.ui import theme
from desktop.ui.knowledge.chunk_popup import ChunkPopup, hit_place, hit_title, snippet

COLUMNS = ("File", "Location", "Score", "Snippet")


class SearchPanel(QWidget):
    results_shown = Signal(list)
    search_failed = Signal(str)

    def __init__(self, services, runner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.runner = runner
        self.collection = ""
        self.hits: list[Hit] = []
        self.popup: ChunkPopup | None = None
        self._request = 0
        self.query = QLineEdit()
        self.query.setObjectName("knowledgeQuery")
        self.query.setPlaceholderText("Try a question against the selected collection")
        self.query.setClearButtonEnabled(True)
        self.limit = QSpinBox()
        self.limit.setRange(1, 50)
        self.limit.setValue(8)
        self.limit.setToolTip("How many chunks to show")
        self.search_button = QPushButton("Search")
        self.results = QTableWidget(0, len(COLUMNS))
        self.results.setObjectName("knowledgeResults")
        self.results.setHorizontalHeaderLabels(COLUMNS)
        self.results.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.results.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.results.verticalHeader().hide()
        self.results.setWordWrap(True)
        header = self.results.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.notice = QLabel("")
        self.notice.setWordWrap(True)
        self.notice.setObjectName("knowledgeSearchNotice")
        theme.set_role(self.notice, "muted")
        row = QHBoxLayout()
        row.addWidget(self.query, 1)
        row.addWidget(QLabel("Show:"))
        row.addWidget(self.limit)
        row.addWidget(self.search_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.notice)
        layout.addWidget(self.results, 1)
        self.query.returnPressed.connect(self.search)
        self.search_button.clicked.connect(self.search)
        self.results.cellDoubleClicked.connect(lambda row, _col: self.open_hit(row))

    def set_collection(self, name: str) -> None:
        """Search ``name`` from now on; the old results go."""
        if name != self.collection:
            self.collection = name
            self._request += 1
            self._show([])
            self.notice.setText(f"Type a question to search “{name}”." if name else "Select a collection to search it.")

    def search(self) -> None:
        """Search the selected collection for the query box's text, on an ``io`` job."""
        text = self.query.text().strip()
        if not self.collection:
            return self._fail(self._request, "Select a collection first.")
        if not text:
            return self._fail(self._request, "Type what to look for.")
        self._request += 1
        request, name, limit, services = self._request, self.collection, self.limit.value(), self.services

        def work(*, cancel, progress):
            return services.knowledge.search(name, text, limit)

        self.notice.setText("Searching…")
        handle = self.runner.submit(Job(f"Search {name}", work, kind="io", reports_failure=True))
        handle.finished.connect(lambda hits: self._found(request, hits))
        handle.failed.connect(lambda message, _tb: self._fail(request, message))

    def _found(self, request: int, hits: list[Hit]) -> None:
        if request != self._request:
            return
        self._show(hits)
        self.notice.setText(f"{len(hits)} chunk{'s' if len(hits) != 1 else ''} found; double-click one to read it."
                            if hits else "Nothing in this collection matches. Try other words.")
        self.results_shown.emit(hits)

    def _fail(self, request: int, message: str) -> None:
        if request != self._request:
            return
        self.notice.setText(message)
        self.search_failed.emit(message)

    def _show(self, hits: list[Hit]) -> None:
        self.hits = list(hits)
        self.results.setRowCount(len(hits))
        for row, hit in enumerate(hits):
            cells = (hit_title(hit), hit_place(hit), f"{hit.score:.3f}", snippet(body_text(hit.text, hit.heading)))
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col == 0:
                    item.setToolTip(hit.path)
                if col == 2:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.results.setItem(row, col, item)
        self.results.resizeRowsToContents()

    def open_hit(self, row: int) -> ChunkPopup | None:
        """Show result ``row`` in a popup (its text, and a button that opens its document)."""
        if not 0 <= row < len(self.hits):
            return None
        if self.popup is not None:
            self.popup.close()
        self.popup = ChunkPopup(self.hits[row], self)
        self.popup.show()
        return self.popup
