"""Building a server from the app's shared objects: the one engine of each kind, the library, the history.

:class:`SharedObjects` is the part of ``Services`` a server needs, as a
protocol, so the server package never imports the composition root; the GUI
and ``genlab serve`` pass their ``Services``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from desktop.core.records import HistorySink
from desktop.core.server.backend import Backend
from desktop.core.server.config import ServerConfig
from desktop.core.server.log import RequestLog
from desktop.core.server.queue import EngineLane, EngineQueue
from desktop.core.server.running import RunningServer
from desktop.core.settings import Settings

if TYPE_CHECKING:
    from desktop.core.history.embedder import Embedder
    from desktop.core.history.store import HistoryStore
    from desktop.core.image.engine import ImageEngine
    from desktop.core.models.library import Library
    from desktop.core.text.engine import LoadOptions, TextEngine


class SharedObjects(Protocol):
    settings: Settings

    @property
    def text_engine(self) -> TextEngine: ...

    @property
    def image_engine(self) -> ImageEngine: ...

    @property
    def library(self) -> Library: ...

    @property
    def history(self) -> HistorySink: ...

    @property
    def opened_history_store(self) -> HistoryStore | None: ...


def backend_for(shared: SharedObjects, lane: EngineLane, *, switch_models: bool = True) -> Backend:
    def embedder() -> Embedder | None:
        store = shared.opened_history_store
        return store.embedder if store is not None else None

    def text_options() -> LoadOptions:
        from desktop.core.text.engine import LoadOptions

        text = shared.settings.text
        return LoadOptions(n_ctx=text.context_size, n_threads=text.threads, n_gpu_layers=text.n_gpu_layers)

    return Backend(text_engine=shared.text_engine, image_engine=shared.image_engine, library=shared.library,
                   history=lambda: shared.history, embedder=embedder, lane=lane, text_options=text_options,
                   switch_models=switch_models)


def headless_server(shared: SharedObjects, config: ServerConfig) -> RunningServer:
    """A server with its own engine queue (no GUI lane to share), not started yet."""
    config.validated()
    queue = EngineQueue(config.max_waiting, config.max_waiting_per_client)
    backend = backend_for(shared, queue, switch_models=config.switch_models)
    return RunningServer(config, backend, RequestLog(), queue)
