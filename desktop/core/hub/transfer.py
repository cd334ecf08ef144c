"""Resumable HTTP transfer of one file into a ``.part`` file.

The transfer appends to ``part`` from its current size with ``Range``
requests, so every byte that reached the disk is kept across network
errors, stalls, pauses and crashes.  Bytes are hashed as they arrive (in a
helper thread, hashlib releases the GIL) so verification costs no extra
pass over the file.

HTTP goes through ``httpx2``, the client ``huggingface_hub`` itself uses,
built the way the hub's own client is: it honours ``HTTPS_PROXY``,
``HTTP_PROXY``, ``ALL_PROXY`` and ``NO_PROXY`` and uses the same
certificate store (``SSL_CERT_FILE``/``SSL_CERT_DIR`` when set, else the
system's), so a download works wherever the hub's metadata calls do.
Redirects are followed here, one hop at a time, so that a redirect from
``https`` to plain ``http`` is refused (:func:`redirect_target`).

The receive path is the lean one: each network read is copied once into a
small pool of reusable buffers, each full buffer is written with one call
and then handed to the hash thread, which returns it to the pool.  The
pool's size bounds memory and applies back-pressure when hashing falls
behind.  A buffer is filled by several network reads, so a read error keeps
what already arrived; a process killed mid-transfer loses at most what was
read and not yet written: :data:`MAX_UNWRITTEN` bytes.

Failure handling:

- a dropped or short connection resumes at once when it delivered bytes,
  otherwise after an exponential backoff (``RetryPolicy``); 429 and 5xx
  answers back off too, honouring ``Retry-After`` up to the cap; after
  ``max_failures`` attempts in a row that delivered nothing it raises
  :class:`RetriesExhausted` (the part is kept: a later try continues);
- no bytes for ``stall_seconds`` → the read times out → reconnect;
- a certificate that cannot be verified is not retried: it is a
  :class:`DownloadError` that says so;
- cancellation is noticed within ``cancel_poll`` seconds even while a read is
  blocked: a watchdog thread shuts the socket down.
"""

from __future__ import annotations

import errno
import hashlib
import queue
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterator
from urllib.parse import urljoin, urlsplit

import httpcore2
import httpx2

from desktop.core.hub.access import TOKEN_HELP
from desktop.core.jobs import CancelToken, JobCancelled
from desktop.core.models.errors import DiskFull, DownloadError, RetriesExhausted, TokenRequired

READ_SIZE = 1024 * 1024  # one buffer: one write, one hash hand-over, one cancel check
NETWORK_READ = READ_SIZE  # the most httpx2 (httpcore2) takes from the socket at once, see below
# Read from the network but not yet on disk, at most: the buffer being filled
# and the rest of the network read that overflowed it.
MAX_UNWRITTEN = READ_SIZE + NETWORK_READ
REDIRECTS = (301, 302, 303, 307, 308)
MAX_REDIRECTS = 6
FILL_SECONDS = 0.2  # a buffer is handed on after this long even when not full (slow links)
HASH_BUFFERS = 8  # buffers in flight between the receiver and the hash thread
USER_AGENT = "GenLab-downloader/1.0"
DISK_FULL_ERRNOS = {errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)}

# httpcore2 reads at most READ_NUM_BYTES (64 KiB) per socket read; above about
# 400 MB/s the per-read work (h11 parsing, one bytes object per read) then
# costs GenLab more than the hashing does.  httpx2 has no per-client option for
# it, so the public class attribute is raised for the whole process (the hub's
# own httpx2 client reads up to 1 MiB at once too; a smaller answer still comes
# in one read).  Over TLS a read returns one record (16 KiB) whatever the size
# asked for, so this only speeds up plain-http transfers (loopback, mirrors).
httpcore2.HTTP11Connection.READ_NUM_BYTES = NETWORK_READ


@dataclass
class RetryPolicy:
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_failures: int = 10  # consecutive attempts that delivered nothing
    stall_seconds: float = 30.0
    connect_timeout: float = 15.0
    cancel_poll: float = 0.1


@dataclass
class TransferStats:
    bytes_transferred: int = 0  # body bytes received over the network in this run
    attempts: int = 0
    resumed_from: int = 0
    restarts: list[str] = field(default_factory=list)


class _Retry(Exception):
    def __init__(self, reason: str, delivered: int = 0, retry_after: float | None = None,
                 refresh: bool = False) -> None:
        super().__init__(reason)
        self.reason, self.delivered, self.retry_after, self.refresh = reason, delivered, retry_after, refresh


