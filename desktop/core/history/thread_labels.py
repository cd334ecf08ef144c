"""Names and pins of chat threads, kept in ``chat_threads.json`` in the data root.

A thread's turns are its history records (``session_id`` is the thread id);
what the person calls a thread and whether it is pinned are not facts of any
generation, so they are not written into the records: a rename would rewrite
rows (and their search text) that are otherwise never changed.  The file is
small, written whole and atomically (temporary file + rename), and pruned of
threads the history no longer has, so a deleted thread leaves no name behind.
An export carries the records, so an imported thread comes back with its
title from its first message; names and pins stay on this machine.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from desktop.core import paths
from desktop.core.file_lock import replace_json

log = logging.getLogger(__name__)

FILE_NAME = "chat_threads.json"


@dataclass
class ThreadLabel:
    name: str = ""  # empty: the title comes from the first message
    pinned: bool = False


class ThreadLabels:
    """Read once, changed in memory, written after each change (on the calling thread; it is tiny)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or paths.data_root() / FILE_NAME
        self._labels: dict[str, ThreadLabel] = self._read()

    def _read(self) -> dict[str, ThreadLabel]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:  # a damaged file loses names, never the threads
            log.warning("could not read %s: %s", self.path, exc)
            return {}
        threads = data.get("threads") if isinstance(data, dict) else None
        out = {}
        for thread_id, entry in (threads or {}).items():
            if isinstance(entry, dict):
                name = entry.get("name")
                out[str(thread_id)] = ThreadLabel(name.strip() if isinstance(name, str) else "",
                                                  entry.get("pinned") is True)
        return out

    def get(self, thread_id: str) -> ThreadLabel:
        return self._labels.get(thread_id, ThreadLabel())

    def change(self, thread_id: str, *, name: str | None = None, pinned: bool | None = None) -> ThreadLabel:
        label = self.get(thread_id)
        label = ThreadLabel(label.name if name is None else name.strip(),
                            label.pinned if pinned is None else pinned)
        if label == ThreadLabel():
            self._labels.pop(thread_id, None)
        else:
            self._labels[thread_id] = label
        self._write()
        return label

    def forget(self, thread_ids) -> None:
        """Drop the labels of threads that are gone (deleted here or in the History)."""
        gone = [t for t in thread_ids if t in self._labels]
        for thread_id in gone:
            del self._labels[thread_id]
        if gone:
            self._write()

    def known(self) -> set[str]:
        return set(self._labels)

    def _write(self) -> None:
        data = {"version": 1, "threads": {k: {"name": v.name, "pinned": v.pinned} for k, v in self._labels.items()}}
        replace_json(self.path, data, indent=1)
