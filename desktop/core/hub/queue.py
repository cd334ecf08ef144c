"""The persisted list of downloads, so none is forgotten across restarts.

``<data root>/downloads.json`` holds one entry per requested file with its
state: ``queued``, ``running``, ``paused``, ``waiting`` (for the network),
``failed``, ``done`` or ``cancelled``.  On start the app (or ``genlab models
download --resume``) calls :meth:`DownloadList.resumable` and runs those
entries again; their bytes are already in the ``.part`` files, so they
continue where they were.  What counts as resumable:

- ``queued`` and ``running``: a process killed mid-download leaves its entry
  ``running``; one that quits normally (its runner cancels the job with the
  ``SHUTDOWN`` reason) leaves it ``queued``.  An entry whose file another
  GenLab process is downloading right now (it holds the file's
  ``.part.lock``) is that process's, and not resumable here;
- ``waiting``: stopped by the network (the hub unreachable, the transfer's
  automatic retries used up), not by anything wrong with the file or the
  setup; the app also tries these again when the hub answers.

``paused`` (a person's choice) and ``failed`` (an error a person must act on:
a checksum mismatch, a full disk, a token, a file not on the hub) wait for
that person.

:func:`run_entry` is the job function for one entry: it downloads, verifies,
adds the file to the library and keeps the entry's state current.  A
diffusers pipeline is many entries of one repo folder; it is listed by
:func:`register_pipeline_if_complete` only when every one of them arrived
verified, so a cancelled or failed file keeps it out of the library.  A
catalog variant built from several repos (FLUX.1 with a GGUF transformer)
names its folder: each of its entries carries that ``root``, which makes
them one set whatever repo each file comes from
(:func:`catalog_downloads`).
"""

from __future__ import annotations

import json
import socket
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from desktop.core import file_lock, paths
from desktop.core.hub.download import (
    DownloadProgress,
    DownloadResult,
    FileRef,
    busy_error,
    default_destination,
    discard_partial,
    download_file,
    part_path,
    transfer_elsewhere,
)
from desktop.core.hub.transfer import RetryPolicy
from desktop.core.jobs import SHUTDOWN, CancelToken, JobCancelled, Progress, ProgressCallback, no_progress
from desktop.core.models.errors import DownloadBusy, DownloadError, HubOffline, HubUnavailable, RetriesExhausted

ACTIVE = ("queued", "running")
WAITING_NETWORK = "waiting"
RESUMABLE = ("queued", "running", WAITING_NETWORK)
# Failures that say nothing about the file or the person's setup, only that the network let it down.
NETWORK_ERRORS = (HubOffline, HubUnavailable, RetriesExhausted, ConnectionError, TimeoutError, socket.gaierror)


@dataclass
class DownloadEntry:
    key: str
    repo_id: str
    filename: str
    revision: str
    dest: str
    status: str = "queued"
    size: int = 0
    done: int = 0
    error: str = ""
    source: str = "hub"  # "hub" | "catalog"
    catalog_id: str = ""
    added_at: float = 0.0
    path: str = ""  # where the verified file is once done: ``dest``, or a listed copy that was reused
    already_installed: bool = False  # done without a transfer: the bytes were already on disk
    note: str = ""  # what a person should know about a finished entry
    root: str = ""  # the model folder this file completes, when not its repo's own folder

    @property
    def ref(self) -> FileRef:
        return FileRef(self.repo_id, self.filename, self.revision)


