"""What the Insights view asks for: a date range of local days and the kinds of generation."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

from desktop.core.history.errors import InvalidFilter
from desktop.core.history.sql import build_where

KINDS = ("text", "image")


def local_utc_offset() -> timedelta:
    """This machine's offset from UTC now; days are cut at local midnight."""
    return datetime.now().astimezone().utcoffset() or timedelta(0)


@dataclass(frozen=True)
class InsightsQuery:
    """``date_from``/``date_to`` are inclusive local days (None: open); ``kinds`` are of KINDS.

    ``utc_offset`` says where a day starts: the same offset cuts the records
    into days and turns the date range into the SQL bounds, so a record near
    midnight lands in the day the range includes.
    """

    date_from: date | None = None
    date_to: date | None = None
    kinds: tuple[str, ...] = KINDS
    utc_offset: timedelta = field(default_factory=local_utc_offset)

    def where(self) -> str | None:
        """The SQL predicate for the history table; raises InvalidFilter for a bad range or kind."""
        unknown = [k for k in self.kinds if k not in KINDS]
        if unknown or not self.kinds:
            raise InvalidFilter(f"Insights can show text and image generations, not {unknown or 'nothing'}.",
                                "Pick Text, Images or both.")
        zone = timezone(self.utc_offset)
        filters: dict = {"kind": self.kinds[0] if len(set(self.kinds)) == 1 else None}
        if self.date_from is not None:
            filters["date_from"] = datetime.combine(self.date_from, time.min, zone)
        if self.date_to is not None:
            filters["date_to"] = datetime.combine(self.date_to, time.max, zone)
        return build_where(filters)
