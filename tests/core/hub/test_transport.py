"""The download transport's network behaviour: proxies from the environment, redirects and certificates.

Real servers on 127.0.0.1: the loopback hub, a forwarding proxy, and an
https server whose certificate comes from a test CA (``trustme``).
"""

from __future__ import annotations

import hashlib
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from desktop.core.hub.access import connect_target, hub_reachable
from desktop.core.hub.download import FileRef, download_file
from desktop.core.hub.transfer import HashPipe, RetryPolicy, TransferStats, redirect_target, transfer
from desktop.core.jobs import CancelToken
from desktop.core.models.errors import DownloadError
from tests.support.http_proxy import ForwardingProxy
from tests.support.hub_server import gguf_file_bytes

MB = 1024 * 1024
FAST = RetryPolicy(base_delay=0.02, max_delay=0.2, stall_seconds=5.0)
REPO, FILE = "genlab-test/proxy-GGUF", "proxy-Q4_0.gguf"
BODY = bytes(range(256)) * 800
PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture
def proxy(monkeypatch):
    """A forwarding proxy set as HTTP_PROXY (nothing else from the machine's proxy settings)."""
    import huggingface_hub

    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    with ForwardingProxy() as server:
        monkeypatch.setenv("HTTP_PROXY", server.url)
        huggingface_hub.close_session()  # the hub's client reads the proxy settings when it is made
        yield server
        huggingface_hub.close_session()  # and must not keep this test's proxy for the next test


def test_a_download_goes_through_the_proxy_the_environment_names(hub, proxy, tmp_path):
    data = gguf_file_bytes(3 * MB, seed=8)
    hub.add_repo(REPO, {FILE: data})
    result = download_file(FileRef(REPO, FILE), tmp_path / FILE, policy=FAST)
    assert (tmp_path / FILE).read_bytes() == data and result.sha256 == hashlib.sha256(data).hexdigest()
    cdn = f"/cdn/{hashlib.sha256(data).hexdigest()}"
    port = hub.url.rsplit(":", 1)[1]
    assert ("GET", f"localhost:{port}", cdn, "bytes=0-") in proxy.requests  # the bytes came through it
    assert connect_target(hub.url) == ("127.0.0.1", int(proxy.url.rsplit(":", 1)[1]))
    assert hub_reachable(url=hub.url)


def test_no_proxy_hosts_are_fetched_directly(hub, proxy, tmp_path, monkeypatch):
    monkeypatch.setenv("NO_PROXY", "localhost")  # the hub's CDN host
    data = gguf_file_bytes(2 * MB, seed=9)
    hub.add_repo(REPO, {FILE: data})
    download_file(FileRef(REPO, FILE), tmp_path / FILE, policy=FAST)
    assert (tmp_path / FILE).read_bytes() == data
    assert not [path for path in proxy.paths() if path.startswith("/cdn/")]
    assert connect_target(hub.cdn_url) == ("localhost", int(hub.url.rsplit(":", 1)[1]))


def test_a_proxy_that_is_down_makes_the_hub_unreachable(hub, monkeypatch):
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    with ForwardingProxy() as gone:
        dead = gone.url
    monkeypatch.setenv("HTTP_PROXY", dead)
    assert not hub_reachable(timeout=1.0, url=hub.url)  # the hub answers, but GenLab must go through the proxy
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert hub_reachable(timeout=1.0, url=hub.url)


@pytest.mark.parametrize("location, refused", [
    ("http://cdn.example/file", True),
    ("//cdn.example/file", False),  # scheme-relative: stays on https
    ("/elsewhere/file", False),
    ("ftp://cdn.example/file", True),
])
def test_the_redirect_policy_never_leaves_https(location, refused):
    if refused:
        with pytest.raises(DownloadError, match="redirected"):
            redirect_target("https://huggingface.co/repo/resolve/main/f.gguf", location)
    else:
        assert redirect_target("https://huggingface.co/repo/resolve/main/f.gguf", location).startswith("https://")
    assert redirect_target("http://127.0.0.1:1/f", "http://localhost:2/g") == "http://localhost:2/g"


class _Handler(BaseHTTPRequestHandler):
    """``/file``: BODY; ``/to-http``: a 302 to ``server.plain_url``."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        if self.path == "/to-http":
            self.send_response(302)
            self.send_header("Location", self.server.plain_url)  # type: ignore[attr-defined]
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def https_server(tmp_path):
    """An https server on 127.0.0.1 with a certificate from a test CA; yields (url, the CA's pem file)."""
    trustme = pytest.importorskip("trustme", reason="the dev extra installs it")
    ca = trustme.CA()
    ca_file = tmp_path / "test-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.plain_url = "http://127.0.0.1:9/file"  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield f"https://127.0.0.1:{server.server_address[1]}", ca_file
    server.shutdown()
    server.server_close()


def _fetch(url: str, part: Path) -> str:
    hasher = HashPipe(buffer_size=64 * 1024, buffers=2)
    try:
        transfer(url, part, len(BODY), hasher, cancel=CancelToken(), policy=FAST, auth_header=lambda _url: {},
                 hub_host="127.0.0.1:1", refresh_url=lambda: url, on_bytes=lambda done, delta: None,
                 stats=TransferStats())
    finally:
        sha256, _ = hasher.finish()
    return sha256


def test_https_uses_the_certificate_store_the_hub_calls_use(https_server, tmp_path, monkeypatch):
    url, ca_file = https_server
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))  # honoured by huggingface_hub's client too
    assert _fetch(url + "/file", tmp_path / "f.part") == hashlib.sha256(BODY).hexdigest()


def test_a_certificate_that_cannot_be_verified_is_a_clear_error_not_a_retry(https_server, tmp_path, monkeypatch):
    url, _ca_file = https_server
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    with pytest.raises(DownloadError, match="certificate of 127.0.0.1 could not be verified") as info:
        _fetch(url + "/file", tmp_path / "f.part")
    assert "SSL_CERT_FILE" in info.value.hint


def test_a_redirect_from_https_to_http_is_refused(https_server, tmp_path, monkeypatch):
    url, ca_file = https_server
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    part = tmp_path / "f.part"
    with pytest.raises(DownloadError, match=r"redirected from https://127\.0\.0\.1:\d+ to http://127\.0\.0\.1:9"):
        _fetch(url + "/to-http", part)
    assert part.stat().st_size == 0


def test_plain_http_bodies_are_read_up_to_a_buffer_at_a_time():
    """httpcore2 takes 64 KiB per socket read unless its public class attribute says otherwise; the
    transfer raises it so a fast plain-http link is not held back by per-read work.  This fails loudly
    if httpcore2 stops reading that attribute on every read or builds its HTTP/1.1 connections from
    another class."""
    import inspect

    import httpcore2
    from httpcore2._sync import connection, http11

    from desktop.core.hub.transfer import MAX_UNWRITTEN, NETWORK_READ, READ_SIZE

    assert connection.HTTP11Connection is http11.HTTP11Connection is httpcore2.HTTP11Connection
    assert "self._network_stream.read(self.READ_NUM_BYTES" in inspect.getsource(http11.HTTP11Connection._receive_event)
    assert httpcore2.HTTP11Connection.READ_NUM_BYTES == NETWORK_READ == READ_SIZE
    assert MAX_UNWRITTEN == READ_SIZE + NETWORK_READ  # what a kill can lose (test_download_faults)