class HashPipe:
    """sha256 (and optionally git blob sha1) computed by a helper thread.

    Lifecycle: the receiver :meth:`borrow` s a buffer, fills and writes it,
    then :meth:`submit` s it (or :meth:`give_back` s it unused); the hash
    thread hashes it and puts it back in the pool.  :meth:`finish` waits for
    the queue to drain and returns the digests; :meth:`reset` starts over.
    """

    def __init__(self, git_size: int | None = None, buffer_size: int = READ_SIZE,
                 buffers: int = HASH_BUFFERS) -> None:
        self._git_size, self._buffer_size, self._buffers = git_size, buffer_size, buffers
        self.sha256 = hashlib.sha256()
        self.sha1 = hashlib.sha1(b"blob %d\0" % git_size) if git_size is not None else None
        self._free: "queue.SimpleQueue[bytearray]" = queue.SimpleQueue()
        for _ in range(buffers):
            self._free.put(bytearray(buffer_size))
        self._full: "queue.SimpleQueue[tuple[bytes | bytearray, int] | None]" = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="genlab-hash", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        sha256, sha1, free = self.sha256, self.sha1, self._free
        while (item := self._full.get()) is not None:
            data, length = item
            view = memoryview(data)[:length]
            sha256.update(view)
            if sha1 is not None:
                sha1.update(view)
            view.release()
            if type(data) is bytearray and len(data) == self._buffer_size:
                free.put(data)

    def borrow(self) -> bytearray:
        """A pool buffer to fill; blocks while all are queued for hashing (back-pressure)."""
        return self._free.get()

    def give_back(self, buffer: bytearray) -> None:
        self._free.put(buffer)

    def submit(self, buffer: bytearray, length: int) -> None:
        """Hash ``buffer[:length]``; the buffer returns to the pool afterwards."""
        self._full.put((buffer, length))

    def update(self, chunk: bytes) -> None:
        self._full.put((chunk, len(chunk)))

    def feed_file(self, path: Path, length: int, cancel: CancelToken) -> None:
        """Hash the first ``length`` bytes already on disk (when resuming)."""
        with open(path, "rb", buffering=0) as fh:
            left = length
            while left > 0:
                cancel.raise_if_cancelled()
                buffer = self.borrow()
                got = fh.readinto(memoryview(buffer)[:min(len(buffer), left)])
                if not got:
                    self.give_back(buffer)
                    break
                self.submit(buffer, got)
                left -= got

    def reset(self) -> None:
        """Forget everything hashed so far (the transfer restarts at byte 0)."""
        self.finish()
        self.__init__(self._git_size, self._buffer_size, self._buffers)  # type: ignore[misc]

    def finish(self) -> tuple[str, str | None]:
        self._full.put(None)
        self._thread.join()
        return self.sha256.hexdigest(), (self.sha1.hexdigest() if self.sha1 else None)


class _Watchdog:
    """Shuts the current socket down when the cancel token is set, so a blocked read returns at once."""

    def __init__(self, cancel: CancelToken, poll: float) -> None:
        self._cancel, self._poll = cancel, poll
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="genlab-dl-watchdog", daemon=True)
        self._thread.start()

    def watch(self, sock: socket.socket | None) -> None:
        with self._lock:
            self._sock = sock
        if sock is not None and self._cancel.cancelled:
            self._shut()

    def trace(self, event: str, info: dict[str, Any]) -> None:
        """httpcore2's ``trace`` hook: learn each new connection's socket as soon as it is open."""
        if event in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            stream = info.get("return_value")
            sock = stream.get_extra_info("socket") if stream is not None else None
            if isinstance(sock, socket.socket):
                self.watch(sock)

    def _shut(self) -> None:
        with self._lock:
            if self._sock is not None:
                try:
                    self._sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def _run(self) -> None:
        while not self._done.wait(self._poll):
            if self._cancel.cancelled:
                self._shut()
                return

    def stop(self) -> None:
        self._done.set()


