"""Upkeep runs on a schedule even when saves never pause long enough to be idle."""

import time

import pytest

from desktop.core.history.writer import HistoryWriter
from desktop.core.records import GenerationRecord


@pytest.mark.slow
def test_upkeep_runs_on_time_under_constant_load():
    appended, upkeeps = [], []
    writer = HistoryWriter(appended.extend, lambda: upkeeps.append(time.monotonic()),
                           idle_seconds=60, maintain_every=10_000, maintain_after=0.3)
    try:
        deadline = time.monotonic() + 1.2
        while time.monotonic() < deadline:  # a save every 20 ms: never idle for 60 s
            writer.save(GenerationRecord(kind="text", prompt="p")).result(5)
            time.sleep(0.02)
        assert len(upkeeps) >= 2
        assert len(appended) > 20
    finally:
        writer.close()


def test_no_upkeep_before_it_is_due():
    upkeeps = []
    writer = HistoryWriter(lambda records: None, lambda: upkeeps.append(1),
                           idle_seconds=60, maintain_every=10_000, maintain_after=3600)
    try:
        for _ in range(20):
            writer.save(GenerationRecord(kind="text", prompt="p")).result(5)
        assert upkeeps == []
    finally:
        writer.close()
