"""Helper process for the kill -9 test (run by test_kill.py): indexes a collection keyword-only in small
commits and prints ``chunks N`` on every progress report, until the parent kills it.

    python -m tests.core.knowledge.kill_child NAME
"""

from __future__ import annotations

import sys


def main(name: str) -> None:
    from desktop.core.knowledge.store import Knowledge

    knowledge = Knowledge(embedder=None)

    def report(progress) -> None:
        if progress.payload is not None:
            print(f"chunks {progress.payload.chunks_written}", flush=True)

    knowledge.index(name, progress=report, batch_chunks=3)
    print("finished", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
