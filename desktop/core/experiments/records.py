"""The history records of an experiment: how a cell is marked in one, and reading them back.

A cell's record is an ordinary :class:`~desktop.core.records.GenerationRecord`
with ``session_id`` = the experiment id (History shows the sweep as one
session, and its filters find it) and ``parameters["experiment"]`` =
:class:`CellTag` as a dict: experiment id and name, cell index, repeat and
the coordinates on every axis.  Search, export, re-run, rating and deletion
of history records all apply to them unchanged.
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import asdict, dataclass
from typing import Any, Callable

from desktop.core.history.sql import sql_str
from desktop.core.records import GenerationRecord

PARAMETER_KEY = "experiment"


@dataclass(frozen=True)
class CellTag:
    """Which experiment and cell a record belongs to."""

    id: str
    name: str
    cell: int
    repeat: int
    coords: dict[str, Any]

    @classmethod
    def of(cls, record: GenerationRecord) -> "CellTag | None":
        """The tag of ``record``, or None for a record of no experiment."""
        data = record.parameters.get(PARAMETER_KEY)
        if not isinstance(data, dict) or not isinstance(data.get("cell"), int):
            return None
        return cls(str(data.get("id", "")), str(data.get("name", "")), data["cell"], int(data.get("repeat", 0)),
                   dict(data.get("coords") or {}))


class CellSink:
    """The history sink a run hands to the engines: marks each record with the current cell and queues it.

    ``current`` is set by the runner before each cell.  ``save`` returns at
    once; ``on_saved(tag, future)`` is called with the store's future, which
    resolves when the record is on disk (or fails, e.g. a full disk).
    """

    def __init__(self, history, on_saved: Callable[[CellTag, Future], None]) -> None:
        self.history = history
        self.on_saved = on_saved
        self.current: CellTag | None = None
        self.produced = 0  # records saved since the runner last reset it

    def save(self, record: GenerationRecord) -> None:
        tag = self.current
        if tag is None:
            raise RuntimeError("a record was made outside a cell of the experiment")
        record.session_id = tag.id
        record.parameters[PARAMETER_KEY] = asdict(tag)
        self.produced += 1
        self.on_saved(tag, self.history.save(record))


def saved_cells(history, experiment_id: str) -> dict[int, str]:
    """Cell index -> record id of every cell of the experiment on disk in the history."""
    import json

    history.flush(timeout=60)
    table = history.scan(["id", "parameters_json"], f"session_id = {sql_str(experiment_id)}")
    found: dict[int, str] = {}
    for record_id, params in zip(table.column("id").to_pylist(), table.column("parameters_json").to_pylist()):
        try:
            tag = json.loads(params or "{}").get(PARAMETER_KEY)
        except ValueError:
            continue
        if isinstance(tag, dict) and tag.get("id") == experiment_id and isinstance(tag.get("cell"), int):
            found.setdefault(tag["cell"], record_id)
    return found


def experiment_records(history, experiment_id: str) -> list[GenerationRecord]:
    """The experiment's records, in cell order (then oldest first)."""
    history.flush(timeout=60)
    records = [r for r in history.iter_records(f"session_id = {sql_str(experiment_id)}")
               if (tag := CellTag.of(r)) is not None and tag.id == experiment_id]
    return sorted(records, key=lambda r: (CellTag.of(r).cell, r.created_at))  # type: ignore[union-attr]


def delete_experiment(experiments, history, experiment_id: str, *, with_records: bool) -> int:
    """Delete an experiment; with ``with_records`` its cells' records too, leaving no trace of either
    (the history's own deletion: rows, old versions, index entries, images).  Returns the records deleted."""
    experiment = experiments.get(experiment_id)
    deleted = history.delete(session=experiment.id) if with_records else 0
    experiments.delete(experiment.id)
    return deleted
