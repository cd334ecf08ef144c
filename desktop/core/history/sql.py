"""SQL text for the history table: quoted literals, id lists and the search filters.

Every predicate the store, the search and the export hand to LanceDB is built
here, from values quoted by :func:`sql_str`, so no caller pastes user text
into SQL.  Dates without a time zone are local time.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from datetime import time as dtime
from typing import Any

from desktop.core.history.errors import InvalidFilter
from desktop.core.records import ORIGINS

FILTERS = ("kind", "model", "date_from", "date_to", "rating", "tag", "session", "sessions", "origin")


def sql_str(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def ids_predicate(ids: list[str]) -> str:
    return "id IN (" + ", ".join(sql_str(i) for i in ids) + ")"


def rowids_predicate(rowids: list[int]) -> str:
    """Lance plans a filter on ``_rowid`` alone as a direct take of those rows, not a scan."""
    return "_rowid IN (" + ", ".join(str(int(r)) for r in rowids) + ")"


def parse_when(value: Any, *, end_of_day: bool = False, name: str = "date") -> datetime:
    """A filter date as an aware UTC datetime.

    ``value`` is a date, a datetime, or text: YYYY-MM-DD or an ISO date-time.
    Without a time zone it is local time.  A bare date means the start of that
    day, or its end with ``end_of_day`` (an inclusive "until").  ``name`` is
    how the error message calls the value (a filter or a CLI option).
    """
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime.combine(value, dtime.max if end_of_day else dtime.min)
    else:
        text = str(value).strip()
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            raise InvalidFilter(f"The {name} {value!r} is not a date.",
                                "Use YYYY-MM-DD or an ISO date-time such as 2026-05-02T14:30.") from None
        if end_of_day and len(text) <= 10:
            dt = datetime.combine(dt.date(), dtime.max)
    return dt.astimezone(timezone.utc)  # a naive value is taken as local time


def _model_condition(value: str) -> str:
    """A model filter matches the name, the file, or the sha256 (whole or a prefix of 4+ hex digits)."""
    v = sql_str(value)
    condition = f"model_name = {v} OR model_file = {v} OR model_sha256 = {v}"
    prefix = value.strip().lower()
    if re.fullmatch(r"[0-9a-f]{4,63}", prefix):  # hex only: nothing for LIKE to interpret
        condition += f" OR model_sha256 LIKE '{prefix}%'"
    return f"({condition})"


def build_where(filters: dict[str, Any]) -> str | None:
    """SQL for the filters; raises InvalidFilter for unknown fields or bad values."""
    parts: list[str] = []
    bounds: dict[str, datetime] = {}
    for key, value in filters.items():
        if key not in FILTERS:
            raise InvalidFilter(f"There is no history filter named {key!r}.",
                                f"Known filters: {', '.join(FILTERS)}.")
        if value is None or value == "":
            continue
        if key == "sessions":  # any of these session ids (an experiment's name resolved by the caller)
            ids = [value] if isinstance(value, str) else list(value)
            parts.append(f"session_id IN ({', '.join(sql_str(i) for i in ids)})" if ids else "FALSE")
            continue
        if key == "kind":
            if value not in ("text", "image"):
                raise InvalidFilter(f"kind must be 'text' or 'image', not {value!r}.")
            parts.append(f"kind = {sql_str(value)}")
        elif key == "origin":
            if value not in ORIGINS:
                raise InvalidFilter(f"origin must be one of {', '.join(ORIGINS)}, not {value!r}.")
            parts.append(f"origin = {sql_str(value)}")
        elif key == "model":
            parts.append(_model_condition(str(value)))
        elif key == "session":
            parts.append(f"session_id = {sql_str(value)}")
        elif key == "tag":
            parts.append(f"array_has(tags, {sql_str(value)})")
        elif key == "rating":
            try:
                rating = int(value)
            except (TypeError, ValueError):
                rating = -1
            if not 0 <= rating <= 5:
                raise InvalidFilter(f"The rating filter must be a number from 0 to 5, not {value!r}.")
            parts.append(f"rating >= {rating}")
        else:
            dt = bounds[key] = parse_when(value, end_of_day=(key == "date_to"), name=f"{key} filter")
            op = ">=" if key == "date_from" else "<="
            parts.append(f"created_at {op} arrow_cast('{dt.strftime('%Y-%m-%dT%H:%M:%S.%f')}', "
                         f"'Timestamp(Microsecond, Some(\"UTC\"))')")
    if len(bounds) == 2 and bounds["date_from"] > bounds["date_to"]:
        start, end = (f"{bounds[k].astimezone():%Y-%m-%d %H:%M}" for k in ("date_from", "date_to"))
        raise InvalidFilter(f"The date range starts after it ends ({start} to {end}, local time).")
    return " AND ".join(parts) or None
