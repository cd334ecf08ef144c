"""One plotted series: a titled pyarrow table with a fixed column layout, exportable as CSV."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop.core.errors import GenLabError


@dataclass(frozen=True)
class Series:
    """``table`` holds the numbers a plot draws; ``key`` names the series in file names and tests."""

    key: str
    title: str
    table: Any  # pyarrow.Table

    @property
    def rows(self) -> int:
        return self.table.num_rows

    def column(self, name: str) -> list:
        """One column as Python values (a plot's few hundred points, never one per record)."""
        return self.table.column(name).to_pylist()

    def write_csv(self, path: Path | str) -> Path:
        """Write the table as CSV (a header line, then one line per row); raises GenLabError on failure."""
        import pyarrow.csv as pacsv

        target = Path(path)
        try:
            pacsv.write_csv(self.table, str(target))
        except OSError as exc:
            raise GenLabError(f"Could not write {target}: {exc.strerror or exc}.",
                              "Choose a folder you can write to, with free space.") from exc
        return target
