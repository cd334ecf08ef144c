"""Writing a dataset: JSON lines to a temporary file beside the target, renamed into place at the end.

The file is created by ``mkstemp``, so it is readable by its owner only, like the history.

The target never holds a half-written or empty dataset: a failure, a
cancellation or an export that wrote no row removes the temporary file and
leaves whatever was at the target before.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from desktop.core.datasets.errors import DatasetError


def _cannot_write(path: Path, exc: OSError) -> DatasetError:
    return DatasetError(f"Cannot write the dataset to {path}: {exc.strerror or exc}.",
                        "Choose a file in a folder you can write to.")


class JsonlFile:
    """A context manager: ``write(row)`` appends a line; leaving without an error and with at least one
    row moves the file to ``path``, anything else removes it.  ``rows`` counts the lines written."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.rows = 0
        self._fh: Any = None
        self._tmp = ""

    def __enter__(self) -> "JsonlFile":
        if self.path.is_dir():
            raise DatasetError(f"{self.path} is a folder, not a file.", "Name a .jsonl file to write.")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, self._tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".part", dir=self.path.parent)
        except OSError as exc:
            raise _cannot_write(self.path, exc) from exc
        self._fh = os.fdopen(fd, "w", encoding="utf-8", newline="\n")
        return self

    def write(self, row: dict[str, Any]) -> None:
        try:
            self._fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        except OSError as exc:
            raise _cannot_write(self.path, exc) from exc
        self.rows += 1

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            self._fh.close()
            if exc_type is None and self.rows:
                os.replace(self._tmp, self.path)
                self._tmp = ""
        except OSError as error:
            if exc_type is None:
                raise _cannot_write(self.path, error) from error
        finally:
            if self._tmp:
                try:
                    os.unlink(self._tmp)
                except OSError:
                    pass