def http_client(policy: RetryPolicy) -> httpx2.Client:
    """A client configured like huggingface_hub's own (environment proxies, its certificate store).

    Redirects are followed by :func:`_fetch_once`, which checks each hop; no
    connection is kept alive, so every request's socket is a new one the
    watchdog learns about.
    """
    timeout = httpx2.Timeout(connect=policy.connect_timeout, read=policy.stall_seconds,
                             write=policy.stall_seconds, pool=policy.connect_timeout)
    return httpx2.Client(trust_env=True, follow_redirects=False, timeout=timeout,
                         limits=httpx2.Limits(max_keepalive_connections=0),
                         headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"})


def redirect_target(url: str, location: str) -> str:
    """Where a redirect from ``url`` to ``location`` leads; refuses leaving https for anything else."""
    target = urljoin(url, location)
    scheme = urlsplit(target).scheme
    if urlsplit(url).scheme == "https" and scheme != "https":
        raise DownloadError(f"The download was redirected from {_origin(url)} to {_origin(target)}, which is not "
                            "encrypted; GenLab does not fetch model files that way.",
                            "Check HF_ENDPOINT and any proxy between GenLab and the hub; the partial file is "
                            "kept.")
    if scheme not in ("http", "https"):
        raise DownloadError(f"The download was redirected to an unsupported address {target!r}.")
    return target


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _retry_after(resp: httpx2.Response) -> float | None:
    try:
        return float(resp.headers.get("Retry-After") or "")
    except ValueError:
        return None


def _certificate_error(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def transfer(url: str, part: Path, size: int, hasher: HashPipe, *, cancel: CancelToken,
             policy: RetryPolicy, auth_header: Callable[[str], dict[str, str]], hub_host: str,
             refresh_url: Callable[[], str], on_bytes: Callable[[int, int], None],
             stats: TransferStats) -> None:
    """Fill ``part`` up to ``size`` bytes from ``url``; ``hasher`` must already hold the part's bytes."""
    failures = 0
    watchdog = _Watchdog(cancel, policy.cancel_poll)
    try:
        with http_client(policy) as client, open(part, "ab", buffering=0) as out:
            while out.tell() < size:
                cancel.raise_if_cancelled()
                stats.attempts += 1
                try:
                    _fetch_once(client, url, out, size, hasher, cancel, auth_header, hub_host, watchdog, on_bytes,
                                stats)
                    failures = 0
                except _Retry as exc:
                    cancel.raise_if_cancelled()
                    stats.restarts.append(exc.reason)
                    if exc.refresh:
                        url = refresh_url()
                    if exc.delivered > 0:
                        failures = 0
                        continue  # the connection was useful: resume at once
                    failures += 1
                    if failures > policy.max_failures:
                        raise RetriesExhausted(f"The download stopped after {failures} attempts: {exc.reason}.",
                                               "Check the connection; the partial file is kept and the "
                                               "download continues where it stopped when the hub can be "
                                               "reached again (in the app on its own, on the command line "
                                               "with `genlab models download --resume`).") from None
                    delay = min(policy.max_delay, policy.base_delay * 2 ** (failures - 1))
                    if exc.retry_after is not None:
                        delay = min(policy.max_delay, max(delay, exc.retry_after))
                    if cancel.wait(delay):
                        raise JobCancelled() from None
    finally:
        watchdog.stop()


def _fetch_once(client: httpx2.Client, url: str, out: BinaryIO, size: int, hasher: HashPipe, cancel: CancelToken,
                auth_header: Callable[[str], dict[str, str]], hub_host: str, watchdog: _Watchdog,
                on_bytes: Callable[[int, int], None], stats: TransferStats) -> None:
    offset = out.tell()
    for _ in range(MAX_REDIRECTS):
        headers = {"Range": f"bytes={offset}-", **auth_header(url)}
        request = client.build_request("GET", url, headers=headers, extensions={"trace": watchdog.trace})
        try:
            resp = client.send(request, stream=True)
        except httpx2.TransportError as exc:
            watchdog.watch(None)
            if cancel.cancelled:
                raise JobCancelled() from None
            if (bad := _certificate_error(exc)) is not None:
                raise DownloadError(f"The certificate of {urlsplit(url).hostname} could not be verified "
                                    f"({bad.verify_message or bad}).",
                                    "If a proxy or company network inspects encrypted connections, point "
                                    "SSL_CERT_FILE at its certificate bundle.") from None
            raise _Retry(f"connection failed: {exc or type(exc).__name__}") from None
        location = resp.headers.get("Location")
        if resp.status_code in REDIRECTS and location:
            resp.close()
            watchdog.watch(None)
            url = redirect_target(url, location)
            continue
        break
    else:
        raise DownloadError(f"Too many redirects while downloading {url}.")
    try:
        status = resp.status_code
        if status == 429 or status >= 500:
            raise _Retry(f"server answered {status}", retry_after=_retry_after(resp))
        if status in (401, 403):
            if urlsplit(url).netloc == hub_host:
                raise TokenRequired(f"The hub refused the download ({status}).", TOKEN_HELP)
            # A CDN refusing a signed URL: it expired (long pause); ask the hub for a fresh one.
            raise _Retry(f"signed URL refused ({status})", refresh=True)
        if status == 416:
            if offset >= size:
                return
            raise DownloadError(f"The server refused to resume at byte {offset} of {size}.")
        if status == 200 and offset > 0:
            # The server ignored Range: start over rather than mis-append.
            out.truncate(0)
            out.seek(0)
            hasher.reset()
            stats.restarts.append("server ignored Range; restarted")
            offset = 0
        elif status == 206:
            content_range = resp.headers.get("Content-Range", "")
            if not content_range.startswith(f"bytes {offset}-"):
                raise DownloadError(f"The server sent the wrong range ({content_range!r} for byte {offset}).")
        elif status != 200:
            raise DownloadError(f"The server answered {status} {resp.reason_phrase} for {url}.")
        _receive(_BodyReader(resp.iter_raw()), out, offset, size, hasher, cancel, on_bytes, stats)
    finally:
        watchdog.watch(None)
        resp.close()


class _BodyReader:
    """``readinto`` over the body's network reads: each read is copied once, straight into the caller's buffer."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._left = memoryview(b"")

    def readinto(self, view: memoryview) -> int:
        """Bytes copied into ``view`` (0: the body ended); a transport error is raised as it comes."""
        while not self._left:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._left = memoryview(chunk)
        n = min(len(view), len(self._left))
        view[:n] = self._left[:n]
        self._left = self._left[n:]
        return n


def _fill(reader: _BodyReader, view: memoryview) -> tuple[int, BaseException | None, bool]:
    """Fill ``view`` from the response: (bytes read, the error that stopped it early or None, body ended).

    Several network reads per buffer keep writes and hash hand-overs large; bytes
    read before an error are reported, not lost.  On a slow link the buffer is
    handed on after FILL_SECONDS even when not full, so progress (and the
    cancel check) comes several times a second, not once per megabyte.
    """
    got, want = 0, len(view)
    started = time.monotonic()
    try:
        while got < want:
            n = reader.readinto(view[got:])
            if not n:
                return got, None, True
            got += n
            if time.monotonic() - started > FILL_SECONDS:
                break
    except (OSError, httpx2.TransportError) as exc:
        return got, exc, False
    return got, None, False


def _receive(reader: _BodyReader, out: BinaryIO, pos: int, size: int, hasher: HashPipe, cancel: CancelToken,
             on_bytes: Callable[[int, int], None], stats: TransferStats) -> None:
    """Append the response body to ``out`` (at ``pos``) until ``size``; hash it as it goes.

    Each filled buffer is written at once (``out`` is unbuffered), before the
    next network read: what a kill can lose is the buffer being filled.
    """
    delivered = 0
    while True:
        buffer = hasher.borrow()
        got, error, ended = _fill(reader, memoryview(buffer))
        if pos + got > size:
            hasher.give_back(buffer)
            raise DownloadError(f"The server sent more than the expected {size} bytes.")
        if got:
            try:
                _write_all(out, memoryview(buffer)[:got], size)
            except BaseException:
                hasher.give_back(buffer)
                raise
            hasher.submit(buffer, got)
            pos += got
            delivered += got
            stats.bytes_transferred += got
            on_bytes(pos, got)
        else:
            hasher.give_back(buffer)
        if error is not None:
            if cancel.cancelled:
                raise JobCancelled() from None
            kind = "stalled" if isinstance(error, (socket.timeout, httpx2.TimeoutException)) else "connection lost"
            raise _Retry(f"{kind} at byte {pos}", delivered=delivered) from None
        if ended:  # end of this response's body
            if cancel.cancelled:
                raise JobCancelled()
            if pos < size:
                raise _Retry(f"connection closed at byte {pos}", delivered=delivered)
            return
        cancel.raise_if_cancelled()


def _write_all(out: BinaryIO, view: memoryview, size: int) -> None:
    try:
        while view:  # raw writes may be short (a file-size limit, a nearly full disk)
            view = view[out.write(view):]
    except OSError as exc:
        if exc.errno in DISK_FULL_ERRNOS:
            raise DiskFull(f"The disk is full: wrote {out.tell()} of {size} bytes to {out.name}.",
                           "Free some space, then resume; the partial file is kept.") from None
        raise
