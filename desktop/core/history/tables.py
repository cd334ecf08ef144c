"""Opening the LanceDB tables that live in the history's database folder.

The history, the experiments, the arena votes and the document collections each
keep a table there; this is the one place that lists them and opens or creates one.
"""

from __future__ import annotations

from typing import Any


def table_names(db: Any) -> list[str]:
    """The tables in ``db`` (``list_tables`` returns a paged response in newer LanceDB, a list before)."""
    listed: Any = db.list_tables()
    return list(getattr(listed, "tables", listed))


def open_or_create(db: Any, name: str, schema: Any) -> Any:
    """The table ``name`` of ``db``, created empty with ``schema`` when it is not there yet."""
    if name in table_names(db):
        return db.open_table(name)
    return db.create_table(name, schema=schema)
