"""The server's request log: one entry per request, for the GUI's log panel and for tests.

Entries never hold prompts or replies (the log is not cleaned when history is
deleted); they say who asked what kind of thing, and how it ended.  A
streamed generation that the client abandoned notes how many tokens were
made after the server asked it to stop (``tokens_after_cancel``), which is
how the one-token promptness of a disconnect is checked.

Lifecycle: ``RequestLog()`` keeps the last ``size`` entries; ``open`` adds an
entry and returns it, the server fills it in and calls ``close`` with the status; listeners
(``add_listener``) are called from the server's thread on every close.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Callable


@dataclass
class LogEntry:
    method: str
    path: str
    client: str
    started: float  # time.time()
    model: str = ""
    status: int = 0
    outcome: str = ""  # "done" | "cancelled" | "refused" | "failed"
    duration_s: float = 0.0
    completion_tokens: int = 0
    tokens_at_cancel: int | None = None  # tokens made when the client went away
    cancelled: bool = False  # the client went away before the answer was complete
    # The engine job still running when the response ended (a stream the client left): the entry
    # is closed when it ends, so its token count is the job's last.
    pending: Future[Any] | None = None

    @property
    def tokens_after_cancel(self) -> int | None:
        if self.tokens_at_cancel is None:
            return None
        return self.completion_tokens - self.tokens_at_cancel


class RequestLog:
    """The last requests, newest last (see the module docstring)."""

    def __init__(self, size: int = 500) -> None:
        self._entries: deque[LogEntry] = deque(maxlen=size)
        self._lock = threading.Lock()
        self._listeners: list[Callable[[LogEntry], None]] = []
        self._closed = threading.Condition(self._lock)

    def open(self, method: str, path: str, client: str) -> LogEntry:
        entry = LogEntry(method, path, client, time.time())
        with self._lock:
            self._entries.append(entry)
        return entry

    def close(self, entry: LogEntry, status: int) -> None:
        with self._lock:
            entry.status = status
            entry.outcome = ("cancelled" if entry.cancelled else "done" if status < 400
                             else "refused" if status < 500 else "failed")
            entry.duration_s = time.time() - entry.started
            listeners = list(self._listeners)
            self._closed.notify_all()
        for listener in listeners:
            listener(entry)

    def entries(self) -> list[LogEntry]:
        with self._lock:
            return list(self._entries)

    def wait_for(self, predicate: Callable[[LogEntry], bool], timeout: float) -> LogEntry | None:
        """The first closed entry matching ``predicate``, waiting up to ``timeout`` seconds for one."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                found = next((e for e in self._entries if e.outcome and predicate(e)), None)
                left = deadline - time.monotonic()
                if found is not None or left <= 0:
                    return found
                self._closed.wait(left)

    def add_listener(self, listener: Callable[[LogEntry], None]) -> None:
        self._listeners.append(listener)
