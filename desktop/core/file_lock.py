"""GenLab's one implementation of file locks, held across threads and processes.

Every cross-process lock GenLab takes goes through this module:

- the read-modify-write lock of the small JSON files (``downloads.json``,
  ``library.json``, ``hash-cache.json``): :func:`lock_for`;
- one transfer per download destination (``<dest>.part.lock``), a model
  loaded somewhere (a shared hold) against a delete (an exclusive check),
  and one GenLab per data root (``genlab.lock``): :func:`try_lock`.

The OS lock itself comes from ``portalocker``: ``flock`` on POSIX,
``LockFileEx`` on Windows (shared locks there need ``pywin32``, which the
``portalocker[win32]`` dependency brings).  Both are advisory locks the
kernel drops when a process dies, so a killed GenLab never leaves a stale
lock.  (``filelock``, already installed with ``huggingface_hub``, locks a
descriptor exclusively only; its reader/writer lock is an SQLite database,
whose locks are per process, so a delete check could not see a model this
same process holds, and its file cannot be unlinked under a holder.)

A lock file that cannot be created or locked (a read-only data folder, a
file system without locks: NFS without a lock daemon answers ``ENOLCK``) is
``UNLOCKABLE``: no GenLab can hold a lock there either, and each caller
says what it does then (the JSON files go on with the in-process lock
alone, with a warning in the log).

A lock file may be removed by the holder that has no more use for it
(:meth:`PathLock.release` with ``remove=True``); a locker that opened the
old file just before it went notices (the path no longer names its file)
and locks the new one.

A read that changes nothing needs no lock on POSIX, where the rename
replaces a JSON file whole under a reader that has it open
(:func:`reading`); it takes the lock elsewhere.
"""

from __future__ import annotations

import contextlib
import enum
import json
import logging
import os
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ContextManager

import portalocker

log = logging.getLogger(__name__)

POLL = 0.05  # seconds between tries while another holder has the lock
SAME_FILE_TRIES = 5  # a holder kept removing the lock file between our open and our lock


class Outcome(enum.Enum):
    TAKEN = "taken"  # the lock is held
    BUSY = "busy"  # another descriptor kept it for the whole wait
    UNLOCKABLE = "unlockable"  # no lock can be had at this path (see the module docstring)
    CHANGING = "changing"  # the file kept being removed between our open and our lock


def lock_within(fd: int, *, exclusive: bool, wait: float | None) -> bool:
    """Lock ``fd``, retrying for up to ``wait`` seconds (None: until it is taken).

    True: taken.  False: another descriptor, in this process or another,
    still held a conflicting lock after ``wait``.  Any other failure
    (``ENOLCK``, ``EOPNOTSUPP``, a Windows without ``pywin32`` asked for a
    shared lock) is raised as :class:`OSError`, so the caller can carry on
    unlocked instead of taking it for "busy" forever.
    """
    flags = portalocker.LockFlags.EXCLUSIVE if exclusive else portalocker.LockFlags.SHARED
    deadline = None if wait is None else time.monotonic() + wait
    while True:
        if _lock_once(fd, flags | portalocker.LockFlags.NON_BLOCKING):
            return True
        if deadline is None:
            # No end to the wait: let the OS queue us (flock blocks until it is
            # free; Windows gives up after about ten seconds, and we ask again).
            if _lock_once(fd, flags):
                return True
        elif time.monotonic() >= deadline:
            return False
        else:
            time.sleep(POLL)


def _lock_once(fd: int, flags: portalocker.LockFlags) -> bool:
    try:
        portalocker.lock(fd, flags)
        return True
    except portalocker.AlreadyLocked:
        return False
    except portalocker.LockException as exc:
        raise _os_error(exc) from None
    except ImportError as exc:  # Windows without pywin32 asked for a shared lock
        raise OSError(str(exc)) from None


def unlock(fd: int) -> None:
    """Drop the lock ``fd`` holds; the descriptor stays open."""
    try:
        portalocker.unlock(fd)
    except portalocker.LockException as exc:
        raise _os_error(exc) from None


def _os_error(exc: portalocker.LockException) -> OSError:
    cause = exc.__cause__ if isinstance(exc.__cause__, OSError) else (exc.args[0] if exc.args else None)
    return cause if isinstance(cause, OSError) else OSError(str(exc))


