"""The app's API server: started, restarted and stopped from the settings, sharing the GUI's engines.

:class:`ServerController` owns at most one
:class:`~desktop.core.server.running.RunningServer` (uvicorn on its own thread)
built from the app's ``Services``, with a :class:`~desktop.ui.server.lane.RunnerLane`
so its requests go through the window's one engine queue.  The API key is
read from the OS keyring (:mod:`desktop.core.secrets`) when the server starts;
the settings file never holds it.  One :class:`RequestLog` lives as long as
the controller, so the log panel keeps the requests of earlier runs.

Lifecycle: ``apply(settings.server)`` after every settings change (it starts,
restarts or stops the server as the settings say, and returns a message
when the server could not start); ``stop()`` when the app quits.

Signals:
    state_changed(): the server started or stopped (``running``, ``address``, ``error``).
    logged(object): a request ended; its :class:`LogEntry` (re-emitted on the GUI thread
        from the server's thread).
"""

from __future__ import annotations

import logging
from dataclasses import asdict

from PySide6.QtCore import QObject, Signal

from desktop.core.errors import GenLabError
from desktop.core.secrets import API_SERVER_KEY, read_secret, save_secret
from desktop.core.server.log import RequestLog
from desktop.core.services import Services
from desktop.core.settings import ServerSettings
from desktop.ui.runner import JobRunner

log = logging.getLogger(__name__)

API_KEY_SECRET = API_SERVER_KEY  # `genlab serve` reads the same entry


def stored_api_key() -> str:
    return read_secret(API_KEY_SECRET)


def store_api_key(key: str) -> str:
    """Keep the server's key in the OS keyring ("" removes it); returns where it went."""
    return save_secret(API_KEY_SECRET, key)


class ServerController(QObject):
    state_changed = Signal()
    logged = Signal(object)

    def __init__(self, services: Services, runner: JobRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.runner = runner
        self.log = RequestLog()
        self.log.add_listener(self.logged.emit)  # from the server's thread: queued to the GUI's
        self.error = ""  # why the last start failed, in words
        self._server = None
        self._lane = None
        self._applied: tuple[dict, str] | None = None  # the settings and key the running server was built from

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def address(self) -> str:
        """host:port it listens on (the real port when 0 asked for a free one), or ""."""
        if self._server is None:
            return ""
        host = self._server.config.host
        return f"[{host}]:{self._server.port}" if ":" in host else f"{host}:{self._server.port}"

    @property
    def url(self) -> str:
        return self._server.url if self._server is not None else ""

    def apply(self, settings: ServerSettings) -> str:
        """Bring the server in line with ``settings``; returns "" or why it could not start."""
        wanted = (asdict(settings), stored_api_key())
        if not settings.enabled:
            had_error, self.error = bool(self.error), ""
            self.stop()
            if had_error:  # the indicator's warning goes with the toggle
                self.state_changed.emit()
            return ""
        if self.running and wanted == self._applied:
            return ""
        self.stop()
        try:
            self._start(settings, wanted[1])
        except GenLabError as exc:
            self.error = str(exc)
            self.state_changed.emit()
            return self.error
        self._applied = wanted
        return ""

    def _start(self, settings: ServerSettings, api_key: str) -> None:
        from desktop.core.server.config import ServerConfig
        from desktop.core.server.running import RunningServer
        from desktop.core.server.wiring import backend_for
        from desktop.ui.server.lane import RunnerLane

        config = ServerConfig(host=settings.host.strip(), port=settings.port, api_key=api_key,
                              allowed_origins=list(settings.allowed_origins),
                              switch_models=settings.switch_models).validated()
        lane = RunnerLane(self.runner, config.max_waiting, config.max_waiting_per_client)
        try:
            backend = backend_for(self.services, lane, switch_models=config.switch_models)
            self._server = RunningServer(config, backend, self.log, lane.queue).start()
        except BaseException:
            lane.close()
            self._server = None
            raise
        self._lane = lane
        self.error = ""
        log.info("API server listening on %s", self.address)
        self.state_changed.emit()

    def stop(self) -> None:
        """Stop listening, cancel the served jobs queued or running, and wait for the server's thread."""
        server, self._server, self._applied = self._server, None, None
        if server is None:
            return
        server.stop()  # closes the lane's queue: its tickets share their tokens with the runner's jobs
        self._lane = None
        log.info("API server stopped")
        self.state_changed.emit()
