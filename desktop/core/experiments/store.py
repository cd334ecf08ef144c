"""Experiments in LanceDB, beside the history's table.

One row per experiment in the table ``experiments_v1`` of the history's
database folder: id, name, description, kind, the spec (JSON), status,
created/finished times, the cell count, the failed cells with their errors
(JSON), and ``history_schema``, the history schema version its records were
written with.  The table name carries this table's own schema version; a
later layout gets a new name and a migration, like the history's
(:mod:`desktop.core.history.migrations`).  The cells themselves are history
records (see :mod:`desktop.core.experiments`).

Writes take a lock, so threads of one process never write at once; a run is
the only writer of its experiment's row.  A run holds an OS file lock
(``experiments/<id>.run.lock``) for as long as it runs, so a second run of
the same experiment, in this process or another, is refused, and a row still
saying "running" after its process was killed reads as ``interrupted`` (the
kernel dropped the dead process's lock): resumable, never "running" forever.

A deleted experiment leaves no old version behind (the table is compacted and
old versions dropped), nor the run lock a killed run left.
"""

from __future__ import annotations

import json
import os
import threading
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from desktop.core import file_lock
from desktop.core.experiments.errors import ExperimentBusy, ExperimentNotFound
from desktop.core.experiments.spec import ExperimentSpec, parse_spec
from desktop.core.history.schema import SCHEMA_VERSION as HISTORY_SCHEMA_VERSION
from desktop.core.history.sql import sql_str
from desktop.core.history.tables import open_or_create
from desktop.core.records import new_id, utc_now

TABLE_NAME = "experiments_v1"
RUNNING, STOPPED, FINISHED = "running", "stopped", "finished"
INTERRUPTED = "interrupted"  # read, never written: "running" in the table, but no process holds its run lock
STATUSES = (RUNNING, STOPPED, FINISHED, INTERRUPTED)
RESUMABLE = (STOPPED, INTERRUPTED)


def arrow_schema():
    import pyarrow as pa

    return pa.schema([
        pa.field("id", pa.string()), pa.field("name", pa.string()), pa.field("description", pa.string()),
        pa.field("kind", pa.string()), pa.field("spec_json", pa.string()), pa.field("status", pa.string()),
        pa.field("created_at", pa.timestamp("us", tz="UTC")), pa.field("finished_at", pa.timestamp("us", tz="UTC")),
        pa.field("cell_count", pa.int64()), pa.field("failures_json", pa.string()),
        pa.field("history_schema", pa.int32()),
    ])


@dataclass
class Experiment:
    """A stored sweep: its spec as plain data and how far it has run.

    ``failures``: cell index -> error of the cells whose last try failed
    (the done cells are the history records of the experiment).
    """

    name: str
    kind: str
    spec: dict[str, Any]
    cell_count: int
    id: str = field(default_factory=new_id)
    description: str = ""
    status: str = RUNNING
    created_at: datetime = field(default_factory=utc_now)
    finished_at: datetime | None = None
    failures: dict[int, str] = field(default_factory=dict)
    history_schema: int = HISTORY_SCHEMA_VERSION

    def parsed_spec(self, *, check_models: bool = True) -> ExperimentSpec:
        """The spec, checked again (its models must still be there unless ``check_models`` is off)."""
        return parse_spec(self.spec, check_models=check_models)

    def to_row(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "description": self.description, "kind": self.kind,
                "spec_json": json.dumps(self.spec), "status": self.status,  # key order: the cells' order
                "created_at": self.created_at, "finished_at": self.finished_at, "cell_count": self.cell_count,
                "failures_json": json.dumps({str(k): v for k, v in self.failures.items()}, sort_keys=True),
                "history_schema": self.history_schema}

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "Experiment":
        return cls(name=row["name"], kind=row["kind"], spec=json.loads(row["spec_json"]),
                   cell_count=int(row["cell_count"]), id=row["id"], description=row["description"] or "",
                   status=row["status"], created_at=_utc(row["created_at"]),
                   finished_at=_utc(row["finished_at"]) if row["finished_at"] is not None else None,
                   failures={int(k): v for k, v in json.loads(row["failures_json"] or "{}").items()},
                   history_schema=int(row["history_schema"]))


def _utc(value: Any) -> datetime:
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


