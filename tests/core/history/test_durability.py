"""A record reported saved is on disk: kill -9 during writes, and a full disk."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from desktop.core.history.store import HistoryStore
from tests.conftest import REPO_ROOT

# the slow set: most tests here load a real model or pipeline, or spawn processes
pytestmark = pytest.mark.slow


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "fork"), reason="the kill -9 helper forks (POSIX only)")
def test_kill_9_during_writes_loses_nothing_reported_saved(tmp_path):
    root, ack = tmp_path / "history", tmp_path / "acks.txt"
    proc = subprocess.run(
        [sys.executable, "-m", "tests.core.history.durability_child", str(root), str(ack), "20", "1234"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("killed") == 20
    lines = ack.read_text().splitlines()
    opened = [line for line in lines if line.startswith("opened")]
    assert len(opened) == 20  # the table opened after every kill
    acked = {line.split()[1] for line in lines if line.startswith("saved")}
    assert len(acked) > 20
    store = HistoryStore(root, embedder=None)
    try:
        present = set(store.scan(["id"])["id"].to_pylist())
        assert acked - present == set()
        assert store.count() == len(present)
    finally:
        store.close()


FULL_DISK_CHILD = textwrap.dedent("""
    import base64, os, resource, signal, sys
    from desktop.core.history.store import HistoryStore
    from desktop.core.records import GenerationRecord
    root = sys.argv[1]
    store = HistoryStore(root, embedder=None)
    reported = []
    store.add_error_listener(reported.append)
    kept = [GenerationRecord(kind="text", prompt=f"kept {i}") for i in range(5)]
    store.save_many(kept)
    # From here no file may grow past 256 KiB: the next big write fails like a full disk.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, resource.RLIM_INFINITY))
    noise = base64.b64encode(os.urandom(2 * 1024 * 1024)).decode()  # incompressible: lance compresses pages
    huge = GenerationRecord(kind="text", prompt="huge", output_text=noise)
    try:
        store.save_and_wait(huge)
        print("NO ERROR")
    except Exception as exc:
        print("ERROR", type(exc).__name__, exc)
    print("LISTENER", len(reported))
    store.close()
""")


def test_full_disk_during_write_reports_error_and_keeps_saved_records(tmp_path):
    root = tmp_path / "history"
    proc = subprocess.run([sys.executable, "-c", FULL_DISK_CHILD, str(root)], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120)
    assert "ERROR HistoryWriteError" in proc.stdout, proc.stdout + proc.stderr
    assert "everything saved before is kept" in proc.stdout
    assert "LISTENER 1" in proc.stdout  # the GUI hears about it too
    store = HistoryStore(root, embedder=None)
    try:
        prompts = sorted(store.scan(["prompt"])["prompt"].to_pylist())
        assert prompts == [f"kept {i}" for i in range(5)]
    finally:
        store.close()
