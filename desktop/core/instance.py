"""One GenLab process per data root.

The GUI holds an exclusive lock on ``<data root>/genlab.lock`` for its whole
life, so two processes can never write one history.  The lock is an OS file
lock (released by the kernel if the process dies), not a PID file.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from desktop.core import paths
from desktop.core.errors import AlreadyRunning

LOCK_NAME = "genlab.lock"


def instance_key(root: Path | None = None) -> str:
    """A short name that identifies the data root (used for the local socket)."""
    root = (root or paths.data_root()).resolve()
    return "genlab-" + hashlib.sha1(str(root).encode()).hexdigest()[:12]


class InstanceLock:
    def __init__(self, root: Path | None = None) -> None:
        self.path = (root or paths.data_root()) / LOCK_NAME
        self._fh = None

    def acquire(self) -> None:
        """Take the lock or raise :class:`AlreadyRunning`."""
        fh = open(self.path, "a+b")  # noqa: SIM115 - held for the process lifetime
        try:
            if os.name == "nt":
                import msvcrt

                fh.seek(0)
                msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            fh.close()
            raise AlreadyRunning(
                f"GenLab is already running with the data folder {self.path.parent}.",
                "Switch to the open window, or close it first.",
            ) from exc
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()).encode())
        fh.flush()
        self._fh = fh

    @property
    def held(self) -> bool:
        return self._fh is not None

    def release(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def __enter__(self) -> "InstanceLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
