"""The job runner: signals only, one engine job at a time, cancel, errors, a live GUI."""

import threading
import time

from desktop.core.errors import InvalidParameter
from desktop.core.jobs import Job, Progress
from desktop.ui.runner import CANCELLED, DONE, FAILED


def test_result_arrives_on_the_gui_thread(qtbot, runner):
    seen = {}

    def fn(*, cancel, progress):
        seen["worker"] = threading.current_thread()
        return 42

    handle = runner.submit(Job("answer", fn))
    handle.finished.connect(lambda r: seen.setdefault("slot", (r, threading.current_thread())))
    qtbot.waitUntil(lambda: "slot" in seen, timeout=5000)
    assert seen["slot"][0] == 42
    assert seen["worker"] is not threading.main_thread()
    assert seen["slot"][1] is threading.main_thread()
    assert handle.state == DONE


def test_engine_jobs_run_one_at_a_time_in_order(qtbot, runner):
    active, peak, order = [0], [0], []
    lock = threading.Lock()

    def make(i):
        def fn(*, cancel, progress):
            with lock:
                active[0] += 1
                peak[0] = max(peak[0], active[0])
            time.sleep(0.02)
            order.append(i)
            with lock:
                active[0] -= 1
        return fn

    handles = [runner.submit(Job(f"job{i}", make(i))) for i in range(5)]
    qtbot.waitUntil(lambda: all(h.state == DONE for h in handles), timeout=5000)
    assert peak[0] == 1
    assert order == [0, 1, 2, 3, 4]


def test_cancel_queued_and_running(qtbot, runner):
    started = threading.Event()

    def slow(*, cancel, progress):
        started.set()
        while True:
            cancel.raise_if_cancelled()
            time.sleep(0.005)

    ran_second = threading.Event()
    first = runner.submit(Job("slow", slow))
    second = runner.submit(Job("queued", lambda *, cancel, progress: ran_second.set()))
    qtbot.waitUntil(started.is_set, timeout=5000)
    assert [h.name for h in runner.engine_jobs()] == ["slow", "queued"]
    with qtbot.waitSignals([first.cancelled, second.cancelled], timeout=5000):
        second.cancel()
        first.cancel()
    assert first.state == CANCELLED and second.state == CANCELLED
    assert not ran_second.is_set()
    assert runner.engine_jobs() == []


def test_errors_become_messages_and_the_runner_keeps_going(qtbot, runner):
    def bad_input(*, cancel, progress):
        raise InvalidParameter("Temperature must be 0 or more; got -1.", "Set it to 0 for greedy decoding.")

    def bug(*, cancel, progress):
        return 1 / 0

    h1 = runner.submit(Job("bad input", bad_input))
    with qtbot.waitSignal(h1.failed, timeout=5000) as b1:
        pass
    assert b1.args[0] == "Temperature must be 0 or more; got -1. Set it to 0 for greedy decoding."
    h2 = runner.submit(Job("buggy", bug))
    with qtbot.waitSignal(h2.failed, timeout=5000) as b2:
        pass
    assert "ZeroDivisionError" in b2.args[0] and "Traceback" in b2.args[1]
    h3 = runner.submit(Job("fine", lambda *, cancel, progress: "ok"))
    with qtbot.waitSignal(h3.finished, timeout=5000):
        pass
    assert (h1.state, h2.state, h3.state) == (FAILED, FAILED, DONE)


def test_progress_is_coalesced_but_complete(qtbot, runner):
    n = 20000
    batches = []

    def chatty(*, cancel, progress):
        for i in range(n):
            progress(Progress(current=i, payload=i))
        return n

    handle = runner.submit(Job("chatty", chatty))
    handle.progressed.connect(batches.append)
    with qtbot.waitSignal(handle.ended, timeout=10000):
        pass
    payloads = [p.payload for batch in batches for p in batch]
    assert payloads == list(range(n))
    assert len(batches) < n / 10


