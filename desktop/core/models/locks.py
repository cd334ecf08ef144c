"""Which models a running GenLab has loaded, across processes.

An engine that loads a model holds a shared advisory lock (``flock``
``LOCK_SH``) on a small lock file, ``<data root>/locks/model-<hash>.lock``,
keyed by a hash of the model's resolved absolute path, until it unloads
(:func:`hold_model`).  The model file itself is never locked.  Deleting a
model (:func:`deletion_guard`) first takes an exclusive lock on the same
file without waiting: if that fails, some GenLab process (another window,
a CLI run, or this process) has the model loaded, and the delete is refused.
The kernel drops the locks of a process that dies, so a crashed GenLab never
blocks a delete.

The deleter keeps its exclusive lock while it removes the files, then
unlinks the lock file; a loader that took its shared lock on a lock file
that was unlinked meanwhile notices (the path no longer names its inode)
and takes it again on the new file.

Windows has no ``flock``: holds are no-ops there and only the in-process
check (``Services.model_in_use``, the GUI's own engines) guards a delete, so
a CLI delete cannot see a model another GenLab process has loaded.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from pathlib import Path
from typing import Iterator

from desktop.core import paths
from desktop.core.errors import ModelFileError
from desktop.core.file_lock import flock_within

log = logging.getLogger(__name__)

SUPPORTED = os.name == "posix"


def lock_path(model_path: Path) -> Path:
    """The lock file that stands for the model at ``model_path``."""
    key = hashlib.sha256(os.path.realpath(model_path).encode("utf-8", "surrogateescape")).hexdigest()[:32]
    return paths.data_root() / "locks" / f"model-{key}.lock"


class ModelHold:
    """A shared lock on a model's lock file, held while an engine has the model loaded."""

    def __init__(self, model_path: Path, fd: int | None) -> None:
        self.model_path = Path(model_path)
        self._fd = fd

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the only descriptor drops the lock


def hold_model(model_path: Path, *, wait: float = 5.0) -> ModelHold:
    """Take a shared lock for ``model_path`` (an engine is about to load it).

    Raises :class:`ModelFileError` when another GenLab is still deleting the
    model after ``wait`` seconds (a delete check only takes an instant).
    Best effort otherwise: a lock folder that cannot be written returns a
    hold that holds nothing (the model still loads).
    """
    if not SUPPORTED:
        return ModelHold(model_path, None)
    target = lock_path(model_path)
    fd, state, why = _lock_current(target, exclusive=False, wait=wait)
    if state == BUSY:
        os.close(fd)
        raise ModelFileError(f"{Path(model_path).name} is being deleted by another GenLab right now.",
                             "Choose another model.")
    if state == UNLOCKABLE:
        log.warning("cannot lock the model lock %s (%s); deleting this model from another GenLab will not see "
                    "that it is loaded here", target, why)
        return ModelHold(model_path, None)
    if state == CHANGING:
        log.warning("model lock %s kept changing; loading %s without it", target, model_path)
        return ModelHold(model_path, None)
    return ModelHold(model_path, fd)


TAKEN, BUSY, UNLOCKABLE, CHANGING = "taken", "busy", "unlockable", "changing"


def _lock_current(target: Path, *, exclusive: bool, wait: float) -> tuple[int | None, str, str]:
    """Lock the lock file now at ``target`` (made if missing), retrying ``wait`` seconds while it is held.

    Returns ``(fd, state, why)``.  ``TAKEN``: ``fd`` holds the lock.
    ``BUSY``: another descriptor kept it (the caller closes ``fd``).
    ``UNLOCKABLE``: no lock can be had here (the folder cannot be written,
    a file system without locks: ``why``), so no GenLab can hold one
    either.  ``CHANGING``: a deleter kept unlinking the file between our
    open and our lock.
    """
    for _ in range(5):
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(target, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            return None, UNLOCKABLE, exc.strerror or str(exc)
        try:
            taken = flock_within(fd, exclusive=exclusive, wait=wait)
        except OSError as exc:
            os.close(fd)
            return None, UNLOCKABLE, exc.strerror or str(exc)
        if not taken:
            return fd, BUSY, ""
        if _same_file(fd, target):
            return fd, TAKEN, ""
        os.close(fd)  # locked a file no longer at the path: take the new one
    return None, CHANGING, ""


def _same_file(fd: int, target: Path) -> bool:
    try:
        mine, now = os.fstat(fd), os.stat(target)
    except OSError:
        return False
    return (mine.st_dev, mine.st_ino) == (now.st_dev, now.st_ino)


def loaded_anywhere(model_path: Path) -> bool:
    """Whether some GenLab process holds ``model_path`` loaded (always False where unsupported)."""
    with deletion_guard(model_path) as free:
        return not free


@contextlib.contextmanager
def deletion_guard(model_path: Path, *, patience: float = 0.3) -> Iterator[bool]:
    """Yield True, holding an exclusive lock, when no GenLab has ``model_path`` loaded; else yield False.

    Delete the model's files inside the block while it yields True; the lock
    file is removed after it.  ``patience``: how long to retry first, so
    that another process's check (which holds the lock for an instant) is
    not taken for a loaded model.
    """
    if not SUPPORTED:
        yield True
        return
    target = lock_path(model_path)
    # Made if missing, so a loader that starts meanwhile waits for the delete to end.
    fd, state, _why = _lock_current(target, exclusive=True, wait=patience)
    if state == UNLOCKABLE:  # no engine could have taken a lock either
        yield True
        return
    if state == CHANGING:
        log.warning("model lock %s kept changing; taking %s for loaded", target, model_path)
        yield False
        return
    free = state == TAKEN
    try:
        yield free
        if free and _same_file(fd, target):  # nobody holds it: the lock file goes (the next load makes it again)
            with contextlib.suppress(OSError):
                os.unlink(target)
    finally:
        os.close(fd)