class ExperimentStore:
    """Creates, reads, updates and deletes experiments; ``root`` is the history folder."""

    def __init__(self, root: Path) -> None:
        os.environ.setdefault("LANCE_LOG", "error")
        import lancedb

        self.root = Path(root)
        self._lock = threading.Lock()
        self._db = lancedb.connect(str(self.root / "lancedb"), read_consistency_interval=timedelta(0))
        self.table = open_or_create(self._db, TABLE_NAME, arrow_schema())

    @classmethod
    def beside(cls, history) -> "ExperimentStore":
        """The experiments of a :class:`~desktop.core.history.store.HistoryStore`."""
        return cls(history.root)

    def create(self, spec: ExperimentSpec, *, name: str | None = None) -> Experiment:
        """Store a new experiment for ``spec`` (status running, no cell done yet)."""
        experiment = Experiment(name=(name or spec.name).strip() or spec.name, kind=spec.kind, spec=spec.to_dict(),
                                cell_count=spec.cell_count, description=spec.description)
        self.save(experiment)
        return experiment

    def save(self, experiment: Experiment) -> None:
        """Write ``experiment``'s row (insert or replace)."""
        import pyarrow as pa

        change = pa.Table.from_pylist([experiment.to_row()], schema=arrow_schema())
        with self._lock:
            self.table.merge_insert("id").when_matched_update_all().when_not_matched_insert_all().execute(change)

    def get(self, ident: str) -> Experiment:
        """By id, or by an unambiguous id prefix of 6 characters or more."""
        ident = ident.strip().lower()
        rows = self.table.search().where(f"id = {sql_str(ident)}").limit(1).to_list()
        if not rows and len(ident) >= 6 and ident.isalnum():
            rows = self.table.search().where(f"id LIKE {sql_str(ident + '%')}").limit(2).to_list()
            rows = rows if len(rows) == 1 else []
        if not rows:
            raise ExperimentNotFound(f"No experiment has the id {ident!r}.",
                                     "List them with `genlab experiment list`.")
        return self._checked(Experiment.from_row(rows[0]))

    def list(self) -> list[Experiment]:
        """Every experiment, newest first."""
        rows = self.table.to_arrow().to_pylist()
        found = (self._checked(Experiment.from_row(r)) for r in rows)
        return sorted(found, key=lambda e: e.created_at, reverse=True)

    # --- the run lock ----------------------------------------------------------
    def run_lock_path(self, experiment_id: str) -> Path:
        return self.root / "experiments" / f"{experiment_id}.run.lock"

    def hold_run(self, experiment: Experiment) -> file_lock.PathLock | None:
        """Take ``experiment``'s run lock for a run; :class:`ExperimentBusy` while another run has it.

        None where the data folder cannot hold locks (read-only, no lock support): the run
        goes on unguarded, as the JSON files do there.
        """
        attempt = file_lock.try_lock(self.run_lock_path(experiment.id), exclusive=True, wait=0)
        if attempt.outcome is file_lock.Outcome.TAKEN:
            return attempt.lock
        if attempt.outcome is file_lock.Outcome.UNLOCKABLE:
            return None
        raise ExperimentBusy(f"The experiment {experiment.name!r} is already running.",
                             "Wait for that run to finish, or stop it in the window or terminal running it.")

    def is_running(self, experiment_id: str) -> bool:
        """Whether some run (any process) holds the experiment's run lock now."""
        attempt = file_lock.try_lock(self.run_lock_path(experiment_id), exclusive=True, wait=0, create=False)
        if attempt.lock is not None:
            attempt.lock.release()
        return attempt.outcome is file_lock.Outcome.BUSY

    def _checked(self, experiment: Experiment) -> Experiment:
        if experiment.status == RUNNING and not self.is_running(experiment.id):
            experiment.status = INTERRUPTED
        return experiment

    def delete(self, experiment_id: str) -> bool:
        """Remove the experiment's row and every old version that held it; False when there was none."""
        if self.is_running(experiment_id):
            raise ExperimentBusy("This experiment is running; it cannot be deleted now.",
                                 "Stop the run first, then delete it.")
        with self._lock:
            if not self.table.count_rows(f"id = {sql_str(experiment_id)}"):
                return False
            self.table.delete(f"id = {sql_str(experiment_id)}")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # compact_files is deprecated; privacy needs every file rewritten
                self.table.compact_files(materialize_deletions=True, materialize_deletions_threshold=0.0)
                self.table.optimize(cleanup_older_than=timedelta(0), delete_unverified=True)
        self.run_lock_path(experiment_id).unlink(missing_ok=True)
        return True
