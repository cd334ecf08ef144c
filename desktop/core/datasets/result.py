"""What an export reports, and the pieces both exports share."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

from desktop.core.datasets.dedupe import DedupeCounts

BATCH = 500  # records read (and rows written) at a time; also how often progress and cancel are checked


@dataclass
class DatasetResult:
    path: Path
    rows: int  # rows written
    matched: int  # records (or votes) the selection matched, before the duplicate checks
    dropped: DedupeCounts
    incomplete: int = 0  # SFT: rows whose earlier turns are partly missing from the history
    missing: int = 0  # preference: votes left out because an answer is no longer in the history
    left_out: int = 0  # preference: ties and "both bad" votes, which say nothing about which is better
    near_threshold: float | None = None  # the cosine near duplicates were checked at; None: not checked

    def summary(self) -> str:
        parts = [f"wrote {self.rows} rows to {self.path} ({self.matched} matched"]
        parts.append(f"{self.dropped.exact} exact duplicates dropped")
        if self.near_threshold is not None:
            parts.append(f"{self.dropped.near} near duplicates at cosine >= {self.near_threshold:g} dropped")
        return ", ".join(parts) + ")"

    def notes(self) -> list[str]:
        """What a person should know about the rows, one sentence each."""
        notes = []
        if self.dropped.unembedded:
            notes.append(f"{self.dropped.unembedded} rows have no embedding and were not checked for near "
                         "duplicates; run `genlab history embed` first to check them.")
        if self.incomplete:
            notes.append(f"{self.incomplete} rows start mid-conversation: an earlier turn was deleted "
                         "from the history.")
        if self.left_out:
            notes.append(f"{self.left_out} ties and 'both bad' votes were left out.")
        if self.missing:
            notes.append(f"{self.missing} votes were left out: an answer is no longer in the history.")
        return notes


def chunks(items: Sequence[Any], size: int = BATCH) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def describe(filters: dict[str, Any]) -> str:
    """The filters as a person gave them, for a message: ``model=tiny, tag=poems``."""
    shown = []
    for key, value in filters.items():
        if value is None or value == "":
            continue
        if key == "sessions":
            value = f"{len(value)} sessions" if not isinstance(value, str) else value
        shown.append(f"{key}={value}")
    return ", ".join(shown)
