"""Finding a collection's documents: every supported file under its folders.

Symbolic links are followed, to files and to folders, but a folder already
visited (by its device and inode) is not entered again, so a link loop or two
links to one folder cannot make the walk endless or index a file twice.
Hidden folders and the usual tool folders (``.git``, ``node_modules``,
``__pycache__``, virtual environments) are not entered; hidden files are
skipped.  Files of other types are counted by suffix, not listed one by one.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from desktop.core.knowledge.documents import is_supported, unsupported_reason
from desktop.core.knowledge.registry import Problem

SKIPPED_FOLDERS = frozenset({"node_modules", "__pycache__", "venv", "site-packages"})


@dataclass
class Scan:
    files: list[Path] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    unsupported: Counter = field(default_factory=Counter)  # suffix -> files passed over
    missing_folders: list[str] = field(default_factory=list)


def scan_folders(folders: list[str]) -> Scan:
    scan = Scan()
    seen_dirs: set[tuple[int, int]] = set()
    seen_files: set[tuple[int, int]] = set()
    for folder in folders:
        root = Path(folder)
        if not root.is_dir():
            scan.missing_folders.append(folder)
            continue
        _walk(root, scan, seen_dirs, seen_files)
    return scan


def _walk(root: Path, scan: Scan, seen_dirs: set, seen_files: set) -> None:
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            st = folder.stat()
        except OSError as exc:
            scan.problems.append(Problem(str(folder), f"The folder cannot be opened: {exc.strerror or exc}."))
            continue
        key = (st.st_dev, st.st_ino)
        if key in seen_dirs:
            if folder.is_symlink():
                scan.problems.append(Problem(str(folder), "A link to a folder already indexed (a link loop?): "
                                                          "passed over."))
            continue
        seen_dirs.add(key)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            scan.problems.append(Problem(str(folder), f"The folder cannot be listed: {exc.strerror or exc}."))
            continue
        subfolders = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = Path(entry.path)
            try:
                is_dir = entry.is_dir()  # follows links
                is_file = not is_dir and entry.is_file()
            except OSError:
                is_dir = is_file = False
            if is_dir:
                if entry.name not in SKIPPED_FOLDERS and not (path / "pyvenv.cfg").exists():
                    subfolders.append(path)
            elif is_file:
                if not is_supported(path):
                    scan.unsupported[path.suffix.lower()] += 1
                    if path.suffix.lower() in (".doc", ".odt"):  # documents a person expects read: say why not
                        scan.problems.append(Problem(str(path), unsupported_reason(path)))
                    continue
                try:
                    fst = path.stat()
                except OSError:
                    continue  # gone already
                fkey = (fst.st_dev, fst.st_ino)
                if fkey not in seen_files:
                    seen_files.add(fkey)
                    scan.files.append(path)
            elif entry.is_symlink():
                scan.problems.append(Problem(str(path), "A broken link (its target is missing or loops)."))
        stack.extend(reversed(subfolders))
