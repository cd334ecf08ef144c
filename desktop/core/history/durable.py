"""Making LanceDB's commits survive a power cut.

LanceDB writes a commit as new files (data, deletion, transaction, index
files, then the manifest) and never calls ``fsync``: after a kill -9 the
operating system still writes them out, but after a power cut or an OS crash
a commit already reported saved could vanish.  :func:`synced_to_disk` wraps
one writer-thread operation: every file the operation created under the
table folder is flushed to the disk, data before manifests, then the folders
that gained entries (POSIX), before the operation counts as done.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)

MANIFEST_DIR = "_versions"


def _listing(root: Path) -> set[str]:
    found: set[str] = set()
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except FileNotFoundError:
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                stack.append(Path(entry.path))
            else:
                found.add(entry.path)
    return found


def fsync_path(path: str | Path, directory: bool = False) -> None:
    """Flush one file (or, on POSIX, one folder's entries) to the disk."""
    if directory and os.name != "posix":
        return  # Windows cannot open folders for fsync; NTFS journals their entries
    flags = os.O_RDONLY if directory or os.name == "posix" else os.O_RDWR
    fd = os.open(path, flags | getattr(os, "O_BINARY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def synced_to_disk(table_dir: Path) -> Iterator[None]:
    """Flush every file created under ``table_dir`` inside the block (see the module docstring)."""
    before = _listing(table_dir)
    yield
    created = _listing(table_dir) - before
    if not created:
        return
    # data first, manifests last: a manifest on disk must never point at data that is not
    ordered = sorted(created, key=lambda p: (Path(p).parent.name == MANIFEST_DIR, p))
    folders = set()
    for path in created:  # every folder between a new file and the table folder may have a new entry
        folder = Path(path).parent
        while folder != table_dir.parent and str(folder) not in folders:
            folders.add(str(folder))
            folder = folder.parent
    for path in ordered:
        try:
            fsync_path(path)
        except FileNotFoundError:  # a temporary file the operation already removed
            continue
        except OSError as exc:  # the commit itself succeeded: never fail (and so retry, duplicating) it here
            log.warning("history: could not flush %s to the disk: %s", path, exc)
    for name in sorted(folders, key=len, reverse=True):
        try:
            fsync_path(name, directory=True)
        except FileNotFoundError:
            continue
        except OSError as exc:  # some file systems refuse folder fsync; the files are flushed
            log.debug("history: could not fsync folder %s: %s", name, exc)
