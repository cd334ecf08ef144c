"""A real forwarding HTTP proxy on 127.0.0.1 (plain ``http://`` targets; no CONNECT), for proxy tests.

A client configured with ``HTTP_PROXY=<proxy.url>`` sends each request in
absolute form (``GET http://host:port/path``); the proxy forwards it with
``http.client``, streams the answer back and records what it forwarded in
:attr:`ForwardingProxy.requests` as ``(method, host:port, path, range)``.
"""

from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "proxy-authorization", "te", "trailer",
              "transfer-encoding", "upgrade"}


class ForwardingProxy:
    def __init__(self) -> None:
        self.requests: list[tuple[str, str, str, str | None]] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="test-proxy", daemon=True)

    def __enter__(self) -> "ForwardingProxy":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def record(self, entry: tuple[str, str, str, str | None]) -> None:
        with self._lock:
            self.requests.append(entry)

    def paths(self) -> list[str]:
        with self._lock:
            return [path for _method, _host, path, _range in self.requests]


def _make_handler(proxy: ForwardingProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format, *args) -> None:  # noqa: A002 - silence the default stderr log
            pass

        def do_GET(self) -> None:
            self._forward()

        def do_HEAD(self) -> None:
            self._forward()

        def do_POST(self) -> None:
            self._forward()

        def _forward(self) -> None:
            target = urlsplit(self.path)
            if target.scheme != "http" or not target.hostname:
                self.send_error(400, "absolute http:// URL expected")
                return
            path = target.path + (f"?{target.query}" if target.query else "")
            proxy.record((self.command, target.netloc, target.path, self.headers.get("Range")))
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            upstream = http.client.HTTPConnection(target.hostname, target.port or 80, timeout=60)
            try:
                upstream.request(self.command, path, body=body, headers=headers)
                resp = upstream.getresponse()
                self.send_response(resp.status, resp.reason)
                for key, value in resp.getheaders():
                    if key.lower() not in HOP_BY_HOP:
                        self.send_header(key, value)
                if self.command == "HEAD":
                    self.end_headers()
                    return
                # The answer is streamed back as it comes, then this connection ends.
                self.send_header("Connection", "close")
                self.close_connection = True
                self.end_headers()
                while chunk := resp.read1(256 * 1024):
                    self.wfile.write(chunk)
            except OSError:
                self.close_connection = True
            finally:
                upstream.close()

    return Handler
