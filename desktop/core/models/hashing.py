"""sha256 of model files, computed once and cached by (path, size, mtime).

Hashing a 5 GB GGUF takes tens of seconds, so the result is cached in
``<data root>/hash-cache.json`` keyed by the resolved path and invalidated
when the file's size or modification time changes.  Updates hold the cache's
cross-process lock (:mod:`desktop.core.file_lock`), so hashes remembered by
the GUI and a ``genlab`` command at the same time are all kept; a look-up
only reads (:func:`desktop.core.file_lock.reading`).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from desktop.core import file_lock, paths
from desktop.core.jobs import CancelToken, Progress, ProgressCallback, no_progress

CHUNK = 4 * 1024 * 1024


def sha256_file(path: Path, *, cancel: CancelToken | None = None,
                progress: ProgressCallback = no_progress) -> str:
    """Hash a file in chunks, checking the cancel token between chunks."""
    h = hashlib.sha256()
    total = path.stat().st_size
    done = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            if cancel is not None:
                cancel.raise_if_cancelled()
            h.update(chunk)
            done += len(chunk)
            progress(Progress(done / total if total else 1.0, f"Hashing {path.name}", done, total))
    return h.hexdigest()


def _cache_file() -> Path:
    return paths.data_root() / "hash-cache.json"


def _read_cache() -> dict[str, dict]:
    try:
        data = json.loads(_cache_file().read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def cached_sha256(path: Path) -> str | None:
    """The cached hash if the file is unchanged since it was hashed, else None."""
    path = Path(path).resolve()
    st = path.stat()
    with file_lock.reading(_cache_file()):
        entry = _read_cache().get(str(path))
    if entry and entry.get("size") == st.st_size and entry.get("mtime_ns") == st.st_mtime_ns:
        return entry.get("sha256")
    return None


def remember_sha256(path: Path, digest: str) -> None:
    path = Path(path).resolve()
    st = path.stat()
    target = _cache_file()
    with file_lock.lock_for(target):
        cache = _read_cache()
        cache[str(path)] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": digest}
        try:
            file_lock.replace_json(target, cache)
        except OSError:
            pass  # a cache; failing to write it only costs a re-hash later


def model_sha256(path: Path, *, cancel: CancelToken | None = None,
                 progress: ProgressCallback = no_progress) -> str:
    """sha256 of a model file, from the cache when the file has not changed."""
    path = Path(path)
    digest = cached_sha256(path)
    if digest is None:
        digest = sha256_file(path, cancel=cancel, progress=progress)
        remember_sha256(path, digest)
    return digest
