"""Disk used by the history's database, its images and the models."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop.core import paths


@dataclass(frozen=True)
class DiskUse:
    """Bytes per part; models are split into those GenLab placed and those it only links to."""

    history: int
    images: int
    models_owned: int
    models_linked: int

    def parts(self) -> list[tuple[str, int]]:
        return [("History database", self.history), ("Images", self.images),
                ("Models (in GenLab's folder)", self.models_owned), ("Models (linked)", self.models_linked)]


def tree_bytes(folder: Path) -> int:
    """Bytes of the regular files under ``folder`` (0 when it does not exist); links are not followed."""
    total = 0
    stack = [folder]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:  # missing, or not readable: it holds nothing we can count
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
                elif entry.is_file(follow_symlinks=False):
                    total += entry.stat(follow_symlinks=False).st_size
            except OSError:
                continue
    return total


def disk_usage(history_root: Path, library: Any = None) -> DiskUse:
    """The history folder's database and images (generated ones in the outputs folder, imported ones
    beside the database), and the library's models by their recorded sizes (no walk of model folders)."""
    root = Path(history_root)
    owned = linked = 0
    for model in library.models() if library is not None else ():
        if model.owned:
            owned += model.size
        else:
            linked += model.size
    return DiskUse(history=tree_bytes(root / "lancedb"),
                   images=tree_bytes(paths.outputs_dir()) + tree_bytes(root / "images"),
                   models_owned=owned, models_linked=linked)
