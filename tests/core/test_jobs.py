import threading

import pytest

from desktop.core.jobs import CancelToken, Job, JobCancelled, Progress


def counting_job(n):
    def fn(*, cancel, progress):
        for i in range(n):
            cancel.raise_if_cancelled()
            progress(Progress(fraction=(i + 1) / n, current=i + 1, total=n))
        return n
    return fn


def test_job_runs_with_progress():
    reports = []
    assert Job("count", counting_job(5)).run(progress=reports.append) == 5
    assert [r.current for r in reports] == [1, 2, 3, 4, 5]
    assert reports[-1].fraction == 1.0


def test_cancel_token_stops_job():
    token = CancelToken()
    token.cancel()
    with pytest.raises(JobCancelled):
        Job("count", counting_job(5)).run(cancel=token)


def test_cancel_token_wakes_waiters():
    token = CancelToken()
    threading.Timer(0.05, token.cancel).start()
    assert token.wait(10) is True
    assert token.cancelled
