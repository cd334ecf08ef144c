"""The GUI's engine lane for served requests: API jobs wait their turn in the app's one engine queue.

:class:`RunnerLane` is the server's :class:`~desktop.core.server.queue.EngineLane`
in the app.  It keeps the core's :class:`EngineQueue` for what it decides
(the bounds with their 429/503 and ``Retry-After``, the round-robin turn
between clients, cancelling everything on close), but its worker does not run
a job itself: it hands the job to the :class:`JobRunner`'s engine lane and
waits for it there.  So a request runs behind the person's queued engine jobs,
never beside one, shows in the Jobs panel like them and can be cancelled
there; one API request at a time enters the runner, so clients still take
turns.  The runner's handle and the request's ticket share one cancel token:
a client that goes away, the Jobs panel's Cancel button and the server
stopping all reach the generation at its next token.

Lifecycle: built and used by :class:`~desktop.ui.server.controller.ServerController`;
``close()`` cancels what is queued or running and stops the worker.

Signals (of the private bridge, living on the GUI thread):
    handoff(object): a job to put on the runner, sent from the queue's worker thread.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal

from desktop.core.jobs import CancelToken, Job, JobCancelled, ProgressCallback
from desktop.core.server.queue import EngineQueue, Ticket
from desktop.ui.runner import QUEUED, JobRunner

WAIT_STEP = 0.1  # seconds between looks at a cancelled request whose runner job has not started


@dataclass
class _Handoff:
    job: Job
    token: CancelToken
    done: threading.Event = field(default_factory=threading.Event)
    started: threading.Event = field(default_factory=threading.Event)  # the runner began the job
    # Flags, not the JobHandle: the worker thread never holds a Qt object, so the last
    # reference to one is never dropped (and the object deleted) off the GUI thread.
    result: Any = None
    finished: bool = False  # the job returned (``result``)
    error: BaseException | None = None


class _Bridge(QObject):
    handoff = Signal(object)

    def __init__(self, runner: JobRunner) -> None:
        super().__init__(runner)
        self.runner = runner
        self.handoff.connect(self._submit, Qt.ConnectionType.QueuedConnection)

    def _submit(self, h: _Handoff) -> None:
        if h.token.cancelled:
            h.done.set()
            return

        def run(*, cancel: CancelToken, progress: ProgressCallback) -> Any:
            try:
                h.result = h.job.fn(cancel=cancel, progress=progress)
                h.finished = True
                return h.result
            except BaseException as exc:
                h.error = exc
                raise

        # reports_failure: the client gets the error; the window's status bar is for the person's own jobs.
        handle = self.runner.submit(Job(h.job.name, run, kind="engine", reports_failure=True), token=h.token)
        handle.started.connect(h.started.set, Qt.ConnectionType.DirectConnection)
        handle.ended.connect(h.done.set, Qt.ConnectionType.DirectConnection)
        if handle.state != QUEUED:  # the runner is shut down: it will never run
            h.done.set()


class RunnerLane:
    """An EngineLane over the app's JobRunner (see the module docstring)."""

    def __init__(self, runner: JobRunner, max_waiting: int = 8, max_waiting_per_client: int = 4) -> None:
        self._bridge = _Bridge(runner)
        self.queue = EngineQueue(max_waiting, max_waiting_per_client)

    def submit(self, job: Job, client: str) -> Ticket:
        """Queue ``job`` for ``client`` (called on the server's thread); raises QueueFull past a bound."""
        return self.queue.submit(Job(job.name, lambda *, cancel, progress: self._through_runner(job, cancel),
                                     kind=job.kind), client)

    def _through_runner(self, job: Job, token: CancelToken) -> Any:
        """On the queue's worker: put ``job`` on the runner and wait for it to end."""
        h = _Handoff(job, token)
        self._bridge.handoff.emit(h)
        while not h.done.wait(WAIT_STEP):
            # A cancelled request still waiting behind someone's long job: answer now, not after it.
            # The runner drops the job when its turn comes (its token is cancelled).
            if token.cancelled and not h.started.is_set():
                raise JobCancelled()
        if h.error is not None:
            raise h.error
        if not h.finished:
            raise JobCancelled()
        return h.result

    def close(self, timeout: float = 10.0) -> None:
        self.queue.close(timeout)
