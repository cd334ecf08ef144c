"""Servers GenLab did not write, for the remote-engine tests: llama-cpp-python's own OpenAI server,
a port that accepts connections and never answers, and a closed port."""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx2

API_KEY = "test-key-1234"


@dataclass
class LlamaServer:
    url: str  # http://127.0.0.1:PORT/v1
    model: str  # the model id it lists (llama-cpp-python names it by the file's path)
    process: subprocess.Popen
    log: IO[bytes]

    @property
    def host(self) -> str:
        return self.url.split("//", 1)[1].split("/", 1)[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_llama_server(model: Path, *, api_key: str = API_KEY, timeout_s: float = 120) -> LlamaServer:
    """``python -m llama_cpp.server`` on 127.0.0.1 with ``model``, once it answers /v1/models."""
    port = free_port()
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
         "--port", str(port), "--n_threads", "1", "--n_ctx", "2048", "--api_key", api_key],
        stdout=subprocess.DEVNULL, stderr=log)  # a file: llama.cpp's loading log would fill a pipe and block it
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + timeout_s
    while True:  # wait until it serves: the readiness poll of a process we started, not a "nothing happened" check
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"llama_cpp.server exited: {log.read().decode(errors='replace')[-2000:]}")
        try:
            response = httpx2.get(f"{url}/models", headers={"Authorization": f"Bearer {api_key}"}, timeout=2)
            if response.status_code == 200:
                return LlamaServer(url, response.json()["data"][0]["id"], process, log)
        except httpx2.HTTPError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("llama_cpp.server did not start in time")
        time.sleep(0.2)


def stop(server: LlamaServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
    server.log.close()


class SilentServer:
    """A listening socket that accepts connections (the kernel's backlog does) and never answers."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/v1"

    def close(self) -> None:
        self.sock.close()


class StalledStream:
    """A server that answers a request with the headers of an event stream and then sends nothing
    (a server still reading a long prompt); ``connected`` is set once it has sent the headers."""

    def __init__(self) -> None:
        import threading

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/v1"
        self.connected = threading.Event()
        self._conn: socket.socket | None = None
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        self._conn = conn
        data = b""
        while b"\r\n\r\n" not in data:
            data += conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
        self.connected.set()

    def close(self) -> None:
        self._thread.join(30)
        if self._conn is not None:
            self._conn.close()
        self.sock.close()


def closed_port_url() -> str:
    return f"http://127.0.0.1:{free_port()}/v1"
