"""What the server serves with: GenLab's own engines, library and history, behind one engine lane.

:class:`Backend` is given its collaborators (the composition root,
``Services`` or a test, builds them): the text and image engines, the model
library that names the models, the history sink and embedder, and the
:class:`~desktop.core.server.queue.EngineLane` every generation goes through.
It turns a validated request into an engine job and submits it; loading the
requested model is part of the job, so it waits its turn like the generation.

Every job reports its progress to the lane (the app's Jobs panel shows a
request's tokens or steps like any job) besides the response's relay.

Records of served generations go through :class:`ApiSink`, which marks them
``origin = "api"`` with the client's declared name (its User-Agent) and the
endpoint, before the history gets them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from desktop.core.errors import GenLabError
from desktop.core.jobs import CancelToken, Job, Progress, ProgressCallback, no_progress
from desktop.core.records import GenerationRecord, HistorySink, NullSink
from desktop.core.server.errors import ApiError
from desktop.core.server.queue import EngineLane, Ticket

if TYPE_CHECKING:
    from desktop.core.history.embedder import Embedder
    from desktop.core.image.engine import ImageBatchResult, ImageEngine
    from desktop.core.knowledge.grounding import GroundingOptions
    from desktop.core.knowledge.store import Knowledge
    from desktop.core.models.library import Library, LibraryModel
    from desktop.core.text.engine import LoadOptions, TextEngine, TextResult
    from desktop.core.text.prompt import TextRequest

API_ORIGIN = "api"
MAX_CLIENT_NAME = 200


@dataclass(frozen=True)
class ServedModel:
    """A model as clients see it: ``id`` is the name they send back in ``model``."""

    id: str
    kind: str  # "text" | "image" | "embedding"
    path: Path | None
    created: int


class ApiSink:
    """Saves served records to ``sink`` marked as the API's, with the client's name and endpoint."""

    def __init__(self, sink: HistorySink, client: str, endpoint: str) -> None:
        self.sink = sink
        self.client = client[:MAX_CLIENT_NAME]
        self.endpoint = endpoint

    def save(self, record: GenerationRecord) -> None:
        record.origin = API_ORIGIN
        record.parameters["api_client"] = self.client
        record.parameters["api_endpoint"] = self.endpoint
        self.sink.save(record)


class Backend:
    """The engines and stores a server uses (see the module docstring)."""

    def __init__(self, *, text_engine: TextEngine, image_engine: ImageEngine, library: Library,
                 history: Callable[[], HistorySink], embedder: Callable[[], Embedder | None], lane: EngineLane,
                 text_options: Callable[[], LoadOptions], switch_models: bool = True) -> None:
        self.text_engine = text_engine
        self.image_engine = image_engine
        self.library = library
        self._history = history
        self._embedder = embedder
        self.lane = lane
        self._text_options = text_options
        self.switch_models = switch_models  # False: refuse a request for another model than the loaded one
        self._knowledge: Knowledge | None = None
        self._knowledge_lock = threading.Lock()

    # --- models ------------------------------------------------------------------
    def models(self) -> list[ServedModel]:
        """The library's text (GGUF) and image models, then the history's embedder."""
        served: list[ServedModel] = []
        taken: set[str] = set()
        for model in self.library.models():
            if not _servable(model):
                continue
            name = model.name if model.name not in taken else model.id  # a second model of one name: its id
            taken.add(name)
            served.append(ServedModel(name, model.kind, Path(model.path), int(model.added_at)))
        embedder = self._embedder()
        if embedder is not None:
            served.append(ServedModel(embedder.name, "embedding", None, 0))
        return served

    def resolve(self, name: str, kind: str) -> ServedModel:
        """The ``kind`` model clients call ``name`` (its listed id, library id, sha256 or path), or a 404."""
        models = self.models()
        found = next((m for m in models if m.id == name), None)
        if found is None and kind != "embedding":
            from desktop.core.models.errors import UnknownModel

            try:
                entry = self.library.get(name)
            except UnknownModel:
                entry = None
            if entry is not None and _servable(entry):
                found = ServedModel(name, entry.kind, Path(entry.path), int(entry.added_at))
        if found is None or found.kind != kind:
            listed = ", ".join(m.id for m in models if m.kind == kind) or "none"
            what = {"text": "text model", "image": "image model", "embedding": "embedding model"}[kind]
            raise ApiError(404, f"There is no {what} named {name!r} here. Available: {listed}.",
                           "model_not_found", "model")
        return found

    # --- sinks ---------------------------------------------------------------------
    def sink(self, recorded: bool, client: str, endpoint: str) -> HistorySink:
        """Where a request's records go: the history (marked as the API's), or nowhere."""
        if not recorded:
            return NullSink()
        history = self._history()
        return NullSink() if isinstance(history, NullSink) else ApiSink(history, client, endpoint)

    def is_recording(self) -> bool:
        return not isinstance(self._history(), NullSink)

    # --- jobs --------------------------------------------------------------------------
    def submit_text(self, model: ServedModel, request: TextRequest, *, client: str, sink: HistorySink,
                    relay: ProgressCallback) -> Ticket:
        """Queue loading ``model`` if needed and generating ``request``; ``relay`` gets each report."""
        assert model.path is not None
        path = model.path

        def reply(*, cancel: CancelToken, progress: ProgressCallback) -> TextResult:
            self._ensure_text_model(path, cancel)
            return self.text_engine.generate(request, cancel=cancel, progress=_both(relay, progress), sink=sink)

        return self.lane.submit(Job(f"API reply with {model.id} for {client}", reply), client)

    def knowledge(self) -> Knowledge:
        """The document collections, opened on first use beside the history, with its embedder; the
        ``history`` collection is searchable when the history sink is the open store."""
        with self._knowledge_lock:
            if self._knowledge is None:
                from desktop.core.history.store import HistoryStore
                from desktop.core.knowledge.store import Knowledge

                history = self._history()
                self._knowledge = Knowledge(embedder=self._embedder(),
                                            history=history if isinstance(history, HistoryStore) else None)
            return self._knowledge

    def submit_grounded_text(self, model: ServedModel, request: TextRequest, options: GroundingOptions, *,
                             client: str, sink: HistorySink, relay: ProgressCallback) -> Ticket:
        """Like :meth:`submit_text`, grounded in collections: once the model is loaded the sources are
        found and packed with its tokenizer, and reported to ``relay`` (a Progress whose payload is the
        :class:`~desktop.core.knowledge.grounding.Grounding`) before the first token."""
        assert model.path is not None
        path = model.path

        def reply(*, cancel: CancelToken, progress: ProgressCallback) -> TextResult:
            from desktop.core.knowledge.budget import EngineBudget
            from desktop.core.knowledge.grounding import Outcome, ground, grounded_generate

            self._ensure_text_model(path, cancel)
            grounding = ground(request, options, self.knowledge(), EngineBudget(self.text_engine))
            relay(Progress(None, "sources", payload=grounding))
            if grounding.outcome is Outcome.CONTEXT_TOO_SMALL:
                raise ApiError(422, f"{grounding.message} {grounding.hint}", "context_length_exceeded", "max_tokens")
            if not grounding.generate:
                raise ApiError(422, f"{grounding.message} {grounding.hint}", "nothing_relevant", "genlab.knowledge")
            cancel.raise_if_cancelled()
            return grounded_generate(self.text_engine, grounding, sink=sink, cancel=cancel,
                                     progress=_both(relay, progress))

        return self.lane.submit(Job(f"API grounded reply with {model.id} for {client}", reply), client)

    def close(self) -> None:
        """Close what the backend opened itself (the collections); the engines and history are the caller's."""
        with self._knowledge_lock:
            if self._knowledge is not None:
                self._knowledge.close()
                self._knowledge = None

    def _ensure_text_model(self, path: Path, cancel: CancelToken) -> None:
        if self.text_engine.is_loaded(path):
            return
        loaded = self.text_engine.loaded
        if loaded is not None and not self.switch_models:
            raise ApiError(409, f"{loaded.path.name} is loaded, and this server does not switch models for "
                                f"API calls; ask for that model, or allow switching in the server settings.",
                           "model_not_loaded", "model")
        self.text_engine.load(path, self._text_options(), cancel=cancel)

    def submit_image(self, model: ServedModel, fields: dict[str, Any], *, client: str,
                     sink: HistorySink) -> Ticket:
        """Queue making images with ``model``; ``fields`` are ImageParams overrides of the family's defaults."""
        assert model.path is not None
        path = model.path
        private = isinstance(sink, NullSink)

        def draw(*, cancel: CancelToken, progress: ProgressCallback) -> ImageBatchResult:
            from desktop.core.image.engine import ImageRequest
            from desktop.core.image.model_files import inspect_model
            from desktop.core.image.params import default_params

            info = inspect_model(path)
            params = default_params(info.family, lcm=info.lcm, **fields)
            request = ImageRequest(model=str(path), params=params, previews=False, private=private)
            return self.image_engine.generate(request, cancel=cancel, progress=progress, sink=sink)

        return self.lane.submit(Job(f"API images with {model.id} for {client}", draw), client)

    def embed(self, texts: list[str]) -> Any:
        """Unit-length float32 vectors of ``texts`` from the history's embedder (call off the event loop)."""
        embedder = self._embedder()
        if embedder is None:
            raise ApiError(404, "This server has no embedding model.", "model_not_found", "model")
        try:
            if not embedder.wait_ready(timeout=120):
                raise ApiError(503, "The embedding model is still loading.", "embedder_loading",
                               headers={"Retry-After": "5"})
            return embedder.encode(texts)
        except GenLabError as exc:
            raise ApiError(503, str(exc), "embedder_unavailable") from exc


def _servable(model: LibraryModel) -> bool:
    return (model.kind == "text" and model.format == "gguf") or model.kind == "image"


def _both(relay: ProgressCallback, progress: ProgressCallback) -> ProgressCallback:
    """Each report to the response (``relay``) and to the lane's job (the GUI's Jobs panel)."""
    if progress is no_progress:  # the headless queue: nobody else listens
        return relay

    def report(item: Progress) -> None:
        relay(item)
        progress(item)

    return report
