"""The engine slot's queue for served requests: bounded, fair between clients, Qt-free.

Served generations own the GPU like the GUI's engine jobs, so they run one at
a time.  :class:`EngineQueue` is the headless slot: one worker thread takes
the next :class:`Ticket` round-robin across clients (a client that sent ten
requests does not make a second client wait for all ten), and refuses new
work past its bounds with :class:`QueueFull`, which carries the HTTP status
(429: this client already has its share waiting; 503: the queue is full) and
a ``Retry-After`` estimate from the median time of recent jobs: for a 429,
when this client's next waiting request will have started (its place in the
turn order, plus the running job), so it has room again; for a 503, when the
running job ends and frees a place.  (The time for the whole queue to drain
would keep a refused client away far longer than needed.)

The GUI plugs its own lane in through the :class:`EngineLane` protocol (the
same ``submit(job, client)``), so requests and the person's own jobs share one
queue there; the server only ever talks to the protocol.

Lifecycle: ``EngineQueue()`` starts its worker; ``submit`` returns a ticket
whose ``future`` resolves with the job's result; ``ticket.cancel()`` drops a
waiting job or sets the running job's cancel token; ``close()`` cancels all
and stops the worker.
"""

from __future__ import annotations

import itertools
import math
import statistics
import threading
import time
from collections import OrderedDict, deque
from concurrent.futures import Future
from typing import Any, Protocol

from desktop.core.errors import GenLabError
from desktop.core.jobs import SHUTDOWN, CancelToken, Job, JobCancelled

WAITING, RUNNING, DONE = "waiting", "running", "done"
_ids = itertools.count(1)


class QueueFull(GenLabError):
    """No room for another request; ``status`` is 429 or 503, ``retry_after`` in whole seconds."""

    def __init__(self, message: str, hint: str, *, status: int, retry_after: int) -> None:
        super().__init__(message, hint)
        self.status = status
        self.retry_after = retry_after


class Ticket:
    """One submitted job: waiting, running or done; ``future`` holds its result or error."""

    def __init__(self, job: Job, client: str) -> None:
        self.id = next(_ids)
        self.job = job
        self.client = client
        self.token = CancelToken()
        self.future: Future[Any] = Future()
        self.state = WAITING
        self.submitted_at = time.monotonic()
        self.started_at: float | None = None
        self._on_cancel: list[Any] = []

    def cancel(self, reason: str = "") -> None:
        """Stop the job: a waiting one never starts, a running one stops at its next check."""
        self.token.cancel(reason)
        for callback in list(self._on_cancel):
            callback(self)


class EngineLane(Protocol):
    """Where served jobs run: the headless :class:`EngineQueue`, or the GUI's engine lane."""

    def submit(self, job: Job, client: str) -> Ticket: ...


class EngineQueue:
    """A single-worker, bounded, round-robin queue (see the module docstring)."""

    def __init__(self, max_waiting: int = 8, max_waiting_per_client: int = 4) -> None:
        self.max_waiting = max_waiting
        self.max_waiting_per_client = max_waiting_per_client
        self._lock = threading.Condition()
        self._waiting: OrderedDict[str, deque[Ticket]] = OrderedDict()  # client -> its tickets, in turn order
        self._running: Ticket | None = None
        self._durations: deque[float] = deque(maxlen=20)
        self._closed = False
        self._worker = threading.Thread(target=self._loop, name="genlab-api-engine", daemon=True)
        self._worker.start()

    # --- submitting ------------------------------------------------------------
    def submit(self, job: Job, client: str) -> Ticket:
        """Queue ``job`` for ``client``; raises QueueFull when past a bound."""
        with self._lock:
            if self._closed:
                raise QueueFull("The server is shutting down.", "Try again once it is running.",
                                status=503, retry_after=5)
            waiting = self._count_waiting()
            if len(self._waiting.get(client, ())) >= self.max_waiting_per_client:
                raise QueueFull(f"This client already has {self.max_waiting_per_client} requests waiting.",
                                "Wait for one to finish before sending more.",
                                status=429, retry_after=self._retry_after(self._first_place(client)))
            if waiting >= self.max_waiting:
                raise QueueFull(f"The engine queue is full ({self.max_waiting} requests waiting).",
                                "Try again later.", status=503, retry_after=self._retry_after(0))
            ticket = Ticket(job, client)
            ticket._on_cancel.append(self._drop)
            self._waiting.setdefault(client, deque()).append(ticket)
            self._lock.notify()
            return ticket

    def _count_waiting(self) -> int:
        return sum(len(q) for q in self._waiting.values())

    def _retry_after(self, ahead: int) -> int:
        """Whole seconds until ``ahead`` waiting jobs and the running one are done, by the median job."""
        typical = statistics.median(self._durations) if self._durations else 1.0
        return max(1, math.ceil(typical * (ahead + 1)))

    def _first_place(self, client: str) -> int:
        """How many waiting jobs run before ``client``'s first waiting one (call under the lock)."""
        queues = [list(q) for q in self._waiting.values()]
        order = [t for row in itertools.zip_longest(*queues) for t in row if t is not None]
        return next((i for i, t in enumerate(order) if t.client == client), len(order))

    def _drop(self, ticket: Ticket) -> None:
        with self._lock:
            tickets = self._waiting.get(ticket.client)
            if tickets is None or ticket not in tickets:
                return
            tickets.remove(ticket)
            if not tickets:
                del self._waiting[ticket.client]
        ticket.state = DONE
        ticket.future.set_exception(JobCancelled())

    # --- inspecting --------------------------------------------------------------
    def snapshot(self) -> tuple[Ticket | None, list[Ticket]]:
        """(the running ticket, the waiting ones in the order they will run)."""
        with self._lock:
            queues = [list(q) for q in self._waiting.values()]
            running = self._running
        order = [t for row in itertools.zip_longest(*queues) for t in row if t is not None]
        return running, order

    # --- running -------------------------------------------------------------------
    def _next(self) -> Ticket | None:
        with self._lock:
            while not self._closed and not self._waiting:
                self._lock.wait()
            if self._closed:
                return None
            client, tickets = next(iter(self._waiting.items()))
            ticket = tickets.popleft()
            del self._waiting[client]
            if tickets:  # the client's next request goes behind every other client's
                self._waiting[client] = tickets
            ticket.state, ticket.started_at = RUNNING, time.monotonic()
            self._running = ticket
            return ticket

    def _loop(self) -> None:
        while (ticket := self._next()) is not None:
            try:
                if ticket.token.cancelled:
                    raise JobCancelled()
                result = ticket.job.run(ticket.token)  # a served job reports through its own relay
            except BaseException as exc:  # handed to whoever waits on the future
                ticket.future.set_exception(exc)
            else:
                ticket.future.set_result(result)
            finally:
                with self._lock:
                    self._running = None
                    self._durations.append(time.monotonic() - (ticket.started_at or time.monotonic()))
                ticket.state = DONE

    def close(self, timeout: float = 10.0) -> None:
        """Cancel everything and stop the worker (waits up to ``timeout`` for the running job)."""
        with self._lock:
            self._closed = True
            waiting = [t for q in self._waiting.values() for t in q]
            self._waiting.clear()
            running = self._running
            self._lock.notify_all()
        for ticket in waiting:
            ticket.state = DONE
            ticket.future.set_exception(JobCancelled())
        if running is not None:
            running.token.cancel(SHUTDOWN)
        self._worker.join(timeout)
