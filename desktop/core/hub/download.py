"""Verified, resumable downloads of single hub files.

Metadata (size, LFS sha256, commit, where the bytes live) comes from
``huggingface_hub.get_hf_file_metadata`` against the endpoint read at call
time (``HF_ENDPOINT``) with the stored token (``HF_TOKEN``, keyring, file).
The bytes come from GenLab's own ``Range`` transfer
(:mod:`desktop.core.hub.transfer`) into ``<dest>.part`` next to the
destination, described by a small sidecar ``<dest>.part.json``.  A file is
renamed into place only after its sha256 (or, for small non-LFS files, its
git blob sha1) matches the hub; a mismatch deletes the bad bytes.

Nothing is transferred when the bytes are already here: the destination
holds them, or ``find_existing`` (the library, for a model file) names a file
with the hub's sha256 somewhere else; the result then says
``already_installed`` and points at that file.

Only one transfer of a destination runs at a time: a second request in the
same process waits for the first and shares its result; another process is
kept out by an exclusive lock on ``<dest>.part.lock``
(:mod:`desktop.core.file_lock`: released by the OS even when a process is
killed) and told so with :class:`DownloadBusy`;
:func:`transfer_elsewhere` asks, without waiting, whether another process
holds that lock now.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

from desktop.core import file_lock, paths
from desktop.core.file_lock import Outcome, PathLock
from desktop.core.hardware import disk_free, fmt_bytes
from desktop.core.hub.access import endpoint as hub_endpoint
from desktop.core.hub.access import hub_error, hub_online, hub_reachable
from desktop.core.hub.access import token as stored_token
from desktop.core.hub.transfer import HashPipe, RetryPolicy, TransferStats, transfer
from desktop.core.jobs import CancelToken, Progress, ProgressCallback, no_progress
from desktop.core.models import hashing
from desktop.core.models.errors import (
    ChecksumMismatch,
    DiskFull,
    DownloadBusy,
    DownloadError,
    HubError,
    HubOffline,
    ModelsDirError,
)

log = logging.getLogger(__name__)

DISK_RESERVE = 64 * 1024 * 1024  # keep this much free beyond the file itself
PROGRESS_EVERY = 0.1  # seconds between progress reports


@dataclass(frozen=True)
class FileRef:
    """One file of one hub repo at one revision."""

    repo_id: str
    filename: str
    revision: str = "main"

    @property
    def key(self) -> str:
        return f"{self.repo_id}@{self.revision}:{self.filename}"


@dataclass
class RemoteFile:
    ref: FileRef
    url: str  # where the bytes are (a CDN URL for LFS files)
    size: int
    commit: str
    sha256: str | None  # LFS files
    git_sha1: str | None  # small files stored in git

    @property
    def expected(self) -> str:
        return self.sha256 or self.git_sha1 or ""


@dataclass
class DownloadProgress:
    """Payload of the Progress reports a download makes."""

    key: str
    done: int
    total: int
    speed: float  # bytes per second, smoothed
    eta: float | None  # seconds
    transferred: int  # bytes received in this run


@dataclass
class DownloadResult:
    ref: FileRef
    path: Path
    size: int
    sha256: str
    commit: str
    bytes_transferred: int = 0
    resumed_from: int = 0
    attempts: int = 0
    already_installed: bool = False
    restarts: list[str] = field(default_factory=list)


def default_destination(ref: FileRef, models_root: Path | None = None) -> Path:
    root = models_root or paths.models_dir()
    return root / ref.repo_id.replace("/", "__") / ref.filename


def part_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part")


def sidecar_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part.json")


def lock_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part.lock")


def _is_sha256(value: str | None) -> bool:
    return value is not None and len(value) == 64 and all(c in "0123456789abcdef" for c in value.lower())


def resolve_remote(ref: FileRef, *, token: str | None = None, endpoint: str | None = None,
                   timeout: float = 15.0) -> RemoteFile:
    """Ask the hub for a file's size, hash, commit and location."""
    from huggingface_hub import get_hf_file_metadata, hf_hub_url

    endpoint = endpoint or hub_endpoint()
    token = token if token is not None else stored_token()
    url = hf_hub_url(ref.repo_id, ref.filename, revision=ref.revision, endpoint=endpoint)
    try:
        with hub_online():
            meta = get_hf_file_metadata(url, token=token or False, timeout=timeout, endpoint=endpoint,
                                        retry_on_errors=True)
    except HubError:
        raise
    except Exception as exc:
        raise hub_error(exc, ref.repo_id, ref.filename) from exc
    if meta.size is None:
        raise DownloadError(f"The hub did not say how big {ref.filename} is; cannot download it safely.")
    etag = (meta.etag or "").lower()
    sha256 = etag if _is_sha256(etag) else None
    git_sha1 = etag if len(etag) == 40 and all(c in "0123456789abcdef" for c in etag) else None
    if sha256 is None and git_sha1 is None:
        sha256 = _lfs_sha256_from_api(ref, meta.commit_hash or ref.revision, token, endpoint)
    return RemoteFile(ref, meta.location, int(meta.size), meta.commit_hash or "", sha256, git_sha1)


