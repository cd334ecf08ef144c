"""Pieces the generation commands share: finding a model, saving durably."""

from __future__ import annotations

from pathlib import Path

from desktop.core.records import GenerationRecord


def resolve_model(ident: str, file_suffixes: tuple[str, ...]) -> Path:
    """A path as given, else a model of the library (id, sha256 prefix, name).

    Anything that looks like a path (a separator, or one of ``file_suffixes``)
    is returned as a path, so a missing file is reported with its own name.
    """
    path = Path(ident).expanduser()
    if path.exists() or any(sep in ident for sep in ("/", "\\")) or path.suffix.lower() in file_suffixes:
        return path
    from desktop.core.library import Library

    return Path(Library().get(ident).path)


class WaitingSink:
    """Saves to the history store and waits, so the record is on disk before exit."""

    def __init__(self, store) -> None:
        self.store = store

    def save(self, record: GenerationRecord) -> None:
        self.store.save_and_wait(record)
