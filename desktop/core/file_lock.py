"""Cross-process locks for the small JSON files GenLab reads, changes and writes back.

``downloads.json``, ``library.json`` and ``hash-cache.json`` are each read
whole, changed and written back whole (:func:`replace_json`: to a temporary
file renamed over the old one, so a reader never sees half a file).  The GUI
and a ``genlab`` command may run at the same time: without a lock, two
updates that overlap both start from the same old content and the later
write drops the earlier change.  :func:`lock_for` gives the one lock per file
that serialises those updates across threads *and* processes:

- POSIX: ``flock`` on a sidecar ``<file>.lock`` (the JSON file itself is
  replaced by every write, so it cannot carry a lock).  The kernel drops it
  when a process dies, so a killed GenLab never leaves a stale lock.
- Windows: ``msvcrt.locking`` on the sidecar's first byte.
- Neither, or a sidecar that cannot be created or locked (a read-only data
  folder, a file system without locks): the in-process lock alone, with a
  warning in the log.

A read that changes nothing needs no lock on POSIX, where the rename
replaces the file whole under a reader that has it open (:func:`reading`);
it takes the lock elsewhere.

The lock is reentrant within a thread (a method holding it may call another
that takes it), and there is one object per file in a process: two
``flock`` s on separate descriptors of one file exclude each other even
inside one process, so separate objects would deadlock a nested use.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, ContextManager

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]
try:
    import msvcrt
except ImportError:  # POSIX
    msvcrt = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

WINDOWS_LOCK_TRIES = 6  # each msvcrt.LK_LOCK call waits about 10 s before giving up


class FileLock:
    """A reentrant lock on one file, held across threads and processes while entered."""

    def __init__(self, target: Path) -> None:
        self.path = target.with_name(target.name + ".lock")
        self._thread_lock = threading.RLock()
        self._depth = 0
        self._fd: int | None = None

    def __enter__(self) -> "FileLock":
        self._thread_lock.acquire()
        if self._depth == 0:
            try:
                self._fd = _acquire(self.path)
            except BaseException:
                self._thread_lock.release()
                raise
        self._depth += 1
        return self

    def __exit__(self, *exc) -> None:
        try:
            self._depth -= 1
            if self._depth == 0 and self._fd is not None:
                fd, self._fd = self._fd, None
                _release(fd)
        finally:  # a failed release must not keep every other thread of the process out
            self._thread_lock.release()


_locks: dict[str, FileLock] = {}
_registry_lock = threading.Lock()
_warned: set[str] = set()


def lock_for(target: Path) -> FileLock:
    """The process's one lock for ``target``; hold it around each read-modify-write of the file."""
    key = os.path.abspath(target)
    with _registry_lock:
        lock = _locks.get(key)
        if lock is None:
            lock = _locks[key] = FileLock(Path(key))
        return lock


def flock_within(fd: int, *, exclusive: bool, wait: float) -> bool:
    """``flock`` ``fd`` without blocking, retrying for up to ``wait`` seconds (POSIX only).

    True: taken.  False: another descriptor still held it after ``wait``.
    Any other failure (a file system without locks: ``ENOLCK``,
    ``EOPNOTSUPP``) is raised as :class:`OSError`, so the caller can carry
    on unlocked instead of taking it for "busy" forever.
    """
    operation = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, operation)
            return True
        except BlockingIOError:  # EWOULDBLOCK: held by someone else
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)


def reading(target: Path) -> ContextManager:
    """What to hold while only reading ``target``: nothing on POSIX, the file's lock elsewhere.

    Writers rename a whole new file over the old one, which POSIX allows
    while a reader has the old one open, so a read sees one or the other,
    never half of either.  Windows refuses that rename while the file is
    open, so a reader there holds the lock to keep out of a writer's way.
    """
    return contextlib.nullcontext() if os.name == "posix" else lock_for(target)


def replace_json(target: Path, data: Any, *, indent: int | None = None) -> None:
    """Write ``data`` to a temporary file beside ``target``, then rename it over ``target``.

    A write that fails (a full disk) removes its temporary file, so failures
    do not pile up files, and leaves ``target`` as it was.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}-", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=indent)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _acquire(path: Path) -> int | None:
    """Open the sidecar and lock it, waiting for another holder; None: the in-process lock must do."""
    if fcntl is None and msvcrt is None:
        return None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        _warn_unlocked(path, exc)
        return None
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        else:
            _lock_windows(fd)
    except OSError as exc:
        os.close(fd)
        _warn_unlocked(path, exc)
        return None
    return fd


def _lock_windows(fd: int) -> None:
    for attempt in range(WINDOWS_LOCK_TRIES):
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
            return
        except OSError:
            if attempt == WINDOWS_LOCK_TRIES - 1:
                raise


def _release(fd: int) -> None:
    """Closing the descriptor drops a ``flock``; a Windows byte lock is undone first."""
    try:
        if fcntl is None and msvcrt is not None:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
    except OSError:
        pass
    finally:
        os.close(fd)


def _warn_unlocked(path: Path, exc: OSError) -> None:
    if str(path) not in _warned:
        _warned.add(str(path))
        log.warning("cannot lock %s (%s); another GenLab process updating the same file at the same "
                    "time could undo this one's change", path, exc.strerror or exc)


def _forget_locks_in_child() -> None:
    """A forked child holds none of the parent's locks: its holders are threads that are not there.

    The child's copies of held descriptors are closed; that leaves the
    parent's ``flock`` in place (it belongs to the parent's descriptor too).
    """
    global _registry_lock
    _registry_lock = threading.Lock()
    for lock in _locks.values():
        fd, lock._fd = lock._fd, None
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass
    _locks.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_locks_in_child)
