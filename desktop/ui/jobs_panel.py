"""The visible job queue: queued and running jobs, each with a Cancel button.

Also the status-bar widget that shows the current job and its progress.
Both read the runner's state on ``queue_changed`` and follow the running job's
``progressed`` signal; neither ever blocks on a job.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.ui.runner import QUEUED, RUNNING, JobHandle, JobRunner
from desktop.ui.widgets import ElidedLabel


def describe(handle: JobHandle) -> str:
    p = handle.last_progress
    if handle.state == QUEUED:
        return f"{handle.name} — queued"
    if p is None:
        return f"{handle.name} — starting"
    detail = p.message or (f"{p.current}/{p.total}" if p.total else "")
    return f"{handle.name} — {detail}" if detail else handle.name


class JobRow(QWidget):
    def __init__(self, handle: JobHandle, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.handle = handle
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        self.label = QLabel(describe(handle))
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self._cancel)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.cancel_button)

    def _cancel(self) -> None:
        self.handle.cancel()
        self.cancel_button.setEnabled(False)
        self.cancel_button.setText("Cancelling…")

    def refresh(self) -> None:
        self.label.setText(describe(self.handle))


class JobsPanel(QWidget):
    """Lists the runner's active jobs; rows refresh a few times a second."""

    def __init__(self, runner: JobRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        layout = QVBoxLayout(self)
        self.empty = QLabel("No jobs are running.")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.list = QListWidget()
        layout.addWidget(self.empty)
        layout.addWidget(self.list)
        runner.queue_changed.connect(self.rebuild)
        self._timer = QTimer(self, interval=250)
        self._timer.timeout.connect(self._refresh_rows)
        self.rebuild()

    def rebuild(self) -> None:
        self.list.clear()
        jobs = self.runner.active_jobs()
        for handle in jobs:
            item = QListWidgetItem()
            row = JobRow(handle)
            item.setSizeHint(row.sizeHint())
            self.list.addItem(item)
            self.list.setItemWidget(item, row)
        self.empty.setVisible(not jobs)
        self.list.setVisible(bool(jobs))
        if jobs:
            self._timer.start()
        else:
            self._timer.stop()

    def rows(self) -> list[JobRow]:
        return [self.list.itemWidget(self.list.item(i)) for i in range(self.list.count())]

    def _refresh_rows(self) -> None:
        for row in self.rows():
            row.refresh()


class JobStatus(QWidget):
    """Status-bar widget: the running job, its progress and the queue length."""

    def __init__(self, runner: JobRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.label = ElidedLabel("", max_width=420)
        self.bar = QProgressBar()
        self.bar.setFixedWidth(140)
        self.bar.setTextVisible(False)
        self.queue_button = QPushButton("Jobs")
        self.queue_button.setFlat(True)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.queue_button)
        self._current: JobHandle | None = None
        runner.queue_changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        jobs = self.runner.active_jobs()
        running = next((h for h in jobs if h.state == RUNNING), None)
        if running is not self._current:
            if self._current is not None:
                try:
                    self._current.progressed.disconnect(self._on_progress)
                except (RuntimeError, TypeError):
                    pass
            self._current = running
            if running is not None:
                running.progressed.connect(self._on_progress)
        queued = sum(1 for h in jobs if h.state == QUEUED)
        self.queue_button.setText(f"Jobs ({len(jobs)})" if jobs else "Jobs")
        if running is None:
            self.label.setText(f"{queued} queued" if queued else "Idle")
            self.bar.setVisible(False)
            return
        self.label.setText(describe(running) + (f"  (+{queued} queued)" if queued else ""))
        self.bar.setVisible(True)
        self._show_fraction(running.last_progress.fraction if running.last_progress else None)

    def _on_progress(self, reports: list) -> None:
        if self._current is None:
            return
        self.label.setText(describe(self._current))
        self._show_fraction(reports[-1].fraction)

    def _show_fraction(self, fraction: float | None) -> None:
        if fraction is None:
            self.bar.setRange(0, 0)  # busy indicator
        else:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(max(0.0, min(1.0, fraction)) * 1000))
