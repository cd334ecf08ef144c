"""The record of one generation, and the interface that stores it.

Text and image engines build a :class:`GenerationRecord` for every finished
(or stopped-and-kept) result and hand it to a :class:`HistorySink`.  The
history store (``desktop.core.history``) is the real sink; ``NullSink`` is the
incognito one.  Everything needed to reproduce the result lives in the
record: model identity, every parameter, the seed, device and versions.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol

# Where a record came from: made here, imported from a file, or served to another app over the API.
ORIGINS = ("generated", "imported", "api")


def new_id() -> str:
    return uuid.uuid4().hex


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class ModelIdentity:
    """Who made a result: enough to find the same model again by sha256."""

    name: str = ""
    file: str = ""  # file name (text) or folder / checkpoint name (image)
    sha256: str = ""
    size: int = 0
    quantization: str = ""
    files: list[str] = field(default_factory=list)


@dataclass
class GenerationRecord:
    kind: str  # "text" | "image"
    prompt: str
    id: str = field(default_factory=new_id)
    created_at: datetime = field(default_factory=utc_now)
    session_id: str = ""  # chat thread id, or image batch/session id
    parent_id: str = ""  # previous turn (text) for chains and branches
    negative_prompt: str = ""
    system_prompt: str = ""
    output_text: str = ""
    image_path: str = ""
    image_sha256: str = ""
    thumbnail_path: str = ""
    model: ModelIdentity = field(default_factory=ModelIdentity)
    parameters: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None
    timings: dict[str, float] = field(default_factory=dict)
    device: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    rating: int = 0
    tags: list[str] = field(default_factory=list)
    note: str = ""
    origin: str = "generated"  # one of ORIGINS

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat()
        return data


class HistorySink(Protocol):
    """Anything that accepts finished generations."""

    def save(self, record: GenerationRecord) -> None: ...


class NullSink:
    """Records nothing (incognito mode, ``--no-history``)."""

    def save(self, record: GenerationRecord) -> None:
        pass


class ListSink:
    """Keeps records in memory; used until the history store is open and by scripts."""

    def __init__(self) -> None:
        self.records: list[GenerationRecord] = []

    def save(self, record: GenerationRecord) -> None:
        self.records.append(record)
