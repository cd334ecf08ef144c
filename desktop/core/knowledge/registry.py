"""The collections registry: each collection's name, folders and last indexing report.

``<data root>/knowledge/collections.json`` holds every collection; it is
rewritten whole (a temporary file renamed over it) under the file's lock, so
the GUI and a ``genlab knowledge`` command can both change it.  The name
``history`` is reserved: it is the generation history itself, searched
through the history store, and always listed.

Each collection's chunks live in their own LanceDB table (``table``), so
deleting a collection drops one folder.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from desktop.core import file_lock
from desktop.core.knowledge.errors import CollectionNotFound, KnowledgeError

HISTORY = "history"
REGISTRY_VERSION = 1
MAX_NAME_CHARS = 64


@dataclass(frozen=True)
class Problem:
    """A file passed over by the indexer, and why."""

    path: str
    reason: str


@dataclass
class IndexState:
    """What the last indexing run of a collection found."""

    indexed_at: str = ""
    files: int = 0
    chunks: int = 0
    complete: bool = False  # False: never indexed, or stopped before the end (the next run resumes)
    missing_folders: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


@dataclass
class Collection:
    name: str
    folders: list[str]
    table: str
    created_at: str
    state: IndexState = field(default_factory=IndexState)

    @property
    def is_history(self) -> bool:
        return self.name == HISTORY


def history_collection() -> Collection:
    return Collection(HISTORY, [], "", "", IndexState(complete=True))


def table_name(name: str) -> str:
    """A table name safe on every file system, unique per collection name (any case, any script)."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:32] or "collection"
    return f"c-{slug}-{hashlib.sha256(name.encode()).hexdigest()[:10]}"


def check_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise KnowledgeError("A collection needs a name.", "For example: genlab knowledge add notes ~/Notes")
    if len(name) > MAX_NAME_CHARS:
        raise KnowledgeError(f"A collection name has at most {MAX_NAME_CHARS} characters; {name[:20]!r}... "
                             f"has {len(name)}.")
    if name.lower() == HISTORY:
        raise KnowledgeError(f"{name!r} is the generation history's own collection.", "Choose another name.")
    if any(ord(c) < 32 for c in name):
        raise KnowledgeError("A collection name cannot hold control characters.")
    return name


class Registry:
    """Reads and changes ``collections.json`` (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self.path = root / "collections.json"

    def _read(self) -> dict[str, Collection]:
        with file_lock.reading(self.path):
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                return {}
            except (OSError, ValueError) as exc:
                raise KnowledgeError(f"The collections list {self.path} cannot be read: {exc}.",
                                     "Move it away; the collections' folders are untouched.") from exc
        if not isinstance(data, dict) or int(data.get("version", 0)) > REGISTRY_VERSION:
            raise KnowledgeError(f"The collections list {self.path} was written by a newer GenLab.",
                                 "Update GenLab.")
        found = {}
        for item in data.get("collections", []):
            state = dict(item.get("state", {}))
            state["problems"] = [Problem(**p) for p in state.get("problems", [])]
            found[item["name"]] = Collection(item["name"], list(item["folders"]), item["table"],
                                             item.get("created_at", ""), IndexState(**state))
        return found

    def _write(self, collections: dict[str, Collection]) -> None:
        data = {"version": REGISTRY_VERSION, "collections": [asdict(c) for c in collections.values()]}
        try:
            file_lock.replace_json(self.path, data, indent=1)
        except OSError as exc:
            raise KnowledgeError(f"The collections list {self.path} cannot be written: {exc.strerror or exc}.",
                                 "Free some disk space or choose a data folder you can write to.") from exc

    def all(self) -> list[Collection]:
        return [history_collection(), *sorted(self._read().values(), key=lambda c: c.name.lower())]

    def get(self, name: str) -> Collection:
        if name.strip().lower() == HISTORY:
            return history_collection()
        found = self._read().get(name.strip())
        if found is None:
            known = ", ".join(c.name for c in self.all())
            raise CollectionNotFound(f"There is no collection named {name!r}.", f"Known collections: {known}.")
        return found

    def add(self, name: str, folders: list[Path]) -> Collection:
        name = check_name(name)
        with file_lock.lock_for(self.path):
            collections = self._read()
            if name in collections:
                raise KnowledgeError(f"A collection named {name!r} exists already.",
                                     f"Reindex it with: genlab knowledge reindex {name}")
            collection = Collection(name, [str(f) for f in folders], table_name(name),
                                    datetime.now(timezone.utc).isoformat(timespec="seconds"))
            collections[name] = collection
            self._write(collections)
        return collection

    def save_state(self, name: str, state: IndexState) -> None:
        with file_lock.lock_for(self.path):
            collections = self._read()
            if name in collections:  # deleted meanwhile: nothing to report to
                collections[name].state = state
                self._write(collections)

    def remove(self, name: str) -> Collection:
        with file_lock.lock_for(self.path):
            collections = self._read()
            collection = collections.pop(name, None)
            if collection is None:
                self.get(name)  # raises, naming the known ones
                raise CollectionNotFound(f"There is no collection named {name!r}.")
            self._write(collections)
        return collection
