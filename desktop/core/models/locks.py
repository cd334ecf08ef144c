"""Which models a running GenLab has loaded, across processes.

An engine that loads a model holds a shared lock on a small lock file,
``<data root>/locks/model-<hash>.lock``, keyed by a hash of the model's
resolved absolute path, until it unloads (:func:`hold_model`).  The model
file itself is never locked.  Deleting a model (:func:`deletion_guard`)
first takes an exclusive lock on the same file without waiting: if that
fails, some GenLab process (another window, a CLI run, or this process) has
the model loaded, and the delete is refused.  The OS drops the locks of a
process that dies, so a crashed GenLab never blocks a delete.

The deleter keeps its exclusive lock while it removes the files, then
removes the lock file; a loader that locked a lock file removed meanwhile
takes it again on the new file (:func:`desktop.core.file_lock.try_lock`).
The locks work on every platform (:mod:`desktop.core.file_lock`); where
none can be had (a file system without locks) a load goes ahead unheld and
only the in-process check (``Services.model_in_use``) guards a delete.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from pathlib import Path
from typing import Iterator

from desktop.core import file_lock, paths
from desktop.core.errors import ModelFileError
from desktop.core.file_lock import Outcome, PathLock

log = logging.getLogger(__name__)


def lock_path(model_path: Path) -> Path:
    """The lock file that stands for the model at ``model_path``."""
    key = hashlib.sha256(os.path.realpath(model_path).encode("utf-8", "surrogateescape")).hexdigest()[:32]
    return paths.data_root() / "locks" / f"model-{key}.lock"


class ModelHold:
    """A shared lock on a model's lock file, held while an engine has the model loaded."""

    def __init__(self, model_path: Path, lock: PathLock | None) -> None:
        self.model_path = Path(model_path)
        self._lock = lock

    @property
    def held(self) -> bool:
        return self._lock is not None and self._lock.held

    def release(self) -> None:
        lock, self._lock = self._lock, None
        if lock is not None:
            lock.release()


def hold_model(model_path: Path, *, wait: float = 5.0) -> ModelHold:
    """Take a shared lock for ``model_path`` (an engine is about to load it).

    Raises :class:`ModelFileError` when another GenLab is still deleting the
    model after ``wait`` seconds (a delete check only takes an instant).
    Best effort otherwise: a lock folder that cannot be written returns a
    hold that holds nothing (the model still loads).
    """
    target = lock_path(model_path)
    attempt = file_lock.try_lock(target, exclusive=False, wait=wait)
    if attempt.outcome is Outcome.BUSY:
        raise ModelFileError(f"{Path(model_path).name} is being deleted by another GenLab right now.",
                             "Choose another model.")
    if attempt.outcome is Outcome.UNLOCKABLE:
        log.warning("cannot lock the model lock %s (%s); deleting this model from another GenLab will not see "
                    "that it is loaded here", target, attempt.why)
    elif attempt.outcome is Outcome.CHANGING:
        log.warning("model lock %s kept changing; loading %s without it", target, model_path)
    return ModelHold(model_path, attempt.lock)


def loaded_anywhere(model_path: Path) -> bool:
    """Whether some GenLab process holds ``model_path`` loaded (False where no lock can be had)."""
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
    target = lock_path(model_path)
    # Made if missing, so a loader that starts meanwhile waits for the delete to end.
    attempt = file_lock.try_lock(target, exclusive=True, wait=patience)
    if attempt.outcome is Outcome.UNLOCKABLE:  # no engine could have taken a lock either
        yield True
        return
    if attempt.outcome is Outcome.CHANGING:
        log.warning("model lock %s kept changing; taking %s for loaded", target, model_path)
    if attempt.lock is None:
        yield False
        return
    try:
        yield True
        attempt.lock.release(remove=True)  # nobody holds it: the lock file goes (the next load makes it again)
    finally:
        attempt.lock.release()
