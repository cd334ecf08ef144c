"""A real GenLab server on 127.0.0.1 for the module: real engines, library, history and embedder.

``served`` starts one server per test module (the models load once, on the
first request for them) with SmolLM2-135M-Instruct and the tiny diffusers
pipeline in its library, the real all-MiniLM-L6-v2 embedder and a real
history store; ``client()`` is the official ``openai`` client with strict
response validation and no retries.  ``start_server`` builds more servers
(with a key, allowed origins, small queues) for the security tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from desktop.core.records import HistorySink, NullSink
from desktop.core.settings import Settings

SMOL = "SmolLM2-135M-Instruct.Q4_1.gguf"
TINY_SD = "tiny-sd"


@dataclass
class Shared:
    """The shared objects a server is built from (server.wiring.SharedObjects), made for one test module."""

    home: Path
    embedder: Any = None
    settings: Settings = field(default_factory=Settings)
    history_store: Any = None
    history_sink: HistorySink | None = None
    _text: Any = None
    _image: Any = None
    _library: Any = None

    @property
    def library(self):
        if self._library is None:
            from desktop.core.models.library import Library

            self._library = Library(index=self.home / "library.json", models_root=self.home / "models")
        return self._library

    @property
    def text_engine(self):
        if self._text is None:
            from desktop.core.text.engine import TextEngine

            self._text = TextEngine(library=self.library, safe_load=False)
        return self._text

    @property
    def image_engine(self):
        if self._image is None:
            from desktop.core.image.engine import ImageEngine

            self._image = ImageEngine(library=self.library)
        return self._image

    @property
    def history(self) -> HistorySink:
        if self.settings.history.incognito:
            return NullSink()
        return self.history_sink or self.history_store or NullSink()

    @property
    def opened_history_store(self):
        return self.history_store

    def close(self) -> None:
        for engine in (self._text, self._image):
            if engine is not None:
                engine.close()
        if self.history_store is not None:
            self.history_store.close()


def start_server(shared: Shared, **config: Any):
    from desktop.core.server.config import ServerConfig
    from desktop.core.server.wiring import headless_server

    return headless_server(shared, ServerConfig(port=0, **config)).start()


def openai_client(server, api_key: str = "no-key", **kw: Any):
    import openai

    kw.setdefault("_strict_response_validation", True)
    return openai.OpenAI(base_url=server.url, api_key=api_key, max_retries=0, timeout=120, **kw)


@pytest.fixture(scope="module")
def module_home(tmp_path_factory):
    """A data root for the module's server (the per-test GENLAB_HOME comes after module fixtures)."""
    home = tmp_path_factory.mktemp("server-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GENLAB_HOME", str(home))
        yield home


@pytest.fixture(scope="module")
def shared(module_home):
    s = Shared(module_home)
    yield s
    s.close()


@dataclass
class Served:
    server: Any
    shared: Shared

    def client(self, **kw: Any):
        return openai_client(self.server, **kw)

    @property
    def log(self):
        return self.server.log


@pytest.fixture(scope="module")
def served(shared, smollm2, embedder):
    """The module's server: SmolLM2 in the library, a real history with the real embedder."""
    from desktop.core.history.store import HistoryStore

    shared.embedder = embedder
    shared.history_store = HistoryStore(shared.home / "history", embedder=embedder, idle_seconds=3600)
    shared.library.add_path(smollm2, source="found", owned=False)
    server = start_server(shared)
    yield Served(server, shared)
    server.stop()