def _lfs_sha256_from_api(ref: FileRef, revision: str, token: str | None, endpoint: str) -> str:
    """The LFS sha256 from the paths-info API, when the ETag is not a hash we can check."""
    from huggingface_hub import HfApi

    try:
        with hub_online():
            infos = HfApi(endpoint=endpoint, token=token or False).get_paths_info(
                ref.repo_id, [ref.filename], revision=revision)
    except Exception as exc:
        raise hub_error(exc, ref.repo_id, ref.filename) from exc
    lfs = getattr(infos[0], "lfs", None) if infos else None
    if lfs is None or not _is_sha256(lfs.sha256):
        raise DownloadError(f"The hub gave no checksum for {ref.filename}, so it cannot be verified; "
                            "GenLab does not install unverified files.", "Try again later.")
    return lfs.sha256.lower()


# --- the one-transfer-per-destination registry -----------------------------

class _Inflight:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: DownloadResult | None = None
        self.error: BaseException | None = None


_inflight: dict[Path, _Inflight] = {}
_inflight_lock = threading.Lock()

FindExisting = Callable[[str, int], "Path | None"]  # (sha256, size) -> a verified copy already on disk


def download_file(ref: FileRef, dest: Path | None = None, *, token: str | None = None,
                  endpoint: str | None = None, policy: RetryPolicy | None = None,
                  cancel: CancelToken | None = None, progress: ProgressCallback = no_progress,
                  find_existing: FindExisting | None = None) -> DownloadResult:
    """Download ``ref`` to ``dest`` (default: under the models folder), verified.

    Resumes from ``<dest>.part`` when it belongs to the same remote file.
    When ``find_existing(sha256, size)`` returns a path once the hub has
    given the file's LFS sha256, nothing is transferred: the result is
    ``already_installed`` at that path (and a stale part of ``dest`` is freed).
    Raises :class:`JobCancelled` when paused/cancelled (the part is kept),
    and :class:`GenLabError` subclasses for everything a person must act on.
    """
    cancel = cancel or CancelToken()
    dest = Path(dest or default_destination(ref)).absolute()
    with _inflight_lock:
        running = _inflight.get(dest)
        if running is None:
            current = _inflight[dest] = _Inflight()
    if running is not None:
        return _wait_for(running, ref, cancel, progress)
    try:
        current.result = _download_locked(ref, dest, token, endpoint, policy or RetryPolicy(), cancel, progress,
                                          find_existing)
        return current.result
    except BaseException as exc:
        current.error = exc
        raise
    finally:
        with _inflight_lock:
            _inflight.pop(dest, None)
        current.done.set()


def _wait_for(current: _Inflight, ref: FileRef, cancel: CancelToken, progress: ProgressCallback) -> DownloadResult:
    progress(Progress(None, f"{ref.filename}: already downloading, waiting for that transfer"))
    while not current.done.wait(0.1):
        cancel.raise_if_cancelled()
    if current.error is not None:
        raise current.error
    assert current.result is not None
    return current.result


def _prepare_folder(folder: Path) -> None:
    ModelsDirError.require_writable(folder, "Choose a writable models folder (GENLAB_MODELS_DIR) or fix its "
                                            "permissions.")


def busy_error(filename: str) -> DownloadBusy:
    """What a second process gets for a file another GenLab process is downloading."""
    return DownloadBusy(f"{filename} is already being downloaded by another GenLab process.",
                        "Wait for it to finish.")