def test_io_jobs_run_beside_an_engine_job(qtbot, runner):
    release = threading.Event()

    def blocking(*, cancel, progress):
        release.wait(5)

    engine = runner.submit(Job("engine", blocking))
    io = runner.submit(Job("download", lambda *, cancel, progress: "io done", kind="io"))
    with qtbot.waitSignal(io.finished, timeout=5000):
        pass
    with qtbot.waitSignal(engine.ended, timeout=5000):
        release.set()


def test_failures_reach_the_gui_in_full_but_the_log_file_without_their_message(qtbot, runner, caplog):
    """Messages can quote a prompt or a query; the log outlives deleting the history, so it gets none."""
    private = " ".join(["my", "private", "words"])  # not in the source lines a stack shows

    def refused(*, cancel, progress):
        raise InvalidParameter(f"The prompt {private!r} is too long.")

    def crashed(*, cancel, progress):
        raise KeyError(private)

    with caplog.at_level("WARNING", logger="desktop.ui.runner"):
        for fn in (refused, crashed):
            handle = runner.submit(Job(fn.__name__, fn, kind="io"))
            with qtbot.waitSignal(handle.failed, timeout=5000) as blocker:
                pass
            assert "my private words" in blocker.args[0]
    assert "job 'refused' failed: InvalidParameter" in caplog.text
    assert "job 'crashed' crashed: KeyError" in caplog.text and "in crashed" in caplog.text  # the stack stays
    assert "my private words" not in caplog.text


def test_no_job_starts_before_the_submitter_returns_to_the_event_loop(qtbot, runner):
    """Why a submitter may connect after submit() with no gate of its own: however fast the job,
    it is not handed to a worker until the event loop runs, so no signal can go unreceived."""
    ran = threading.Event()

    def instant(*, cancel, progress):
        ran.set()
        return "done"

    handles = [runner.submit(Job("engine", instant)), runner.submit(Job("io", instant, kind="io"))]
    # Still inside the submitting call: nothing is queued on a worker yet, so nothing has run.
    assert runner._engine_queue.empty() and runner._io_futures == [] and not ran.is_set()
    assert {h.state for h in handles} == {"queued"}
    got = []
    for handle in handles:
        handle.started.connect(lambda h=handle: got.append((h.name, "started")))
        handle.finished.connect(lambda result, h=handle: got.append((h.name, result)))
    qtbot.waitUntil(lambda: len(got) == 4, timeout=5000)
    assert sorted(got) == [("engine", "done"), ("engine", "started"), ("io", "done"), ("io", "started")]


def test_a_last_report_arrives_while_the_job_still_waits(qtbot, runner):
    """A job that reports "Paused" and then waits gets that report to the GUI without a next one."""
    release = threading.Event()
    got = []

    def pauses(*, cancel, progress):
        progress(Progress(message="Running"))
        progress(Progress(message="Paused"))  # right after the first: coalesced, held back
        release.wait(10)

    handle = runner.submit(Job("pauses", pauses))
    handle.progressed.connect(got.extend)
    with qtbot.waitSignal(handle.ended, timeout=5000):
        try:
            qtbot.waitUntil(lambda: [p.message for p in got] == ["Running", "Paused"], timeout=5000)
            assert handle.state == "running"
        finally:
            release.set()


def test_a_burst_is_coalesced_and_its_last_report_arrives_while_the_job_waits(qtbot, runner):
    release = threading.Event()
    batches = []

    def burst(*, cancel, progress):
        for i in range(1000):
            progress(Progress(current=i, payload=i))
        release.wait(10)

    handle = runner.submit(Job("burst", burst))
    handle.progressed.connect(batches.append)
    with qtbot.waitSignal(handle.ended, timeout=5000):
        try:
            qtbot.waitUntil(lambda: bool(batches) and batches[-1][-1].payload == 999, timeout=5000)
            assert handle.state == "running"
        finally:
            release.set()
    assert [p.payload for batch in batches for p in batch] == list(range(1000))
    assert len(batches) < 100
