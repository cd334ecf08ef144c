"""What each chat thread answers from: its collections, chunks, threshold and nothing-found policy.

Kept in ``chat_grounding.json`` in the data root, beside the threads' names
and pins (``chat_threads.json``) and for the same reason: a choice made for a
thread is no fact of any one generation (the replies' records keep what they
actually used, under ``parameters["knowledge"]``).  Written whole and
atomically after each change; a thread with no collection chosen has no
entry; a deleted thread's entry is dropped.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

from desktop.core import paths
from desktop.core.file_lock import replace_json
from desktop.core.knowledge.grounding import (
    ANSWER,
    DEFAULT_K,
    DEFAULT_THRESHOLD,
    MAX_K,
    NO_CONTEXT_POLICIES,
    GroundingOptions,
)

log = logging.getLogger(__name__)

FILE_NAME = "chat_grounding.json"


@dataclass
class ThreadGrounding:
    """One thread's choice; no collections: the thread is not grounded."""

    collections: list[str] = field(default_factory=list)
    k: int = DEFAULT_K
    threshold: float = DEFAULT_THRESHOLD
    no_context: str = ANSWER

    @property
    def active(self) -> bool:
        return bool(self.collections)

    def options(self) -> GroundingOptions:
        return GroundingOptions(tuple(self.collections), self.k, self.threshold, self.no_context)

    @classmethod
    def from_json(cls, data: object) -> ThreadGrounding:
        """A choice read back; a damaged value falls back to the default, never raises."""
        if not isinstance(data, dict):
            return cls()
        found = cls()
        names = data.get("collections")
        if isinstance(names, list):
            found.collections = [n for n in names if isinstance(n, str) and n.strip()]
        k = data.get("k")
        if isinstance(k, int) and not isinstance(k, bool) and 1 <= k <= MAX_K:
            found.k = k
        threshold = data.get("threshold")
        if isinstance(threshold, (int, float)) and not isinstance(threshold, bool) and 0 <= threshold <= 1:
            found.threshold = float(threshold)
        if data.get("no_context") in NO_CONTEXT_POLICIES:
            found.no_context = str(data["no_context"])
        return found


class GroundingChoices:
    """Read once, changed in memory, written after each change (small; on the calling thread)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or paths.data_root() / FILE_NAME
        self._threads: dict[str, ThreadGrounding] = self._read()

    def _read(self) -> dict[str, ThreadGrounding]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:  # a damaged file loses the choices, never the threads
            log.warning("could not read %s: %s", self.path, exc)
            return {}
        threads = data.get("threads") if isinstance(data, dict) else None
        return {str(k): ThreadGrounding.from_json(v) for k, v in (threads or {}).items()}

    def get(self, thread_id: str) -> ThreadGrounding:
        found = self._threads.get(thread_id)
        return ThreadGrounding(**asdict(found)) if found is not None else ThreadGrounding()

    def set(self, thread_id: str, choice: ThreadGrounding) -> None:
        """Remember ``choice`` for the thread; raises OSError when it cannot be written."""
        if choice.active:
            self._threads[thread_id] = ThreadGrounding(**asdict(choice))
        elif self._threads.pop(thread_id, None) is None:
            return
        self._write()

    def forget(self, thread_ids) -> None:
        gone = [t for t in thread_ids if t in self._threads]
        for thread_id in gone:
            del self._threads[thread_id]
        if gone:
            self._write()

    def _write(self) -> None:
        data = {"version": 1, "threads": {k: asdict(v) for k, v in self._threads.items()}}
        replace_json(self.path, data, indent=1)
