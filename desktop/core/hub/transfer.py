"""Resumable HTTP transfer of one file into a ``.part`` file.

The transfer appends to ``part`` from its current size with ``Range``
requests, so every byte that reached the disk is kept across network
errors, stalls, pauses and crashes.  Bytes are hashed as they arrive (in a
helper thread, hashlib releases the GIL) so verification costs no extra
pass over the file.

The receive path is the lean one: the socket is read with ``readinto1``
straight into a small pool of reusable buffers (no allocation or copy per
chunk in Python), each full buffer is written with one call and then handed
to the hash thread, which returns it to the pool.  The pool's size bounds
memory and applies back-pressure when hashing falls behind.  A buffer is
filled by several socket reads, so a read error keeps what already arrived.

Failure handling:

- a dropped or short connection resumes at once when it delivered bytes,
  otherwise after an exponential backoff (``RetryPolicy``); 429 and 5xx
  answers back off too, honouring ``Retry-After`` up to the cap; after
  ``max_failures`` attempts in a row that delivered nothing it raises
  :class:`RetriesExhausted` (the part is kept: a later try continues);
- no bytes for ``stall_seconds`` → the socket times out → reconnect;
- cancellation is noticed within ``cancel_poll`` seconds even while a read is
  blocked: a watchdog thread shuts the socket down.
"""

from __future__ import annotations

import errno
import hashlib
import http.client
import queue
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable
from urllib.parse import urljoin, urlsplit

from desktop.core.hub.access import TOKEN_HELP
from desktop.core.jobs import CancelToken, JobCancelled
from desktop.core.models.errors import DiskFull, DownloadError, RetriesExhausted, TokenRequired

READ_SIZE = 1024 * 1024  # one buffer: one write, one hash hand-over, one cancel check
FILL_SECONDS = 0.2  # a buffer is handed on after this long even when not full (slow links)
HASH_BUFFERS = 8  # buffers in flight between the receiver and the hash thread
USER_AGENT = "GenLab-downloader/1.0"
DISK_FULL_ERRNOS = {errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)}


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
    """Shuts the current socket down when the cancel token is set."""

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

    def _run(self) -> None:
        while not self._done.wait(self._poll):
            if self._cancel.cancelled:
                with self._lock:
                    if self._sock is not None:
                        try:
                            self._sock.shutdown(socket.SHUT_RDWR)
                        except OSError:
                            pass
                return

    def stop(self) -> None:
        self._done.set()


def _connect(url: str, timeout: float) -> tuple[http.client.HTTPConnection, str]:
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    if parts.scheme == "https":
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            parts.hostname, parts.port, timeout=timeout, context=ssl.create_default_context())
    elif parts.scheme == "http":
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    else:
        raise DownloadError(f"Unsupported download URL {url!r}.")
    return conn, target or "/"


def _retry_after(resp: http.client.HTTPResponse) -> float | None:
    try:
        return float(resp.getheader("Retry-After") or "")
    except ValueError:
        return None


