"""The request log panel and the status-bar indicator of the app's API server.

:class:`RequestLogPanel` lists the server's requests, newest at the bottom:
time, client (its User-Agent), endpoint, model, status, tokens and duration,
never prompts or replies (see :mod:`desktop.core.server.log`).
:class:`ServerIndicator` is the status-bar button "API 127.0.0.1:PORT" while
the server runs, a warning when it could not start, hidden when it is off.

Signals (ServerIndicator):
    clicked(): inherited from QToolButton; the window shows the log panel.
"""

from __future__ import annotations

import time

from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QToolButton, QWidget

from desktop.core.server.log import LogEntry
from desktop.ui.server.controller import ServerController

COLUMNS = ("Time", "Client", "Endpoint", "Model", "Status", "Tokens", "Duration")
MAX_ROWS = 500


def row_texts(entry: LogEntry) -> tuple[str, ...]:
    status = f"{entry.status} {entry.outcome}" if entry.outcome else "…"
    return (time.strftime("%H:%M:%S", time.localtime(entry.started)), entry.client,
            f"{entry.method} {entry.path}", entry.model or "—", status,
            str(entry.completion_tokens) if entry.completion_tokens else "—",
            f"{entry.duration_s:.2f} s")


class RequestLogPanel(QTableWidget):
    """The server's request log as a table, following the controller's ``logged`` signal."""

    def __init__(self, controller: ServerController, parent: QWidget | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setObjectName("apiRequestLog")
        self.setHorizontalHeaderLabels(COLUMNS)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.verticalHeader().setVisible(False)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.horizontalHeader().setStretchLastSection(True)
        for entry in controller.log.entries():
            if entry.outcome:
                self.add_entry(entry)
        controller.logged.connect(self.add_entry)

    def add_entry(self, entry: LogEntry) -> None:
        if self.rowCount() >= MAX_ROWS:
            self.removeRow(0)
        row = self.rowCount()
        self.insertRow(row)
        for column, text in enumerate(row_texts(entry)):
            self.setItem(row, column, QTableWidgetItem(text))
        self.scrollToBottom()

    def rows(self) -> list[tuple[str, ...]]:
        return [tuple(self.item(r, c).text() for c in range(self.columnCount())) for r in range(self.rowCount())]


class ServerIndicator(QToolButton):
    """"API host:port" in the status bar while serving (see the module docstring)."""

    def __init__(self, controller: ServerController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("apiIndicator")
        self.setAutoRaise(True)
        self.controller = controller
        controller.state_changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        c = self.controller
        if c.running:
            self.setText(f"API {c.address}")
            self.setStyleSheet("")
            self.setToolTip(f"GenLab serves an OpenAI-compatible API at {c.url}. Click for the request log.")
        elif c.error:
            self.setText("⚠ API not running")
            self.setStyleSheet("color:#c0392b;font-weight:bold")
            self.setToolTip(c.error)
        self.setVisible(c.running or bool(c.error))
