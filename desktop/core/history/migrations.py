"""Schema versions of the history database and the upgrades between them.

The version lives in ``meta.json`` next to the LanceDB folder, written
atomically.  Schema 1 (GenLab 0.0.x) stored one table ``generations`` with a
nullable vector and no full-text column; schema 2 adds ``search_text``,
``embedded``/``embed_model`` and the model's size and file list, in a new
table ``generations_v2``.  An upgrade writes the new table completely, then
switches ``meta.json`` to it, then drops the old one: a crash at any point
leaves one complete, readable table.  A database from a newer GenLab is
refused, never rewritten.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from desktop.core.history.errors import HistoryVersionError
from desktop.core.history.schema import SCHEMA_VERSION, TABLE_NAME, arrow_schema, record_to_row, row_to_record

log = logging.getLogger(__name__)

META_FILE = "meta.json"
V1_TABLE = "generations"
DEFAULT_EMBED_MODEL = "all-MiniLM-L6-v2"


def read_meta(root: Path) -> dict[str, Any] | None:
    path = root / META_FILE
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise HistoryVersionError(f"The history metadata file {path} is unreadable ({exc}).",
                                  "Restore it from a backup or move the history folder aside.") from exc
    if not isinstance(data, dict) or not isinstance(data.get("schema_version"), int):
        raise HistoryVersionError(f"The history metadata file {path} has no schema version.",
                                  "Restore it from a backup or move the history folder aside.")
    return data


def write_meta(root: Path, meta: dict[str, Any]) -> None:
    """Write meta.json atomically (temp file, fsync, rename)."""
    fd, tmp = tempfile.mkstemp(prefix=".meta-", dir=root)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(meta, fh, indent=2, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, root / META_FILE)


def check_version(meta: dict[str, Any], root: Path) -> None:
    version = meta["schema_version"]
    if version > SCHEMA_VERSION:
        raise HistoryVersionError(
            f"The history in {root} was written by a newer GenLab (schema {version}; "
            f"this version reads up to {SCHEMA_VERSION}).",
            "Update GenLab, or point GENLAB_HOME at another folder. The history was not changed.")


def _v1_row_to_v2(row: dict[str, Any]) -> dict[str, Any]:
    record = row_to_record(row)
    vector: Any = row.get("vector")
    has_vector = vector is not None and any(vector)
    return record_to_row(record, list(vector) if has_vector else None,
                         DEFAULT_EMBED_MODEL if has_vector else "")


def migrate_v1_to_v2(db, root: Path, meta: dict[str, Any]) -> dict[str, Any]:
    import pyarrow as pa

    old = db.open_table(V1_TABLE)
    rows = [_v1_row_to_v2(r) for r in old.to_arrow().to_pylist()]
    new = db.create_table(TABLE_NAME, schema=arrow_schema(), mode="overwrite")
    if rows:
        new.add(pa.Table.from_pylist(rows, schema=arrow_schema()))
    meta = dict(meta, schema_version=2, table=TABLE_NAME, embed_model=meta.get("embed_model", DEFAULT_EMBED_MODEL))
    write_meta(root, meta)
    db.drop_table(V1_TABLE)
    log.info("history: migrated %d records from schema 1 to 2", len(rows))
    return meta


MIGRATIONS = {1: migrate_v1_to_v2}


def upgrade(db, root: Path, meta: dict[str, Any]) -> dict[str, Any]:
    """Run every migration from ``meta``'s version up to the current one."""
    check_version(meta, root)
    while meta["schema_version"] < SCHEMA_VERSION:
        meta = MIGRATIONS[meta["schema_version"]](db, root, meta)
    return meta
