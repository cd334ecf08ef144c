"""The Arena workspace: blind A/B votes between two models on your prompts, and the leaderboard.

The setup (:class:`~desktop.ui.arena.setup.ArenaSetup`) names two or more
contenders (models, or presets of one model) and where the prompts come
from.  Generate pairs (Ctrl+Enter) makes both answers to every prompt on the
engine lane; the pairs are then shown one at a time as A and B, in a random
order, without names.  Keys 1-4 vote (A better, B better, tie, both bad); the
vote is recorded on the io lane and the names are revealed, then the next
pair is shown.  Esc stops the generation.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.core.jobs import Job
from desktop.ui.arena import jobs
from desktop.ui.arena.leaderboard import LeaderboardTab
from desktop.ui.arena.pair import PairPanel
from desktop.ui.arena.setup import ArenaSetup


class ArenaWorkspace(QWidget):
    """Set up, vote and rank.

    Signals:
        status_message(str): a line for the status bar.
        pairs_ready(int): the pairs of a generation are there (how many).
        vote_recorded(object): a Vote was stored; the names are shown.
        standings_shown(object): the leaderboard tab shows these Standings.
        setup_failed(str): the pairs could not be made (bad contenders or prompts); the message shown.
        export_opened(object): the Export dataset dialog opened from the leaderboard tab.
    """

    status_message = Signal(str)
    pairs_ready = Signal(int)
    vote_recorded = Signal(object)
    standings_shown = Signal(object)
    setup_failed = Signal(str)
    export_opened = Signal(object)

    def __init__(self, services, runner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services, self.runner = services, runner
        self.matches: list[Any] = []
        self.current = -1
        self.session_id = ""
        self._generating = None
        self.setup = ArenaSetup()
        self.start = QPushButton("Generate pairs")
        self.start.clicked.connect(self.generate)
        start_row = QHBoxLayout()
        start_row.addWidget(self.start)
        start_row.addStretch(1)
        self.error = QLabel("")
        self.error.setWordWrap(True)
        self.pair = PairPanel()
        self.pair.voted.connect(self._vote)
        vote_page = QWidget()
        vote_layout = QVBoxLayout(vote_page)
        vote_layout.addWidget(self.setup)
        vote_layout.addLayout(start_row)
        vote_layout.addWidget(self.error)
        vote_layout.addWidget(self.pair, 1)
        self.board = LeaderboardTab()
        self.board.refresh_requested.connect(self.refresh_leaderboard)
        self.board.export_requested.connect(self.open_export)
        self.tabs = QTabWidget()
        self.tabs.addTab(vote_page, "Vote")
        self.tabs.addTab(self.board, "Leaderboard")
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)

    # --- Generating ------------------------------------------------------------
    def generate(self) -> None:
        if self._generating is not None:
            return
        if self.services.settings.history.incognito:
            self._failed("Incognito is on, and every arena answer and vote is kept with the history. "
                         "Turn incognito off to use the arena.")
            return
        request = self.setup.request()
        job = Job("Arena: generate pairs",
                  lambda cancel, progress: jobs.make_pairs(self.services, request, cancel=cancel, progress=progress),
                  reports_failure=True)
        self.error.setText("")
        self.start.setEnabled(False)
        self._generating = handle = self.runner.submit(job)
        handle.finished.connect(self._pairs_made)
        handle.failed.connect(lambda message, _trace: self._setup_failed(message))
        handle.ended.connect(self._generation_ended)
        self.status_message.emit("Arena: generating both answers to every prompt…")

    def stop(self) -> None:
        if self._generating is not None:
            self._generating.cancel("stopped")

    def _generation_ended(self) -> None:
        self._generating = None
        self.start.setEnabled(True)

    def _failed(self, message: str) -> None:
        self.error.setText(message)
        self.status_message.emit(f"Arena: {message}")

    def _setup_failed(self, message: str) -> None:
        self._failed(message)
        self.setup_failed.emit(message)

    def _pairs_made(self, made: jobs.PairsMade) -> None:
        self.matches, self.session_id, self.current = made.matches, made.session_id, -1
        self.error.setText("\n".join(made.errors))
        self.pairs_ready.emit(len(self.matches))
        self._next()

    def _next(self) -> None:
        self.current += 1
        while self.current < len(self.matches) and not self.matches[self.current].votable:
            self.current += 1  # a pair with a failed side is listed in the error line, not voted on
        if self.current >= len(self.matches):
            self.pair.set_votable(False)
            self.pair.prompt.setText("Every pair is voted on: see the Leaderboard tab, or generate more.")
            return
        self.pair.show_match(self.matches[self.current], self.current + 1, len(self.matches))

    def _vote(self, verdict: str) -> None:
        match = self.matches[self.current]
        handle = self.runner.submit(Job("Arena: record a vote",
                                        lambda cancel, progress: jobs.record(self.services, match, verdict,
                                                                             self.session_id, cancel=cancel,
                                                                             progress=progress),
                                        kind="io", reports_failure=True))
        handle.finished.connect(lambda vote: self._voted(match, vote))
        handle.failed.connect(lambda message, _trace: self._vote_failed(message))

    def _voted(self, match, vote) -> None:
        a, b = match.names()
        self.pair.reveal.setText(f"Pair {self.current + 1}: A was {a}, B was {b}.")
        self.vote_recorded.emit(vote)
        self._next()

    def _vote_failed(self, message: str) -> None:
        self._failed(message)
        self.pair.set_votable(True)  # the same pair can be voted on again

    # --- leaderboard -------------------------------------------------------------
    def open_export(self) -> None:
        """The Export dataset dialog, set to the preference set of the votes (topic as its search)."""
        from desktop.ui.datasets.dialog import ExportDialog
        from desktop.ui.datasets.jobs import PREFERENCE

        dialog = ExportDialog(self.services, self.runner, format=PREFERENCE, query=self.board.topic.text().strip(),
                              parent=self)
        dialog.show()
        self.export_opened.emit(dialog)

    def refresh_leaderboard(self, kind: str, topic: str) -> None:
        handle = self.runner.submit(Job("Arena: leaderboard",
                                        lambda cancel, progress: jobs.standings(self.services, kind, topic,
                                                                                cancel=cancel, progress=progress),
                                        kind="io", reports_failure=True))
        handle.finished.connect(self._show_standings)
        handle.failed.connect(lambda message, _trace: self._failed(message))

    def _show_standings(self, standings: jobs.Standings) -> None:
        self.board.show_standings(standings)
        self.standings_shown.emit(standings)
