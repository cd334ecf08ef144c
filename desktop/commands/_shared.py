"""Pieces the commands share: finding a model, saving durably, a progress line."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from desktop.core.jobs import Progress
from desktop.core.records import GenerationRecord


def resolve_model(ident: str, file_suffixes: tuple[str, ...]) -> Path:
    """A path as given, else a model of the library (id, sha256 prefix, name): the core's one rule."""
    from desktop.core.models.library import resolve_model as resolve

    return resolve(ident, file_suffixes)


class WaitingSink:
    """Saves to the history store and waits, so the record is on disk before exit."""

    def __init__(self, store) -> None:
        self.store = store

    def save(self, record: GenerationRecord) -> None:
        self.store.save_and_wait(record)


class ProgressLine:
    """A progress callback printing one self-overwriting status line on stderr (plain lines when
    not a terminal, at most one every two seconds, always the last one of a phase)."""

    def __init__(self) -> None:
        self._last = 0.0
        self._tty = sys.stderr.isatty()

    def __call__(self, report: Progress) -> None:
        now = time.monotonic()
        if now - self._last < (0.2 if self._tty else 2.0) and (report.fraction or 0) < 1:
            return
        self._last = now
        text = report.message
        payload = report.payload
        if payload is not None and hasattr(payload, "speed") and payload.speed:
            from desktop.core.hardware import fmt_bytes

            eta = f", {payload.eta:.0f} s left" if payload.eta is not None else ""
            text += f" at {fmt_bytes(payload.speed)}/s{eta}"
        print(("\r" + text.ljust(100)) if self._tty else text, end="" if self._tty else "\n", file=sys.stderr)

    def done(self) -> None:
        if self._tty:
            print(file=sys.stderr)