def transfer(url: str, part: Path, size: int, hasher: HashPipe, *, cancel: CancelToken,
             policy: RetryPolicy, auth_header: Callable[[str], dict[str, str]], hub_host: str,
             refresh_url: Callable[[], str], on_bytes: Callable[[int, int], None],
             stats: TransferStats) -> None:
    """Fill ``part`` up to ``size`` bytes from ``url``; ``hasher`` must already hold the part's bytes."""
    failures = 0
    watchdog = _Watchdog(cancel, policy.cancel_poll)
    try:
        with open(part, "ab", buffering=0) as out:
            while out.tell() < size:
                cancel.raise_if_cancelled()
                stats.attempts += 1
                try:
                    _fetch_once(url, out, size, hasher, cancel, policy, auth_header, hub_host, watchdog, on_bytes,
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


def _fetch_once(url, out, size, hasher, cancel, policy, auth_header, hub_host, watchdog, on_bytes, stats) -> None:
    offset = out.tell()
    for _ in range(6):  # redirects
        conn, target = _connect(url, policy.connect_timeout)
        headers = {"Range": f"bytes={offset}-", "Accept-Encoding": "identity", "User-Agent": USER_AGENT}
        headers.update(auth_header(url))
        try:
            conn.request("GET", target, headers=headers)
            watchdog.watch(conn.sock)
            conn.sock.settimeout(policy.stall_seconds)
            resp = conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            if cancel.cancelled:
                raise JobCancelled() from None
            raise _Retry(f"connection failed: {exc or type(exc).__name__}") from None
        if resp.status in (301, 302, 303, 307, 308) and resp.getheader("Location"):
            url = urljoin(url, resp.getheader("Location"))
            resp.read()
            conn.close()
            continue
        break
    else:
        raise DownloadError(f"Too many redirects while downloading {url}.")
    try:
        if resp.status in (429,) or resp.status >= 500:
            raise _Retry(f"server answered {resp.status}", retry_after=_retry_after(resp))
        if resp.status in (401, 403):
            if urlsplit(url).netloc == hub_host:
                raise TokenRequired(f"The hub refused the download ({resp.status}).", TOKEN_HELP)
            # A CDN refusing a signed URL: it expired (long pause); ask the hub for a fresh one.
            raise _Retry(f"signed URL refused ({resp.status})", refresh=True)
        if resp.status == 416:
            if offset >= size:
                return
            raise DownloadError(f"The server refused to resume at byte {offset} of {size}.")
        if resp.status == 200 and offset > 0:
            # The server ignored Range: start over rather than mis-append.
            out.truncate(0)
            out.seek(0)
            hasher.reset()
            stats.restarts.append("server ignored Range; restarted")
            offset = 0
        elif resp.status == 206:
            content_range = resp.getheader("Content-Range", "")
            if not content_range.startswith(f"bytes {offset}-"):
                raise DownloadError(f"The server sent the wrong range ({content_range!r} for byte {offset}).")
        elif resp.status != 200:
            raise DownloadError(f"The server answered {resp.status} {resp.reason} for {url}.")
        _receive(resp, out, offset, size, hasher, cancel, on_bytes, stats)
    finally:
        watchdog.watch(None)
        conn.close()


def _fill(read_into, view: memoryview) -> tuple[int, BaseException | None, bool]:
    """Fill ``view`` from the response: (bytes read, the error that stopped it early or None, body ended).

    Several socket reads per buffer keep writes and hash hand-overs large; bytes
    read before an error are reported, not lost.  On a slow link the buffer is
    handed on after FILL_SECONDS even when not full, so progress (and the
    cancel check) comes several times a second, not once per megabyte.
    """
    got, want = 0, len(view)
    started = time.monotonic()
    try:
        while got < want:
            n = read_into(view[got:])
            if not n:
                return got, None, True
            got += n
            if time.monotonic() - started > FILL_SECONDS:
                break
    except (OSError, http.client.HTTPException) as exc:
        return got, exc, False
    return got, None, False


def _body_reader(resp: http.client.HTTPResponse):
    """``readinto``-style reader of the body, and how many bytes it holds (None: until close).

    With a Content-Length the socket's buffered reader is read directly with
    ``readinto1`` (one socket read, no copy, nothing lost on error); chunked
    bodies go through ``read1``, which undoes the framing.
    """
    if not resp.chunked and resp.fp is not None and hasattr(resp.fp, "readinto1"):
        return resp.fp.readinto1, resp.length

    def read_into(view: memoryview) -> int:
        data = resp.read1(len(view))
        view[:len(data)] = data
        return len(data)

    return read_into, None


def _receive(resp, out, pos: int, size: int, hasher: HashPipe, cancel: CancelToken,
             on_bytes: Callable[[int, int], None], stats: TransferStats) -> None:
    """Append the response body to ``out`` (at ``pos``) until ``size``; hash it as it goes."""
    read_into, left = _body_reader(resp)
    delivered = 0
    while True:
        buffer = hasher.borrow()
        want = len(buffer) if left is None else min(len(buffer), left)
        got, error, ended = _fill(read_into, memoryview(buffer)[:want]) if want else (0, None, True)
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
            if left is not None:
                left -= got
            stats.bytes_transferred += got
            on_bytes(pos, got)
        else:
            hasher.give_back(buffer)
        if error is not None:
            if cancel.cancelled:
                raise JobCancelled() from None
            kind = "stalled" if isinstance(error, socket.timeout) else "connection lost"
            raise _Retry(f"{kind} at byte {pos}", delivered=delivered) from None
        if ended or left == 0:  # end of this response's body
            if cancel.cancelled:
                raise JobCancelled()
            if pos < size:
                raise _Retry(f"connection closed at byte {pos}", delivered=delivered)
            return
        cancel.raise_if_cancelled()


def _write_all(out, view: memoryview, size: int) -> None:
    try:
        while view:  # raw writes may be short (a file-size limit, a nearly full disk)
            view = view[out.write(view):]
    except OSError as exc:
        if exc.errno in DISK_FULL_ERRNOS:
            raise DiskFull(f"The disk is full: wrote {out.tell()} of {size} bytes to {out.name}.",
                           "Free some space, then resume; the partial file is kept.") from None
        raise
