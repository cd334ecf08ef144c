"""The engine queue: one job at a time, round-robin between clients, bounded, cancellable."""

from __future__ import annotations

import threading

import pytest

from desktop.core.jobs import CancelToken, Job, JobCancelled
from desktop.core.server.queue import EngineQueue, QueueFull


class Gate:
    """A job that runs until the test opens the gate (or it is cancelled)."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.open = threading.Event()

    def job(self, name: str = "gate") -> Job:
        def fn(*, cancel: CancelToken, progress) -> str:
            self.started.set()
            while not self.open.wait(0.01):
                cancel.raise_if_cancelled()
            return name

        return Job(name, fn)


def _recording(order: list[str], name: str) -> Job:
    def fn(*, cancel: CancelToken, progress) -> str:
        order.append(name)
        return name

    return Job(name, fn)


@pytest.fixture
def queue():
    q = EngineQueue(max_waiting=6, max_waiting_per_client=3)
    yield q
    q.close()


def test_clients_take_turns_instead_of_first_come_first_served(queue):
    gate, order = Gate(), []
    blocker = queue.submit(gate.job(), "someone")
    assert gate.started.wait(10)
    tickets = [queue.submit(_recording(order, f"a{i}"), "A") for i in range(3)]
    tickets += [queue.submit(_recording(order, f"b{i}"), "B") for i in range(2)]
    tickets.append(queue.submit(_recording(order, "c0"), "C"))
    _, waiting = queue.snapshot()
    assert [t.job.name for t in waiting] == ["a0", "b0", "c0", "a1", "b1", "a2"]
    gate.open.set()
    assert blocker.future.result(10) == "gate"
    for ticket in tickets:
        ticket.future.result(10)
    assert order == ["a0", "b0", "c0", "a1", "b1", "a2"]


def test_past_its_share_a_client_gets_429_and_past_the_bound_everyone_gets_503(queue):
    gate = Gate()
    queue.submit(gate.job(), "someone")
    assert gate.started.wait(10)
    for _ in range(3):
        queue.submit(Gate().job(), "greedy")
    with pytest.raises(QueueFull) as mine:
        queue.submit(Gate().job(), "greedy")
    assert mine.value.status == 429 and mine.value.retry_after >= 1
    for i in range(3):
        queue.submit(Gate().job(), f"other{i}")
    with pytest.raises(QueueFull) as full:
        queue.submit(Gate().job(), "newcomer")
    assert full.value.status == 503 and full.value.retry_after >= 1
    assert "full" in str(full.value)


def test_retry_after_says_when_the_refused_client_has_room_again_not_when_the_queue_drains(queue):
    """No job has finished yet, so the median job counts 1 s: a 429 waits for the jobs ahead of the
    client's first waiting one and the running one; a 503 for the running one to free a place."""
    gate = Gate()
    queue.submit(gate.job(), "someone")
    assert gate.started.wait(10)
    queue.submit(Gate().job(), "other0")
    queue.submit(Gate().job(), "other1")
    for _ in range(3):
        queue.submit(Gate().job(), "greedy")
    with pytest.raises(QueueFull) as mine:
        queue.submit(Gate().job(), "greedy")
    assert mine.value.status == 429 and mine.value.retry_after == 3  # other0 and other1 go first, then greedy
    queue.submit(Gate().job(), "other2")
    with pytest.raises(QueueFull) as full:
        queue.submit(Gate().job(), "newcomer")
    assert full.value.status == 503 and full.value.retry_after == 1


def test_a_cancelled_waiting_job_never_runs_and_a_running_one_stops(queue):
    gate, order = Gate(), []
    running = queue.submit(gate.job(), "A")
    assert gate.started.wait(10)
    waiting = queue.submit(_recording(order, "never"), "B")
    after = queue.submit(_recording(order, "after"), "C")
    waiting.cancel()
    with pytest.raises(JobCancelled):
        waiting.future.result(10)
    running.cancel()
    with pytest.raises(JobCancelled):
        running.future.result(10)
    assert after.future.result(10) == "after"
    assert order == ["after"]


def test_a_failing_job_hands_its_error_to_the_waiter_and_the_queue_goes_on(queue):
    def boom(*, cancel, progress):
        raise ValueError("bad")

    failed = queue.submit(Job("boom", boom), "A")
    with pytest.raises(ValueError, match="bad"):
        failed.future.result(10)
    assert queue.submit(_recording([], "next"), "A").future.result(10) == "next"


def test_closing_cancels_waiting_and_running_jobs_and_refuses_new_ones():
    queue = EngineQueue()
    gate = Gate()
    running = queue.submit(gate.job(), "A")
    assert gate.started.wait(10)
    waiting = queue.submit(Gate().job(), "B")
    queue.close()
    for ticket in (running, waiting):
        with pytest.raises(JobCancelled):
            ticket.future.result(10)
    with pytest.raises(QueueFull) as refused:
        queue.submit(Gate().job(), "C")
    assert refused.value.status == 503