def transfer_elsewhere(dest: Path) -> bool:
    """Whether another GenLab process is downloading ``dest`` now (holds its ``.part.lock``); never waits.

    Always False for a transfer of this process, and where no lock can be had.
    """
    dest = Path(dest).absolute()
    with _inflight_lock:
        if dest in _inflight:
            return False
    # A look only: never creates the file, and drops the probe's own lock at once.
    attempt = file_lock.try_lock(lock_path(dest), exclusive=True, wait=0, create=False)
    if attempt.lock is not None:
        attempt.lock.release()
    return attempt.outcome is Outcome.BUSY


def _download_locked(ref, dest, token, endpoint, policy, cancel, progress, find_existing) -> DownloadResult:
    cancel.raise_if_cancelled()  # the probe below can take seconds when the hub cannot be reached
    if not hub_reachable(url=endpoint):
        raise HubOffline(f"Cannot reach the hub at {endpoint or hub_endpoint()}, so {ref.filename} cannot be "
                         "downloaded now.", "Check the network connection; the download goes ahead when the "
                         "hub can be reached again (in the app on its own, on the command line with "
                         "`genlab models download --resume`).")
    _prepare_folder(dest.parent)
    with _ProcessLock(lock_path(dest), ref):
        return _download(ref, dest, token, endpoint, policy, cancel, progress, find_existing)


LOCK_PATIENCE = 0.5  # seconds: a transfer_elsewhere() probe holds the lock for an instant


class _ProcessLock:
    """An exclusive lock on ``<dest>.part.lock`` so two GenLab processes never fill the same part file."""

    def __init__(self, path: Path, ref: FileRef) -> None:
        self.path, self.ref = path, ref
        self._lock: PathLock | None = None

    def __enter__(self) -> "_ProcessLock":
        attempt = file_lock.try_lock(self.path, exclusive=True, wait=LOCK_PATIENCE)
        if attempt.outcome in (Outcome.BUSY, Outcome.CHANGING):
            raise busy_error(self.ref.filename)
        if attempt.outcome is Outcome.UNLOCKABLE:  # the in-process registry still applies
            log.warning("cannot lock %s (%s); a second GenLab process could download the same file at once",
                        self.path, attempt.why)
        self._lock = attempt.lock
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        lock, self._lock = self._lock, None
        if lock is not None:
            lock.release(remove=exc_type is None)  # installed: the lock file has no more use


def _download(ref, dest, token, endpoint, policy, cancel, progress, find_existing=None) -> DownloadResult:
    endpoint = endpoint or hub_endpoint()
    token = token if token is not None else stored_token()
    progress(Progress(None, f"{ref.filename}: asking the hub"))
    remote = resolve_remote(ref, token=token, endpoint=endpoint)
    existing = find_existing(remote.sha256, remote.size) if remote.sha256 and find_existing else None
    if existing is not None and remote.sha256:
        discard_partial(dest)  # bytes of a transfer that is no longer needed
        progress(Progress(1.0, f"{ref.filename}: already installed at {existing}"))
        return DownloadResult(ref, Path(existing), remote.size, remote.sha256, remote.commit,
                              already_installed=True)
    if dest.exists() and dest.stat().st_size == remote.size and remote.sha256:
        if hashing.model_sha256(dest, cancel=cancel) == remote.sha256:
            return DownloadResult(ref, dest, remote.size, remote.sha256, remote.commit, already_installed=True)
    part, sidecar = part_path(dest), sidecar_path(dest)
    offset = _resume_offset(remote, part, sidecar)
    need = remote.size - offset
    free = disk_free(dest.parent)
    if need + DISK_RESERVE > free:
        raise DiskFull(f"Not enough disk space for {ref.filename}: it needs {fmt_bytes(need)} more "
                       f"(+{fmt_bytes(DISK_RESERVE)} reserve) but {dest.parent} has {fmt_bytes(free)} free.",
                       "Free some space or choose another models folder.")
    sidecar.write_text(json.dumps({"version": 1, "ref": asdict(ref), "size": remote.size,
                                   "commit": remote.commit, "expected": remote.expected}), encoding="utf-8")
    part.touch()
    hasher = HashPipe(git_size=remote.size if remote.git_sha1 else None)
    stats = TransferStats(resumed_from=offset)
    reporter = _Reporter(ref, remote.size, offset, stats, progress)
    try:
        if offset:
            progress(Progress(offset / max(remote.size, 1), f"{ref.filename}: checking the {fmt_bytes(offset)} already here"))
            hasher.feed_file(part, offset, cancel)
        transfer(remote.url, part, remote.size, hasher, cancel=cancel, policy=policy,
                 auth_header=_auth_for(endpoint, token), hub_host=urlsplit(endpoint).netloc,
                 refresh_url=lambda: resolve_remote(ref, token=token, endpoint=endpoint).url,
                 on_bytes=reporter, stats=stats)
    finally:
        sha256, sha1 = hasher.finish()
    reporter.final()
    return _verify_and_install(remote, dest, part, sidecar, sha256, sha1, stats)