class PathLock:
    """A lock held on the file at ``path`` through ``fd``, until :meth:`release`."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @property
    def held(self) -> bool:
        return self._fd is not None

    @property
    def fd(self) -> int | None:
        return self._fd

    def detach(self) -> int | None:
        """Hand the descriptor (still locked) to the caller, who releases it; this object holds nothing after."""
        fd, self._fd = self._fd, None
        return fd

    def still_at_path(self) -> bool:
        """Whether ``path`` still names the file this lock is on (nobody removed it meanwhile)."""
        return self._fd is not None and _same_file(self._fd, self.path)

    def release(self, *, remove: bool = False) -> None:
        """Drop the lock and close the file; ``remove``: delete the lock file too (it has no more use).

        POSIX removes it while still holding the lock, and only when the path
        still names it.  Windows cannot remove a file that is open, so it
        closes first and tries: the removal fails, and the file stays, while
        another process has it open (and may be about to lock it).
        """
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            if remove and os.name == "posix" and _same_file(fd, self.path):
                with contextlib.suppress(OSError):
                    os.unlink(self.path)
        finally:
            _release(fd)
        if remove and os.name != "posix":
            with contextlib.suppress(OSError):
                os.unlink(self.path)


@dataclass(frozen=True)
class Attempt:
    """What :func:`try_lock` got: ``lock`` is set when ``outcome`` is ``TAKEN``; ``why``: for ``UNLOCKABLE``."""

    outcome: Outcome
    lock: PathLock | None = None
    why: str = ""


def try_lock(path: Path, *, exclusive: bool, wait: float | None, create: bool = True) -> Attempt:
    """Lock the file now at ``path``, retrying ``wait`` seconds while another holder has it.

    ``create``: make the file (and its folder) when missing; without it a
    missing file is ``UNLOCKABLE`` (a probe that must leave nothing behind).
    """
    for _ in range(SAME_FILE_TRIES):
        try:
            if create:
                path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            else:
                fd = os.open(path, os.O_RDONLY)
        except OSError as exc:
            return Attempt(Outcome.UNLOCKABLE, why=exc.strerror or str(exc))
        try:
            taken = lock_within(fd, exclusive=exclusive, wait=wait)
        except OSError as exc:
            os.close(fd)
            return Attempt(Outcome.UNLOCKABLE, why=exc.strerror or str(exc))
        if not taken:
            os.close(fd)
            return Attempt(Outcome.BUSY)
        if _same_file(fd, path):
            return Attempt(Outcome.TAKEN, PathLock(path, fd))
        _release(fd)  # locked a file no longer at the path: take the new one
    return Attempt(Outcome.CHANGING)


def _same_file(fd: int, path: Path) -> bool:
    try:
        mine, now = os.fstat(fd), os.stat(path)
    except OSError:
        return False
    return (mine.st_dev, mine.st_ino) == (now.st_dev, now.st_ino)


def _release(fd: int) -> None:
    """Unlock, then close (closing alone frees a ``flock``; Windows may keep a byte lock a while)."""
    try:
        with contextlib.suppress(OSError):
            unlock(fd)
    finally:
        os.close(fd)


# --- the JSON files' read-modify-write lock ---------------------------------

class FileLock:
    """A reentrant lock on one file, held across threads and processes while entered.

    The lock is on a sidecar ``<file>.lock`` (the JSON file itself is
    replaced by every write, so it cannot carry a lock).  It is reentrant
    within a thread (a method holding it may call another that takes it),
    and there is one object per file in a process (:func:`lock_for`): two
    locks on separate descriptors of one file exclude each other even inside
    one process, so separate objects would deadlock a nested use.
    """

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

    def __exit__(self, *exc: object) -> None:
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


def _acquire(path: Path) -> int | None:
    """Lock the sidecar, waiting for another holder; None: the in-process lock must do."""
    attempt = try_lock(path, exclusive=True, wait=None)
    if attempt.lock is None:
        _warn_unlocked(path, attempt.why)
        return None
    return attempt.lock.detach()  # the FileLock owns the descriptor from here


def reading(target: Path) -> ContextManager[object]:
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


def _warn_unlocked(path: Path, why: str) -> None:
    if str(path) not in _warned:
        _warned.add(str(path))
        log.warning("cannot lock %s (%s); another GenLab process updating the same file at the same "
                    "time could undo this one's change", path, why)


def _forget_locks_in_child() -> None:
    """A forked child holds none of the parent's locks: its holders are threads that are not there.

    The child's copies of held descriptors are closed (not unlocked: that
    would drop the parent's ``flock``, which belongs to the shared open file).
    """
    global _registry_lock
    _registry_lock = threading.Lock()
    for lock in _locks.values():
        fd, lock._fd = lock._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)
    _locks.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_locks_in_child)
