"""The text engine slot with remote models in it: a local GGUF through llama.cpp, or a remote server's model.

:class:`EngineSlot` is a :class:`~desktop.core.text.engine.TextEngine`
(Chat, the experiments, the arena and the API server use it as one) that
also takes ``remote:<source>/<model>`` references (:mod:`desktop.core.models.remote`):
loading one frees the local model, loading a file forgets the remote one,
so the slot holds one model at a time as before, and ``generate`` goes to
whichever holds it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from desktop.core.jobs import CancelToken, ProgressCallback, no_progress
from desktop.core.models.remote import RemoteSources, is_remote_ref
from desktop.core.records import HistorySink
from desktop.core.text.engine import LoadedModel, LoadOptions, TextEngine, TextResult
from desktop.core.text.prompt import PromptPlan, TextRequest
from desktop.core.text.remote import RemoteTextEngine
from desktop.core.text.remote_client import DEFAULT_TIMEOUTS, Timeouts


class EngineSlot(TextEngine):
    """A TextEngine that also runs remote models (see the module docstring)."""

    def __init__(self, history: Any = None, *args: Any, sources: RemoteSources | None = None,
                 timeouts: Timeouts = DEFAULT_TIMEOUTS, **kwargs: Any) -> None:
        super().__init__(history, *args, **kwargs)
        self.remote = RemoteTextEngine(history, sources=sources, timeouts=timeouts)

    @property
    def loaded(self) -> LoadedModel | None:
        return self.remote.loaded or self._loaded

    def is_loaded(self, path: Path) -> bool:
        if is_remote_ref(path):
            return self.remote.is_loaded(path)
        return self.remote.loaded is None and super().is_loaded(path)

    def load(self, path: Path | str, options: LoadOptions | None = None, *, cancel: CancelToken | None = None,
             progress: ProgressCallback = no_progress) -> LoadedModel:
        if is_remote_ref(path):
            loaded = self.remote.load(path, options, cancel=cancel, progress=progress)
            super().unload()  # the server answered: free the local model's memory
            return loaded
        self.remote.unload()
        return super().load(Path(path), options, cancel=cancel, progress=progress)

    def unload(self) -> None:
        self.remote.unload()
        super().unload()

    def prepare(self, request: TextRequest) -> PromptPlan:
        if self.remote.loaded is not None:  # the server tokenizes: nothing to plan here
            request.validated()
            return PromptPlan(request.mode if request.mode != "auto" else "chat", [], list(request.sampling.stop))
        return super().prepare(request)

    def generate(self, request: TextRequest, *, cancel: CancelToken | None = None,
                 progress: ProgressCallback = no_progress, sink: HistorySink | None = None) -> TextResult:
        if self.remote.loaded is not None:
            return self.remote.generate(request, cancel=cancel, progress=progress, sink=sink)
        return super().generate(request, cancel=cancel, progress=progress, sink=sink)
