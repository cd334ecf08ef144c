"""Helper process for the kill -9 durability test (run by test_durability.py).

It imports lancedb once (it resets its runtime in a forked child), then forks
one writer per trial:
the writer opens the history, saves records as fast as it can and appends the
id of every record whose save future resolved to an acknowledgement file.
The parent kills it with SIGKILL at a random moment, checks it did not die
on its own, and goes on with the next trial on the same database.

    python -m tests.core.history.durability_child ROOT ACK_FILE TRIALS SEED
"""

from __future__ import annotations

import os
import random
import signal
import sys
import time


def writer(root: str, ack_path: str, trial: int) -> None:
    from desktop.core.history.store import HistoryStore
    from desktop.core.records import GenerationRecord

    store = HistoryStore(root, embedder=None, idle_seconds=0.05)
    ack = os.open(ack_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.write(ack, f"opened {trial} {store.count()}\n".encode())

    def acknowledge(future, record_id: str) -> None:
        if future.exception() is None:
            os.write(ack, f"saved {record_id}\n".encode())

    n = 0
    while True:
        record = GenerationRecord(kind="text", prompt=f"trial {trial} record {n}", output_text="x" * (n % 50))
        store.save(record).add_done_callback(lambda f, rid=record.id: acknowledge(f, rid))
        n += 1
        if n % 10 == 0:
            time.sleep(0.005)  # let the writer commit batches of various sizes


def _wait_until_open(ack_path: str, trial: int, pid: int) -> None:
    marker = f"opened {trial} "
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with open(ack_path) as fh:
                if any(line.startswith(marker) for line in fh):
                    return
        except FileNotFoundError:
            pass
        if os.waitpid(pid, os.WNOHANG) != (0, 0):
            return  # died by itself; reported by the caller
        time.sleep(0.02)


def main(argv: list[str]) -> int:
    root, ack_path, trials, seed = argv[0], argv[1], int(argv[2]), int(argv[3])
    import warnings

    import lancedb  # noqa: F401  (slow import; lancedb re-creates its runtime after a fork)

    warnings.filterwarnings("ignore", message=".*fork.*")
    import pyarrow  # noqa: F401

    import desktop.core.records  # noqa: F401

    rng = random.Random(seed)
    for trial in range(trials):
        pid = os.fork()
        if pid == 0:
            try:
                writer(root, ack_path, trial)
            finally:
                os._exit(3)
        _wait_until_open(ack_path, trial, pid)
        time.sleep(rng.uniform(0.05, 0.5))  # kill at a random moment of continuous writing
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        if not (os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL):
            print(f"trial {trial}: writer ended by itself (status {status})", flush=True)
            return 1
        print(f"trial {trial} killed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
