"""Another GenLab process holding a file lock: a child process that takes a real ``flock``."""

from __future__ import annotations

import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

# Takes an exclusive flock on argv[1] (created if missing), says "locked", holds it until stdin closes.
HOLDER = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
sys.stdin.read()
"""


@contextmanager
def lock_held_by_another_process(path: Path) -> Iterator[subprocess.Popen]:
    """``path`` locked (``flock`` ``LOCK_EX``) by a child process until the block ends."""
    if sys.platform == "win32":
        pytest.skip("flock is POSIX")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], text=True, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = proc.stdout.readline()
        if line.strip() != "locked":
            pytest.fail(f"the lock holder did not lock {path}: {line!r} {proc.stderr.read()}")
        yield proc
    finally:
        proc.stdin.close()  # the child exits; the kernel drops its lock
        proc.wait(10)
