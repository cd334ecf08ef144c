"""Running the server: uvicorn in a thread (the GUI, tests) or in the foreground (``genlab serve``).

:class:`RunningServer` owns one ``uvicorn.Server`` on its own thread and
event loop.  ``start()`` returns once the socket listens (its ``port`` is the
real one when 0 asked for a free port) or raises what stopped it; ``stop()``
asks uvicorn to finish, cancels the queued and running engine jobs, and joins.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from desktop.core.errors import GenLabError
from desktop.core.server.app import build_app
from desktop.core.server.backend import Backend
from desktop.core.server.config import ServerConfig
from desktop.core.server.log import RequestLog
from desktop.core.server.queue import EngineQueue


class ServerError(GenLabError):
    """The server could not start (the port is taken, the address is not this machine's...)."""


@dataclass
class RunningServer:
    config: ServerConfig
    backend: Backend
    log: RequestLog
    queue: EngineQueue | None = None  # closed on stop when the server owns it

    def __post_init__(self) -> None:
        import uvicorn

        app = build_app(self.backend, self.config.validated(), self.log)
        # log_config=None: GenLab's own logging setup stays in charge; no access log (it would hold paths).
        # h11 named, not found by name at run time, so a frozen app needs no hidden imports for it; its
        # ASGI spec version (2.3) makes Starlette watch for a client's disconnect while streaming.
        from uvicorn.protocols.http.h11_impl import H11Protocol

        self._uvicorn = uvicorn.Server(uvicorn.Config(app, host=self.config.host, port=self.config.port,
                                                      http=H11Protocol, ws="none", log_config=None,
                                                      access_log=False, lifespan="off",
                                                      timeout_graceful_shutdown=5))
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    @property
    def port(self) -> int:
        servers = getattr(self._uvicorn, "servers", [])
        for server in servers:
            for sock in server.sockets:
                return int(sock.getsockname()[1])
        return self.config.port

    @property
    def url(self) -> str:
        host = f"[{self.config.host}]" if ":" in self.config.host else self.config.host
        return f"http://{host}:{self.port}/v1"

    def start(self, timeout: float = 30.0) -> "RunningServer":
        self._thread = threading.Thread(target=self._run, name="genlab-api-server", daemon=True)
        self._thread.start()
        while not self._uvicorn.started:
            self._thread.join(0.02)
            if not self._thread.is_alive():
                raise ServerError(f"The server could not listen on {self.config.host}:{self.config.port}"
                                  f"{f' ({self._error})' if self._error else ''}.",
                                  "Choose another port with --port, or stop what uses this one.")
            timeout -= 0.02
            if timeout <= 0:
                raise ServerError("The server did not start in time.")
        return self

    def _run(self) -> None:
        try:
            self._uvicorn.run()
        except BaseException as exc:  # SystemExit when the port is taken: reported by start()
            self._error = exc

    def serve_forever(self) -> None:
        """Run in this thread until interrupted (Ctrl-C)."""
        try:
            self._uvicorn.run()
        finally:
            if self.queue is not None:
                self.queue.close()

    def stop(self, timeout: float = 10.0) -> None:
        self._uvicorn.should_exit = True
        if self.queue is not None:
            self.queue.close()
        if self._thread is not None:
            self._thread.join(timeout)
        self.backend.close()
