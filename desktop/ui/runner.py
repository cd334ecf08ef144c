"""Runs core jobs on worker threads and reports back to the GUI by signals only.

Lanes:

- ``engine``: one worker thread, jobs run one at a time in submission order
  (they own the GPU / the loaded model); queued jobs are visible and can be
  cancelled before they start.
- ``io``: a small pool for downloads, hashing, imports, searches.

Workers never touch widgets.  A failed job's message goes to the GUI by
signal; the log gets the job's name, the error's type and (for a crash) the
stack, never the message, which can quote prompts and queries (the log is not
cleaned when history is deleted).  Progress reports are coalesced and emitted
on the GUI thread at most every ``PROGRESS_INTERVAL`` seconds as a list, so a
job that reports thousands of tokens per second costs the GUI a few dozen
signal deliveries per second, not thousands; a report held back is delivered
within about ``PROGRESS_INTERVAL`` even when no further report follows (a job
that reports "Paused" and then waits).
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
import traceback
from concurrent import futures
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from desktop.core.errors import GenLabError
from desktop.core.jobs import SHUTDOWN, CancelToken, Job, JobCancelled, Progress

log = logging.getLogger(__name__)

PROGRESS_INTERVAL = 0.033  # seconds between coalesced progress signals

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"

_ids = itertools.count(1)


class JobHandle(QObject):
    """One submitted job.

    Signals:
        started(): the job left the queue and began running.
        progressed(list): the Progress reports made since the last emission,
            oldest first (never empty).
        finished(object): the job returned this result.
        failed(str, str): the job raised; a readable message and the traceback.
        cancelled(): the job was cancelled (queued or running).
        ended(): emitted once after finished, failed or cancelled.
    """

    started = Signal()
    progressed = Signal(object)  # a list; "object" passes it without conversion
    finished = Signal(object)
    failed = Signal(str, str)
    cancelled = Signal()
    ended = Signal()
    # Private: the worker asks the GUI thread to deliver what is pending (soon, or now).
    _wake = Signal()
    _drain = Signal()

    def __init__(self, job: Job, token: CancelToken | None = None) -> None:
        super().__init__()
        self.id = next(_ids)
        self.job = job
        self.token = token if token is not None else CancelToken()
        self.state = QUEUED
        self.last_progress: Progress | None = None
        self.result: Any = None
        self.error: str = ""
        self._pending: list[Progress] = []
        self._woken = False  # a _wake is posted and its delivery has not happened yet
        self._last_emit = 0.0
        self._lock = threading.Lock()
        # Created on the GUI thread, so the timer and the slots below run there: every
        # progressed emission happens on one thread, in order, and none waits for a next report.
        self._trailing = QTimer(self, singleShot=True)
        self._trailing.timeout.connect(self._deliver)
        self._wake.connect(self._schedule)
        self._drain.connect(self._deliver)

    @property
    def name(self) -> str:
        return self.job.name

    def cancel(self, reason: str = "") -> None:
        """Ask the job to stop; a queued job is dropped when its turn comes.

        ``reason`` reaches the job on its token (``CancelToken.reason``).
        """
        self.token.cancel(reason)

    # --- worker side -------------------------------------------------------
    def _report(self, report: Progress) -> None:
        with self._lock:
            self._pending.append(report)
            self.last_progress = report
            wake, self._woken = not self._woken, True
        if wake:  # one queued signal per delivery, however many reports join the batch
            self._wake.emit()

    def _flush(self) -> None:
        # Queued before the job's end signal, so the last reports reach the GUI before it.
        self._drain.emit()

    # --- GUI side ------------------------------------------------------------
    def _schedule(self) -> None:
        wait = PROGRESS_INTERVAL - (time.monotonic() - self._last_emit)
        if wait <= 0:
            self._deliver()
        elif not self._trailing.isActive():
            self._trailing.start(max(1, round(wait * 1000)))

    def _deliver(self) -> None:
        self._trailing.stop()
        with self._lock:
            batch, self._pending = self._pending, []
            self._woken = False
        if batch:
            self._last_emit = time.monotonic()
            self.progressed.emit(batch)

    def _execute(self) -> None:
        if self.token.cancelled:
            self.state = CANCELLED
            self.cancelled.emit()
            self.ended.emit()
            return
        self.state = RUNNING
        self.started.emit()
        try:
            result = self.job.fn(cancel=self.token, progress=self._report)
        except JobCancelled:
            self._flush()
            self.state = CANCELLED
            self.cancelled.emit()
        except GenLabError as exc:
            self._flush()
            self.state, self.error = FAILED, str(exc)
            # The message is for the person (the failed signal) and may quote what they typed or
            # generated; the log file outlives a deletion, so it gets only the error's type.
            log.warning("job %r failed: %s", self.name, type(exc).__name__)
            self.failed.emit(str(exc), traceback.format_exc())
        except Exception as exc:  # a bug or a library error: keep the app alive
            self._flush()
            self.state = FAILED
            self.error = f"{self.name} failed: {type(exc).__name__}: {exc}"
            log.error("job %r crashed: %s (message left out of the log)\n%s", self.name, type(exc).__name__,
                      "".join(traceback.format_tb(exc.__traceback__)).rstrip())
            self.failed.emit(self.error, traceback.format_exc())
        else:
            self._flush()
            self.state, self.result = DONE, result
            self.finished.emit(result)
        self.ended.emit()


class JobRunner(QObject):
    """Owns the worker threads.

    Signals:
        queue_changed(): a job was queued, started or ended (for queue views
            and the status bar).
    """

    queue_changed = Signal()

    def __init__(self, io_workers: int = 4) -> None:
        super().__init__()
        self._engine_queue: "queue.Queue[JobHandle | None]" = queue.Queue()
        self._engine_jobs: list[JobHandle] = []
        self._lock = threading.Lock()
        self._engine_thread = threading.Thread(target=self._engine_loop, name="genlab-engine", daemon=True)
        self._engine_thread.start()
        self._io = ThreadPoolExecutor(max_workers=io_workers, thread_name_prefix="genlab-io")
        self._io_jobs: list[JobHandle] = []
        self._io_futures: list = []
        self._closed = False

    def submit(self, job: Job, *, token: CancelToken | None = None) -> JobHandle:
        """Queue ``job``; it starts after the caller returns to the event loop.

        ``token``: the job's cancel token when someone else holds it too (a served
        request's ticket), so a cancel from either side reaches the job.
        """
        handle = JobHandle(job, token)
        if self._closed:
            # The app is quitting: a late request (a debounced search, a
            # timer) is dropped rather than raised into a closing widget.
            log.info("job %r not started: the runner is shut down", job.name)
            handle.token.cancel()
            handle.state = CANCELLED
            return handle
        handle.ended.connect(self.queue_changed)
        handle.started.connect(self.queue_changed)
        with self._lock:
            (self._engine_jobs if job.kind == "engine" else self._io_jobs).append(handle)
        # Start it only once control is back in the event loop, so the caller
        # can connect to the handle's signals before anything is emitted.
        QTimer.singleShot(0, self, lambda: self._start(handle))
        self.queue_changed.emit()
        return handle

    def _start(self, handle: JobHandle) -> None:
        if self._closed:
            return
        if handle.job.kind == "engine":
            self._engine_queue.put(handle)
        else:
            self._io_futures.append(self._io.submit(self._run_io, handle))

    def engine_jobs(self) -> list[JobHandle]:
        """Queued and running engine jobs, in order."""
        with self._lock:
            self._engine_jobs = [h for h in self._engine_jobs if h.state in (QUEUED, RUNNING)]
            return list(self._engine_jobs)

    def active_jobs(self) -> list[JobHandle]:
        with self._lock:
            self._io_jobs = [h for h in self._io_jobs if h.state in (QUEUED, RUNNING)]
            io = list(self._io_jobs)
        return self.engine_jobs() + io

    def cancel_all(self, reason: str = "") -> None:
        for handle in self.active_jobs():
            handle.cancel(reason)

    def shutdown(self, timeout: float = 5.0) -> None:
        """Cancel everything and wait, at most ``timeout`` seconds, for the workers to stop.

        The jobs are cancelled with reason :data:`~desktop.core.jobs.SHUTDOWN`,
        so work that can go on later (a download) leaves itself resumable
        instead of stopped as if a person had asked.
        """
        if self._closed:
            return
        self._closed = True
        deadline = time.monotonic() + timeout
        self.cancel_all(SHUTDOWN)
        self._engine_queue.put(None)
        self._engine_thread.join(timeout)
        self._io.shutdown(wait=False, cancel_futures=True)
        futures.wait(self._io_futures, timeout=max(0.0, deadline - time.monotonic()))

    def _engine_loop(self) -> None:
        while True:
            handle = self._engine_queue.get()
            if handle is None:
                return
            handle._execute()

    @staticmethod
    def _run_io(handle: JobHandle) -> None:
        handle._execute()
