"""The single writer thread of the history table.

Every change to the table (appends, updates, deletes, compaction) runs on this
one thread, in submission order, so LanceDB never sees two writers and a
burst of saves becomes one append (one data file, one version) instead of
hundreds.  ``save`` returns a :class:`concurrent.futures.Future` that resolves
only after the batch holding the record is committed, so "reported saved"
always means "on disk"; a failed commit sets the future's exception and
leaves everything committed before it untouched.

Lifecycle: created by the store, runs until :meth:`close`, which commits
whatever is queued and stops.  When the queue has been quiet for
``idle_seconds`` (or, under constant load, every ``maintain_every`` commits or
``maintain_after`` seconds, whichever comes first) it
calls the store's ``maintain`` hook (optimize, index upkeep, old versions).
Every operation runs inside the store's ``guard`` (``durable.synced_to_disk``),
so what it wrote is flushed to the disk before its future resolves.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from concurrent.futures import Future
from contextlib import nullcontext
from typing import Any, Callable, ContextManager

from desktop.core.history.errors import HistoryError, HistoryWriteError
from desktop.core.records import GenerationRecord

log = logging.getLogger(__name__)

MAX_BATCH = 256


def write_error(exc: BaseException) -> HistoryError:
    """The readable error for a failed write (a full disk says so)."""
    if isinstance(exc, HistoryError):
        return exc
    text = str(exc)
    if any(s in text for s in ("No space", "ENOSPC", "File too large", "EFBIG", "Disk quota")):
        return HistoryWriteError("The history could not be saved: the disk is full.",
                                 "Free some space; everything saved before is kept.")
    return HistoryWriteError(f"The history could not be saved: {type(exc).__name__}: {text[:300]}",
                             "Check that the data folder is writable; everything saved before is kept.")


class HistoryWriter:
    """Owns all writes; see the module docstring.

    ``append(records)`` commits a list of records (called on this thread only);
    ``maintain()`` does idle upkeep.  Both are the store's methods.
    """

    def __init__(self, append: Callable[[list[GenerationRecord]], None], maintain: Callable[[], None],
                 *, idle_seconds: float = 5.0, maintain_every: int = 200, maintain_after: float = 600.0,
                 on_change: Callable[[], None] = lambda: None,
                 on_error: Callable[[HistoryError], None] = lambda exc: None,
                 guard: Callable[[], ContextManager] = nullcontext) -> None:
        self._append = append
        self._guard = guard
        self._on_change = on_change
        self._on_error = on_error
        self._maintain = maintain
        self._idle_seconds = idle_seconds
        self._maintain_every = maintain_every
        self._maintain_after = maintain_after
        self._last_maintain = time.monotonic()
        self._queue: "queue.Queue[tuple[str, Any, Future] | None]" = queue.Queue()
        self._dirty = False
        self._commits_since_maintain = 0
        self._closed = False
        self._close_lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="genlab-history-writer", daemon=True)
        self._thread.start()

    # --- any thread ----------------------------------------------------------
    def save(self, record: GenerationRecord) -> Future:
        future: Future = Future()
        if self._closed:
            future.set_exception(HistoryWriteError("The history is closed; the record was not saved."))
            return future
        self._queue.put(("save", record, future))
        return future

    def call(self, fn: Callable[[], Any]) -> Future:
        """Run ``fn`` on the writer thread after everything queued before it."""
        future: Future = Future()
        if self._closed:
            future.set_exception(HistoryError("The history is closed."))
            return future
        self._queue.put(("call", fn, future))
        return future

    def run(self, fn: Callable[[], Any], timeout: float | None = None) -> Any:
        """``call`` and wait for the result (or its exception)."""
        if threading.current_thread() is self._thread:
            return fn()
        return self.call(fn).result(timeout)

    def flush(self, timeout: float | None = None) -> None:
        self.run(lambda: None, timeout)

    def close(self, timeout: float = 60.0) -> None:
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        self._queue.put(None)
        self._thread.join(timeout)

    # --- writer thread --------------------------------------------------------
    def _loop(self) -> None:
        pending: list[tuple[GenerationRecord, Future]] = []
        while True:
            if pending:
                item = self._next_nowait()
            else:
                item = self._next_blocking()
            if item is _IDLE:
                self._idle_upkeep()
                continue
            if item is None or item is _EMPTY:
                self._commit(pending)
                pending = []
                if item is None:
                    return
                continue
            kind, payload, future = item
            if kind == "save":
                pending.append((payload, future))
                if len(pending) >= MAX_BATCH:
                    self._commit(pending)
                    pending = []
                continue
            self._commit(pending)
            pending = []
            if future.set_running_or_notify_cancel():
                try:
                    with self._guard():
                        result = payload()
                except BaseException as exc:  # handed to the caller
                    self._on_change()
                    future.set_exception(exc)
                else:
                    self._on_change()
                    future.set_result(result)
                self._dirty = True

    def _next_nowait(self):
        try:
            return self._queue.get_nowait()
        except queue.Empty:
            return _EMPTY

    def _next_blocking(self):
        try:
            return self._queue.get(timeout=self._idle_seconds if self._dirty else None)
        except queue.Empty:
            return _IDLE

    def _commit(self, pending: list[tuple[GenerationRecord, Future]]) -> None:
        if not pending:
            return
        try:
            with self._guard():
                self._append([r for r, _ in pending])
        except BaseException as exc:
            if len(pending) > 1:
                # Retry one by one so one bad record does not sink the others.
                for one in pending:
                    self._commit([one])
                return
            log.warning("history: commit failed: %s", exc)
            error = write_error(exc)
            pending[0][1].set_exception(error)
            self._on_error(error)
            return
        self._on_change()
        for _, future in pending:
            if not future.done():
                future.set_result(None)
        self._dirty = True
        self._commits_since_maintain += 1
        overdue = time.monotonic() - self._last_maintain >= self._maintain_after
        if self._commits_since_maintain >= self._maintain_every or overdue:
            self._idle_upkeep()

    def _idle_upkeep(self) -> None:
        self._dirty = False
        self._commits_since_maintain = 0
        started = self._last_maintain = time.monotonic()
        try:
            with self._guard():
                self._maintain()
        except Exception:  # upkeep is best effort; the data is already safe
            log.exception("history: maintenance failed")
        self._on_change()
        log.debug("history: maintenance took %.2fs", time.monotonic() - started)


_IDLE = object()
_EMPTY = object()
