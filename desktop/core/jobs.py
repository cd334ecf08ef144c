"""The one shape of long work: a plain function, a cancel token, a progress callback.

A job function looks like::

    def generate(params, *, cancel: CancelToken, progress: ProgressCallback) -> Result: ...

It checks ``cancel.raise_if_cancelled()`` at every natural step (a token, a
denoising step, a download chunk) and reports with ``progress(Progress(...))``.
It returns a result dataclass or raises; :class:`JobCancelled` means it stopped
because it was asked to.  Nothing here knows about threads or Qt: the ui layer
runs jobs on worker threads (``desktop.ui.runner``) and scripts call them
directly.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol


class JobCancelled(Exception):
    """Raised by a job that stopped because its cancel token was set."""


SHUTDOWN = "shutdown"  # a cancel reason: the app is quitting, nobody asked this job to stop


class CancelToken:
    """A thread-safe, one-way cancel flag shared by a job and whoever runs it.

    ``reason`` says why it was set, for the few jobs that end differently
    depending on it: a download stopped by a person stays paused, one
    stopped because the app quits (:data:`SHUTDOWN`) resumes at next start.
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason = ""

    def cancel(self, reason: str = "") -> None:
        """Set the flag; the first reason given is kept."""
        if not self._event.is_set():
            self.reason = reason
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise JobCancelled()

    def wait(self, timeout: float) -> bool:
        """Sleep up to ``timeout`` seconds; return True early if cancelled."""
        return self._event.wait(timeout)


@dataclass
class Progress:
    """One progress report.

    ``fraction`` is 0..1 or None when unknown; ``current``/``total`` are in the
    job's own unit (tokens, steps, bytes); ``payload`` carries job-specific
    data such as a streamed text chunk or a preview image.
    """

    fraction: float | None = None
    message: str = ""
    current: int | None = None
    total: int | None = None
    payload: Any = None


ProgressCallback = Callable[[Progress], None]


def no_progress(_: Progress) -> None:
    """A progress callback that ignores every report."""


class JobFunction(Protocol):
    def __call__(self, *, cancel: CancelToken, progress: ProgressCallback) -> Any: ...


@dataclass
class Job:
    """A named unit of long work.

    ``kind`` selects the lane it runs in: ``"engine"`` jobs (text or image
    generation, model loads) run one at a time in a visible queue because they
    own the GPU; ``"io"`` jobs (downloads, hashing, imports) run beside them.
    ``reports_failure``: whoever submits the job tells the person about its
    failures in its own words (or knows one is no failure to them), so the
    window's catch-all message for failed jobs stays out of the way.
    """

    name: str
    fn: JobFunction
    kind: str = "engine"
    meta: dict[str, Any] = field(default_factory=dict)
    reports_failure: bool = False

    def run(self, cancel: CancelToken | None = None, progress: ProgressCallback = no_progress) -> Any:
        return self.fn(cancel=cancel or CancelToken(), progress=progress)
