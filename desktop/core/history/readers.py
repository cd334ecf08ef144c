"""The import readers: the records a JSONL or Parquet export holds, and the counts an import reports.

A reader yields ``(where, record, given fields)`` for each line or row that
is a record (``where`` is "line 7" or "row 7"; the fields are those the line
stated, see :func:`~desktop.core.history.fields.given_fields`).  The minimal
record is ``{"kind": "text", "prompt": "..."}`` (in Parquet: ``kind`` and
``prompt`` columns); every other field is checked when present, for JSONL
lines and Parquet rows alike.  A line or row that is not such a record is
skipped and counted in the :class:`ImportResult`, with its number and the
reason among the first few ``problems``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from desktop.core.history.errors import ImportFormatError
from desktop.core.history.fields import given_fields, record_from_dict
from desktop.core.records import GenerationRecord

CHUNK = 100  # records read (and saved) at a time
MAX_PROBLEMS = 5  # examples of broken lines kept for the report


@dataclass
class ImportResult:
    imported: int = 0  # new rows, the conflicts included
    duplicates: int = 0
    broken: int = 0
    conflicts: int = 0  # same id as a record already there, other content: imported under a new id
    problems: list[str] = field(default_factory=list)  # "line N: why" for the first few broken lines
    total: int | None = None  # records (lines, rows) in the file
    embedded: int = 0  # records embedded after the import (import_and_embed)
    embed_note: str = ""  # why records were left unembedded, if they were

    @property
    def read(self) -> int:
        return self.imported + self.duplicates + self.broken

    def summary(self) -> str:
        kept = f" (kept as new records: {self.conflicts}, ids conflicted)" if self.conflicts else ""
        return (f"imported {self.imported}{kept}, skipped {self.duplicates} duplicates, "
                f"{self.broken} broken lines")

    def problem_lines(self) -> list[str]:
        """The examples of broken lines, then how many more there were."""
        more = self.broken - len(self.problems)
        return self.problems + ([f"... and {more} more"] if more > 0 else [])


def note_broken(result: ImportResult, where: str, reason: Any) -> None:
    result.broken += 1
    if len(result.problems) < MAX_PROBLEMS:
        result.problems.append(f"{where}: {reason}")


# What the readers yield: where the record came from ("line 7"), the record, the fields its line gave.
Labelled = tuple[str, GenerationRecord, frozenset]


def jsonl_records(lines: Iterable[str], result: ImportResult) -> Iterator[Labelled]:
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except (ValueError, RecursionError) as exc:
            note_broken(result, f"line {number}", f"not valid JSON ({str(exc)[:120]})")
            continue
        try:
            record = record_from_dict(data)
        except ValueError as exc:
            note_broken(result, f"line {number}", exc)
        else:
            yield f"line {number}", record, given_fields(data)


def sniff(path: Path) -> str:
    """What the file at ``path`` holds: "zip", "parquet" or (anything else) "jsonl"."""
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head.startswith(b"PK"):
        return "zip"
    if head == b"PAR1":
        return "parquet"
    return "jsonl"


def count_lines(lines: Iterable[str]) -> int:
    """How many records a JSONL holds, read the way the import reads it (blank lines are not records)."""
    return sum(1 for line in lines if line.strip())


def parquet_rows(path: Path) -> int | None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path).metadata.num_rows
    except (OSError, pa.ArrowException):
        return None  # reading it says why


def parquet_records(path: Path, result: ImportResult) -> Iterator[Labelled]:
    """Rows of a Parquet export (or any Parquet with at least kind and prompt), validated like JSONL lines."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        batches = pq.ParquetFile(path).iter_batches(batch_size=CHUNK)
        number = 0
        for batch in batches:
            for row in batch.to_pylist():
                number += 1
                try:
                    record, given = _record_from_row(row)
                except ValueError as exc:
                    note_broken(result, f"row {number}", exc)
                else:
                    yield f"row {number}", record, given
    except (OSError, pa.ArrowException) as exc:
        raise ImportFormatError(f"{path} is not a readable Parquet file ({str(exc)[:300]}).",
                                "Export it again from GenLab.") from exc


def _record_from_row(row: dict[str, Any]) -> tuple[GenerationRecord, frozenset]:
    """A Parquet row (the table's flat columns: model_*, *_json) as an import dict, then a record."""
    data = {k: v for k, v in row.items() if v is not None}
    present = dict(data)  # what the row holds, for a content id: a minimal row hashes like its JSONL line
    model = {key[len("model_"):]: data.pop(key) for key in list(data) if key.startswith("model_")}
    if model and "model" not in data:
        data["model"] = model
    for key in ("parameters", "timings", "versions"):
        text = data.pop(f"{key}_json", None)
        if text is not None and key not in data:
            if not isinstance(text, str):
                raise ValueError(f"'{key}_json' must be JSON text, not {type(text).__name__}")
            try:
                data[key] = json.loads(text) if text.strip() else {}
            except (ValueError, RecursionError):
                raise ValueError(f"'{key}_json' is not valid JSON") from None
    return record_from_dict(data, canonical=present), given_fields(data)
