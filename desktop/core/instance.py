"""One GenLab process per data root.

The GUI holds an exclusive lock on ``<data root>/genlab.lock`` for its whole
life, so two processes can never write one history.  The lock is an OS file
lock (:mod:`desktop.core.file_lock`: released if the process dies), not a
PID file.  A data folder that cannot be locked at all (a network file
system without locks) is refused with its own message: GenLab could not
tell a second window on it, so it does not start on it.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from desktop.core import file_lock, paths
from desktop.core.errors import AlreadyRunning, DataRootError
from desktop.core.file_lock import Outcome, PathLock

LOCK_NAME = "genlab.lock"


def instance_key(root: Path | None = None) -> str:
    """A short name that identifies the data root (used for the local socket)."""
    root = (root or paths.data_root()).resolve()
    return "genlab-" + hashlib.sha1(str(root).encode()).hexdigest()[:12]


class InstanceLock:
    def __init__(self, root: Path | None = None) -> None:
        self.path = (root or paths.data_root()) / LOCK_NAME
        self._lock: PathLock | None = None

    def acquire(self) -> None:
        """Take the lock, or raise :class:`AlreadyRunning` (another GenLab holds it) or
        :class:`DataRootError` (the data folder cannot be locked)."""
        folder = self.path.parent
        attempt = file_lock.try_lock(self.path, exclusive=True, wait=0)
        if attempt.outcome is Outcome.BUSY:
            raise AlreadyRunning(f"GenLab is already running with the data folder {folder}.",
                                 "Switch to the open window, or close it first.")
        if attempt.lock is None:
            raise DataRootError(
                f"The data folder {folder} cannot be locked ({attempt.why or 'it kept changing'}), so GenLab "
                "cannot make sure no other GenLab uses it at the same time.",
                "Choose a data folder on a local disk (set GENLAB_HOME, or pick another folder when asked), "
                "or enable file locking on that file system (for NFS, run its lock service).")
        fd = attempt.lock.fd
        assert fd is not None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._lock = attempt.lock

    @property
    def held(self) -> bool:
        return self._lock is not None

    def release(self) -> None:
        lock, self._lock = self._lock, None
        if lock is not None:
            lock.release()

    def __enter__(self) -> "InstanceLock":
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
