"""Vectorised column helpers: local days, model labels and numbers inside the JSON columns.

The history keeps timings and parameters as JSON text written by
``json.dumps`` (``schema.record_to_row``), so a top-level key always appears
as ``{"key": `` or ``, "key": ``; a quote inside a string value is escaped
(``\\"key\\"``) and cannot match.  A value that is not a plain JSON number
(text, NaN, a list) reads as missing, not as an error.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

UNKNOWN_MODEL = "(unknown model)"
_NUMBER = r"(?P<v>-?[0-9][0-9.eE+-]*)"


def local_days(created_at: Any, utc_offset: timedelta) -> Any:
    """``created_at`` (timestamp[us, UTC]) as date32 local days at ``utc_offset``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    shifted = pc.add(created_at, pa.scalar(utc_offset, pa.duration("us")))
    return pc.cast(shifted, pa.date32())


def model_labels(name: Any, file: Any) -> Any:
    """The model's name, else its file name, else UNKNOWN_MODEL, per row."""
    import pyarrow.compute as pc

    def blank_as_null(column):
        return pc.if_else(pc.equal(pc.utf8_trim_whitespace(column), ""), None, column)

    return pc.coalesce(blank_as_null(name), blank_as_null(file), UNKNOWN_MODEL)


def json_number(column: Any, key: str) -> Any:
    """The top-level ``key`` of each JSON object in ``column`` as float64 (null where absent)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    pattern = r'(?:\{|, )"' + key + '": ' + _NUMBER
    text = pc.struct_field(pc.extract_regex(column, pattern), [0])
    text = pc.if_else(pc.equal(text, ""), None, text)
    # "1.2.3" or "1e" are not numbers; those rows read as missing instead of failing the cast
    valid = pc.match_substring_regex(text, r"^-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?$")
    return pc.cast(pc.if_else(valid, text, None), pa.float64())