class DownloadList:
    """File-backed list of :class:`DownloadEntry`, safe across threads and processes.

    Every read-modify-write holds the file's cross-process lock
    (:mod:`desktop.core.file_lock`): the GUI and ``genlab models download``
    updating the list at once never lose each other's changes.  Reads take
    no lock on POSIX (:func:`~desktop.core.file_lock.reading`), so the GUI
    never waits for another process to look at the list.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or paths.data_root() / "downloads.json"

    @property
    def _lock(self) -> file_lock.FileLock:
        return file_lock.lock_for(self.path)

    def _read(self) -> dict[str, DownloadEntry]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        names = {f.name for f in fields(DownloadEntry)}
        entries = {}
        for item in raw.get("downloads", []) if isinstance(raw, dict) else []:
            try:
                entry = DownloadEntry(**{k: v for k, v in item.items() if k in names})
            except TypeError:
                continue
            entries[entry.key] = entry
        return entries

    def _write(self, entries: dict[str, DownloadEntry]) -> None:
        file_lock.replace_json(self.path, {"version": 1, "downloads": [asdict(e) for e in entries.values()]},
                               indent=1)

    def entries(self) -> list[DownloadEntry]:
        with file_lock.reading(self.path):
            return sorted(self._read().values(), key=lambda e: e.added_at)

    def get(self, key: str) -> DownloadEntry | None:
        with file_lock.reading(self.path):
            return self._read().get(key)

    def add(self, ref: FileRef, dest: Path | None = None, *, source: str = "hub",
            catalog_id: str = "", root: Path | None = None) -> DownloadEntry:
        """Add (or re-queue) a download; an entry already active is returned as is.

        ``root``: the model folder the file completes, when not its repo's own; the same file of one repo
        can then be queued for two folders (two variants sharing a text encoder) as two entries."""
        key = ref.key if root is None else f"{ref.key}>{Path(root).name}"
        with self._lock:
            entries = self._read()
            entry = entries.get(key)
            if entry is not None and entry.status in ACTIVE:
                return entry
            dest = Path(dest or default_destination(ref))
            entry = DownloadEntry(key, ref.repo_id, ref.filename, ref.revision, str(dest),
                                  source=source, catalog_id=catalog_id, added_at=time.time(),
                                  done=entry.done if entry else 0, size=entry.size if entry else 0,
                                  root=str(root) if root is not None else "")
            entries[entry.key] = entry
            self._write(entries)
            return entry

    def update(self, key: str, **changes) -> DownloadEntry | None:
        return self.update_if(key, None, **changes)

    def update_if(self, key: str, statuses: tuple[str, ...] | None, **changes) -> DownloadEntry | None:
        """Change an entry whose status (read under the lock) is one of ``statuses`` (None: any).

        Returns the changed entry, or None when there is no such entry or its status is another.
        """
        with self._lock:
            entries = self._read()
            entry = entries.get(key)
            if entry is None or (statuses is not None and entry.status not in statuses):
                return None
            for name, value in changes.items():
                setattr(entry, name, value)
            self._write(entries)
            return entry

    def remove(self, key: str) -> None:
        with self._lock:
            entries = self._read()
            if entries.pop(key, None) is not None:
                self._write(entries)

    def resumable(self) -> list[DownloadEntry]:
        """Entries to run again (see the module docstring), leaving those another process is downloading."""
        return [e for e in self.entries() if e.status in RESUMABLE and not transfer_elsewhere(Path(e.dest))]

    def cancel(self, key: str) -> int:
        """Forget a download and delete its partial bytes; returns bytes freed.

        Raises :class:`DownloadBusy` while another GenLab process is
        transferring it: its part file is that process's to keep.
        """
        entry = self.get(key)
        if entry is None:
            return 0
        refuse_if_elsewhere(entry, "cancelled", "Cancel")
        freed = discard_partial(Path(entry.dest))
        self.update(key, status="cancelled", done=0, error="")
        return freed


def refuse_if_elsewhere(entry: DownloadEntry, done: str, verb: str) -> None:
    """Raise :class:`DownloadBusy` when another GenLab process is downloading ``entry`` now.

    ``done`` and ``verb`` word the refusal, e.g. "cancelled" / "Cancel".
    """
    if transfer_elsewhere(Path(entry.dest)):
        raise DownloadBusy(f"{entry.filename} is being downloaded by another GenLab process, so it cannot be "
                           f"{done} here.", f"{verb} it where it runs (the other window, or Ctrl+C in the "
                           "`genlab models download` that started it).")


def run_entry(entry: DownloadEntry, downloads: DownloadList, *, policy: RetryPolicy | None = None,
              register: bool = True, cancel: CancelToken,
              progress: ProgressCallback = no_progress) -> DownloadResult:
    """Job function: download one entry, then add it to the library.

    Pausing is cancelling the job: the entry becomes ``paused`` and keeps
    its bytes, or ``queued`` when the cancel's reason is ``SHUTDOWN`` (the
    app quits: the download resumes at next start); a job cancelled while
    it fails stops the same way.  Network failures (:data:`NETWORK_ERRORS`)
    leave it ``waiting``, resumable; other failures leave it ``failed``.
    Either way the message is kept in ``error``.  When another GenLab
    process is downloading the file, raises :class:`DownloadBusy` and leaves
    the entry as that process keeps it.

    The entry is marked ``running`` only from ``queued``, ``waiting`` or a
    ``running`` left by a process that died: a pause or cancel that came
    first is never undone.
    """
    if transfer_elsewhere(Path(entry.dest)):  # before marking it: the entry is the other process's to keep
        raise busy_error(entry.filename)
    # "running" here: no process holds the file (its process died), so it is this one's to take over.
    downloads.update_if(entry.key, RESUMABLE, status="running", error="")

    last: tuple[int, int] | None = None  # (done, total) of the latest report: what a stop records

    def track(report: Progress) -> None:
        nonlocal last
        payload = report.payload
        if isinstance(payload, DownloadProgress):
            last = (payload.done, payload.total)
        progress(report)

    suffix = Path(entry.filename).suffix.lower()
    # A .safetensors inside a repo folder is a pipeline component, listed with its pipeline instead.
    standalone = register and (suffix == ".gguf" or (suffix == ".safetensors" and "/" not in entry.filename))
    library = find_existing = None
    if standalone:
        from desktop.core.models.library import Library

        library = Library()

        def find_existing(sha256: str, size: int) -> Path | None:  # a listed copy, from any source
            model = library.find_installed(sha256, size, cancel=cancel)
            return Path(model.path) if model is not None else None

    try:
        result = download_file(entry.ref, Path(entry.dest), policy=policy, cancel=cancel, progress=track,
                               find_existing=find_existing)
    except DownloadBusy:  # the entry is the other process's: its state stays as that process keeps it
        if cancel.cancelled:
            raise JobCancelled() from None
        raise
    except JobCancelled:
        _record_stop(entry, downloads, cancel, last)
        raise
    except Exception as exc:
        if cancel.cancelled:  # paused (or the app quit) while it failed: a stop, not a failure
            _record_stop(entry, downloads, cancel, last)
            raise JobCancelled() from exc
        installed = _installed_offline(entry, library) if isinstance(exc, HubOffline) else None
        if installed is not None:
            return _installed_while_offline(entry, downloads, installed, progress)
        if isinstance(exc, NETWORK_ERRORS):
            _wait_for_network(entry, downloads, exc, last)
        else:
            downloads.update(entry.key, status="failed", error=str(exc))
        raise
    note = ""
    if library is not None:
        from desktop.core.models.errors import ImportRejected

        listed = library.find_by_path(result.path) if result.already_installed else None
        if listed is not None:  # the listed entry stays as it is, with the origin it lacked
            library.note_origin(listed.id, repo_id=entry.repo_id, catalog_id=entry.catalog_id)
            note = (f"already installed as {listed.name} ({listed.source}) at {listed.path}; "
                    "nothing was downloaded")
        else:
            try:  # listed before the entry says "done", so "done" always means usable
                library.add_download(result, source=entry.source, catalog_id=entry.catalog_id)
            except ImportRejected as exc:  # verified bytes, but not a model file on its own (a shard, an adapter)
                note = f"downloaded, not listed: {exc}"
    downloads.update(entry.key, status="done", done=result.size, size=result.size, note=note,
                     path=str(result.path), already_installed=result.already_installed)
    return result


def _installed_while_offline(entry: DownloadEntry, downloads: DownloadList, installed: tuple[Path, int],
                             progress: ProgressCallback) -> DownloadResult:
    path, size = installed
    note = f"already installed at {path}; the hub is unreachable, so it was not checked for a newer revision"
    progress(Progress(1.0, f"{entry.filename}: {note}"))
    downloads.update(entry.key, status="done", done=size, size=size, note=note, path=str(path),
                     already_installed=True)
    return DownloadResult(entry.ref, path, size, "", "", already_installed=True)


def _record_stop(entry: DownloadEntry, downloads: DownloadList, cancel: CancelToken,
                 last: tuple[int, int] | None) -> None:
    """A download a person paused stays paused; one stopped by the app quitting resumes at next start.

    Both keep their bytes.  A ``cancelled`` entry is left alone: whoever
    cancelled it deletes its bytes.
    """
    done, total = last or (entry.done, entry.size)
    current = downloads.get(entry.key)
    if current is None or current.status == "cancelled":
        return
    status = "queued" if cancel.reason == SHUTDOWN else "paused"
    downloads.update(entry.key, status=status, done=done, size=total)


def _wait_for_network(entry: DownloadEntry, downloads: DownloadList, exc: BaseException,
                      last: tuple[int, int] | None) -> None:
    """Leave a download the network stopped resumable, with its bytes and the reason to show."""
    done, total = last or (entry.done, entry.size)
    downloads.update(entry.key, status=WAITING_NETWORK, error=str(exc), done=done, size=total)


def _installed_offline(entry: DownloadEntry, library) -> tuple[Path, int] | None:
    """Where this entry's file is already installed, found without the hub.

    The downloader renames a file into ``dest`` only after verifying it, so a
    file there is a finished download; a listed library model from the same
    repo with the same file name counts too (a copy installed elsewhere).
    """
    dest = Path(entry.dest)
    if dest.is_file() and not part_path(dest).exists():
        return dest, dest.stat().st_size
    if library is None:
        return None
    name = Path(entry.filename).name
    for model in library.models():
        path = Path(model.path)
        if model.repo_id == entry.repo_id and path.name == name and path.is_file():
            return path, path.stat().st_size
    return None


def catalog_downloads(entry, variant, models_root: Path | None = None) -> list[tuple[FileRef, Path | None,
                                                                                   Path | None]]:
    """(file, destination, model folder) for each file of a catalog variant, for :meth:`DownloadList.add`.

    A variant with a ``folder`` of its own gets every file placed in it (at the file's ``path``), each from
    its own repo; other variants go to the repo's default folder (destination and folder None)."""
    if not variant.folder:
        return [(FileRef(f.repo_id or entry.repo_id, f.name), None, None) for f in variant.files]
    root = (models_root or paths.models_dir()) / variant.folder
    return [(FileRef(f.repo_id or entry.repo_id, f.name), root / f.dest, root) for f in variant.files]


def pipeline_root(entry: DownloadEntry) -> Path:
    """The model folder an entry's file belongs to: its ``root``, else ``dest`` minus the file's path in the
    repo (the repo's folder)."""
    if entry.root:
        return Path(entry.root)
    root = Path(entry.dest)
    for _ in Path(entry.filename).parts:
        root = root.parent
    return root


class IncompletePipeline(DownloadError):
    """Every file of a pipeline's download set has ended, but some did not arrive verified."""


PENDING = ("queued", "running", "paused", WAITING_NETWORK)


def pipeline_entries(entry: DownloadEntry, downloads: DownloadList) -> list[DownloadEntry]:
    """The download set ``entry`` belongs to: every entry (cancelled ones too) of its repo folder."""
    root = pipeline_root(entry)
    if entry.root:
        return [e for e in downloads.entries() if e.root == entry.root]
    return [e for e in downloads.entries() if e.repo_id == entry.repo_id and not e.root and pipeline_root(e) == root]


def _arrived(entry: DownloadEntry) -> bool:
    path = Path(entry.dest)
    return entry.status == "done" and path.is_file() and path.stat().st_size == entry.size


def register_pipeline_if_complete(entry: DownloadEntry, downloads: DownloadList):
    """List a diffusers folder once every file of its download set is done and verified.

    Returns the model, or None while files of the set are still queued,
    running, paused or waiting for the network (or when ``entry`` is not
    part of a pipeline).  Once none is pending, a cancelled, failed or
    vanished member keeps the pipeline unlisted: raises
    :class:`IncompletePipeline` naming those files, and notes the reason on
    the cancelled entries for the Downloads panel.
    """
    root = pipeline_root(entry)
    siblings = pipeline_entries(entry, downloads)
    name = root.name if entry.root else entry.repo_id
    if not any(e.filename == "model_index.json" for e in siblings) and not (root / "model_index.json").is_file():
        return None
    if any(e.status in PENDING for e in siblings):
        return None
    missing = [e for e in siblings if not _arrived(e)]
    if missing:
        reasons = {"cancelled": "was cancelled", "failed": "failed"}
        names = ", ".join(f"{e.filename} {reasons.get(e.status, 'is missing')}" for e in missing)
        for e in missing:
            if e.status == "cancelled":
                downloads.update(e.key, error=f"{name} is not listed as installed without this file.")
        again = (f"genlab models download {entry.catalog_id}" if entry.root and entry.catalog_id else
                 f"genlab models download {entry.repo_id} {' '.join(e.filename for e in missing)}")
        raise IncompletePipeline(
            f"{name} is not listed as installed: {names}.",
            f"Download {'it' if len(missing) == 1 else 'them'} again to complete the pipeline (`{again}`).")
    from desktop.core.models.library import Library

    index = next((e for e in siblings if e.filename == "model_index.json"), entry)  # the pipeline's own repo
    return Library().add_path(root, source=entry.source, owned=True, repo_id=index.repo_id,
                              catalog_id=entry.catalog_id, name=name)
