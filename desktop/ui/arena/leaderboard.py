"""The Arena's leaderboard tab: Bradley–Terry scores with intervals, and star ratings kept apart."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

COLUMNS = ("Rank", "Contender", "Score", "95% interval", "Votes", "W-L-T")


class LeaderboardTab(QWidget):
    """Kind and topic choice, the standings table, a notice when no votes match, the star ratings.

    Signals:
        refresh_requested(str, str): kind and topic, when Refresh is pressed (the workspace runs the job).
        export_requested(): "Export dataset…" was pressed (a preference set from the votes).
    """

    refresh_requested = Signal(str, str)
    export_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = QComboBox()
        self.kind.addItems(["text", "image"])
        self.topic = QLineEdit()
        self.topic.setPlaceholderText("Topic: only votes whose prompts match this search (empty: all)")
        self.refresh = QPushButton("Refresh")
        self.refresh.clicked.connect(lambda: self.refresh_requested.emit(self.kind.currentText(),
                                                                         self.topic.text().strip()))
        self.topic.returnPressed.connect(self.refresh.click)
        self.export = QPushButton("Export dataset…")
        self.export.setToolTip("Write the decisive votes as a preference set (prompt, chosen, rejected)")
        self.export.clicked.connect(self.export_requested)
        row = QHBoxLayout()
        row.addWidget(self.kind)
        row.addWidget(self.topic, 1)
        row.addWidget(self.refresh)
        row.addWidget(self.export)
        self.notice = QLabel("")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.ratings = QLabel("")
        self.ratings.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.notice)
        layout.addWidget(self.table, 1)
        layout.addWidget(QLabel("Star ratings from the history (separate from the arena scores):"))
        layout.addWidget(self.ratings)

    def show_standings(self, standings) -> None:
        board = standings.board
        self.notice.setText(board.notice or f"{board.votes} votes; 95% intervals from {board.bootstrap} "
                                            "bootstrap samples")
        self.table.setVisible(not board.notice)
        self.table.setRowCount(len(board.standings))
        for n, s in enumerate(board.standings):
            cells = (str(n + 1), s.label, f"{s.score:.0f}", f"{s.low:.0f}–{s.high:.0f}", str(s.votes),
                     f"{s.wins}-{s.losses}-{s.ties}")
            for column, text in enumerate(cells):
                self.table.setItem(n, column, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        self.ratings.setText("\n".join(f"{r.model}: {r.mean:.2f} from {r.count} rated" for r in standings.ratings)
                             or "No records of this kind have a star rating.")
