"""The fast receive path of the transfer: pooled buffers, several socket reads per
buffer, bodies with and without Content-Length, and nothing lost on errors."""

from __future__ import annotations

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from desktop.core.hub.download import FileRef, download_file
from desktop.core.hub.transfer import HashPipe, RetryPolicy, TransferStats, transfer
from desktop.core.jobs import CancelToken
from desktop.core.models.errors import DownloadError
from tests.support.hub_server import CHUNK, gguf_file_bytes

MB = 1024 * 1024
QUICK_STALL = RetryPolicy(base_delay=0.02, max_delay=0.2, stall_seconds=0.5)
REPO = "genlab-test/tiny-GGUF"
FILE = "tiny-Q4_K_M.gguf"
BODY = bytes(range(256)) * 1500 + b"tail"  # 384 004 bytes: not a multiple of any buffer size


class _BodyHandler(BaseHTTPRequestHandler):
    """``/length``: Content-Length; ``/close``: no length, ends by closing; ``/chunked``: chunked
    transfer encoding in odd-sized chunks; ``/too-long``: more bytes than the file has."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = BODY + b"extra" if self.path == "/too-long" else BODY
        self.send_response(200)
        if self.path == "/chunked":
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for start in range(0, len(body), 7777):
                piece = body[start:start + 7777]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
        elif self.path == "/close":
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)
            self.close_connection = True
        else:
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def body_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _BodyHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _transfer(url: str, part, hasher: HashPipe) -> TransferStats:
    stats = TransferStats()
    transfer(url, part, len(BODY), hasher, cancel=CancelToken(), policy=QUICK_STALL,
             auth_header=lambda _url: {}, hub_host="127.0.0.1:1", refresh_url=lambda: url,
             on_bytes=lambda done, delta: None, stats=stats)
    return stats


@pytest.mark.slow
@pytest.mark.parametrize("path", ["/length", "/close", "/chunked"])
def test_every_body_framing_arrives_whole_through_a_small_reused_pool(body_server, tmp_path, path):
    part = tmp_path / "f.part"
    hasher = HashPipe(buffer_size=16 * 1024, buffers=2)  # ~24 fills: every buffer is reused many times
    stats = _transfer(body_server + path, part, hasher)
    sha256, _ = hasher.finish()
    assert part.read_bytes() == BODY
    assert sha256 == hashlib.sha256(BODY).hexdigest()
    assert stats.bytes_transferred == len(BODY)
    assert stats.restarts == []


@pytest.mark.slow
def test_a_server_sending_more_than_the_file_is_refused(body_server, tmp_path):
    part = tmp_path / "f.part"
    hasher = HashPipe(buffer_size=64 * 1024, buffers=2)
    with pytest.raises(DownloadError, match="more than the expected"):
        _transfer(body_server + "/too-long", part, hasher)
    hasher.finish()
    assert part.stat().st_size <= len(BODY)


@pytest.mark.slow
def test_bytes_received_before_a_stall_inside_a_buffer_are_kept(hub, tmp_path):
    payload = gguf_file_bytes(3 * MB + 5, 3)
    hub.add_repo(REPO, {FILE: payload}, tags=["gguf"], library_name="gguf")
    stall_at = MB + MB // 2 + 4097  # half way into the second 1 MiB buffer
    hub.faults.stall_at, hub.faults.stall_seconds = stall_at, 30.0
    result = download_file(FileRef(REPO, FILE), tmp_path / FILE, policy=QUICK_STALL)
    assert (tmp_path / FILE).read_bytes() == payload
    assert any("stalled" in r for r in result.restarts)
    sent_before_stall = stall_at // CHUNK * CHUNK  # the server stalls before the chunk holding stall_at
    assert hub.stats.ranges[-1] == f"bytes={sent_before_stall}-"  # resumed where the bytes stopped
    assert result.bytes_transferred == len(payload)  # nothing received was thrown away


def test_hash_pipe_matches_hashlib_for_resumed_and_live_bytes(tmp_path):
    data = gguf_file_bytes(200_003, 5)
    on_disk = tmp_path / "part"
    on_disk.write_bytes(data[:70_001])
    hasher = HashPipe(git_size=len(data), buffer_size=4096, buffers=3)
    hasher.feed_file(on_disk, 70_001, CancelToken())
    view = memoryview(data)
    for start in range(70_001, len(data), 5000):
        buffer = hasher.borrow()
        piece = view[start:start + min(5000, len(buffer))]
        buffer[:len(piece)] = piece
        hasher.submit(buffer, len(piece))
        if len(piece) < 5000:
            hasher.update(bytes(view[start + len(piece):start + 5000]))
    sha256, sha1 = hasher.finish()
    assert sha256 == hashlib.sha256(data).hexdigest()
    assert sha1 == hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def test_hash_pipe_reset_forgets_earlier_bytes():
    hasher = HashPipe(buffer_size=4096, buffers=2)
    hasher.update(b"stale bytes from a server that ignored Range")
    hasher.reset()
    buffer = hasher.borrow()
    buffer[:5] = b"fresh"
    hasher.submit(buffer, 5)
    sha256, sha1 = hasher.finish()
    assert sha256 == hashlib.sha256(b"fresh").hexdigest()
    assert sha1 is None