def _resume_offset(remote: RemoteFile, part: Path, sidecar: Path) -> int:
    """How many bytes of ``part`` can be kept; discards a part of another file."""
    try:
        state = json.loads(sidecar.read_text(encoding="utf-8"))
        same = state.get("expected") == remote.expected and state.get("size") == remote.size
    except (OSError, ValueError, AttributeError):
        same = False
    size = part.stat().st_size if part.exists() else 0
    if not same or size > remote.size:
        part.unlink(missing_ok=True)
        return 0
    return size


def _verify_and_install(remote, dest, part, sidecar, sha256, sha1, stats) -> DownloadResult:
    actual = sha256 if remote.sha256 else sha1
    if remote.expected and actual != remote.expected:
        part.unlink(missing_ok=True)
        sidecar.unlink(missing_ok=True)
        raise ChecksumMismatch(
            f"{remote.ref.filename} arrived corrupted (hash {actual[:12]}…, the hub says "
            f"{remote.expected[:12]}…); the bad file was deleted and nothing was installed.",
            "Download it again.")
    os.replace(part, dest)
    sidecar.unlink(missing_ok=True)
    hashing.remember_sha256(dest, sha256)
    return DownloadResult(remote.ref, dest, remote.size, sha256, remote.commit, stats.bytes_transferred,
                          stats.resumed_from, stats.attempts, restarts=list(stats.restarts))


def discard_partial(dest: Path) -> int:
    """Delete a download's part and sidecar (after a cancel); returns bytes freed."""
    part = part_path(dest)
    freed = part.stat().st_size if part.exists() else 0
    part.unlink(missing_ok=True)
    sidecar_path(dest).unlink(missing_ok=True)
    return freed


def _auth_for(endpoint: str, token: str | None):
    """Send the token to the hub's own host only, never to a CDN."""
    hub_host = urlsplit(endpoint).netloc

    def header(url: str) -> dict[str, str]:
        if token and urlsplit(url).netloc == hub_host:
            return {"Authorization": f"Bearer {token}"}
        return {}

    return header


class _Reporter:
    """Turns byte counts into throttled Progress reports with speed and ETA."""

    def __init__(self, ref: FileRef, total: int, offset: int, stats: TransferStats,
                 progress: ProgressCallback) -> None:
        self.ref, self.total, self.stats, self.progress = ref, total, stats, progress
        self.done = offset
        self.speed = 0.0
        self._window_start = time.monotonic()
        self._window_bytes = 0
        self._last = 0.0

    def __call__(self, done: int, delta: int) -> None:
        self.done = done
        self._window_bytes += delta
        now = time.monotonic()
        elapsed = now - self._window_start
        if elapsed >= 0.5:
            rate = self._window_bytes / elapsed
            self.speed = rate if self.speed == 0 else 0.7 * self.speed + 0.3 * rate
            self._window_start, self._window_bytes = now, 0
        if now - self._last >= PROGRESS_EVERY:
            self._last = now
            self._emit()

    def _emit(self) -> None:
        eta = (self.total - self.done) / self.speed if self.speed > 0 else None
        payload = DownloadProgress(self.ref.key, self.done, self.total, self.speed, eta,
                                   self.stats.bytes_transferred)
        self.progress(Progress(self.done / self.total if self.total else 1.0,
                               f"{self.ref.filename}: {fmt_bytes(self.done)} of {fmt_bytes(self.total)}",
                               self.done, self.total, payload))

    def final(self) -> None:
        self._emit()
