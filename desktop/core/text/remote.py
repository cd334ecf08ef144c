"""The remote text engine: a model of an OpenAI-compatible server, used like a loaded GGUF.

Lifecycle, as :class:`~desktop.core.text.engine.TextEngine`'s::

    engine = RemoteTextEngine(history=sink_or_callable, sources=RemoteSources())
    engine.load("remote:gpu-box:8000/llama-3.1-8b", cancel=..., progress=...)   # asks /v1/models once
    engine.generate(TextRequest(...), cancel=..., progress=...)                  # streams StreamChunks
    engine.unload() / engine.close()

"Loading" loads nothing: it checks that the source is added, that the
server answers and that it still lists the model, and gives back a
:class:`~desktop.core.text.engine.LoadedModel` whose card names the server.
A reply streams over SSE (``/v1/chat/completions``, or ``/v1/completions``
in completion mode); stop strings are sent to the server and also applied
here, so a server that ignores them still stops; a cancel closes the stream
before the next token (:func:`~desktop.core.text.remote_client.closing_on_cancel`).
Only the standard OpenAI sampling fields are sent (temperature, top_p,
max_tokens, seed, stop): the record says which of GenLab's values were
sent and which the server never saw.

The record says where the reply was made: ``device`` is ``remote:<host:port>``,
``model`` names the served model (no sha256: the server's file is not ours
to hash), and ``parameters["remote"]`` holds the URL, the source, the model
asked for and the model the server said it used.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

from desktop.core.errors import InvalidParameter, ModelFileError
from desktop.core.jobs import CancelToken, JobCancelled, Progress, ProgressCallback, no_progress
from desktop.core.models.remote import RemoteError, RemoteSource, RemoteSources, is_remote_ref
from desktop.core.records import GenerationRecord, HistorySink, ModelIdentity, NullSink
from desktop.core.text.engine import LoadedModel, LoadOptions, TextResult, versions
from desktop.core.text.gguf import GgufInfo
from desktop.core.text.gpu import GpuPlan
from desktop.core.text.params import SamplingParams
from desktop.core.text.prompt import ChatMessage, TextRequest, completion_text
from desktop.core.text.remote_client import DEFAULT_TIMEOUTS, RemoteClient, Timeouts
from desktop.core.text.stream import StreamChunk, StreamOutcome

log = logging.getLogger(__name__)

PARAMETER_KEY = "remote"
REMOTE_ARCHITECTURE = "remote"  # what a remote model's GgufInfo says it is
SENT = ("temperature", "top_p", "max_tokens", "seed", "stop")  # the OpenAI fields GenLab's values go in
NOT_SENT = ("top_k", "min_p", "repeat_penalty")  # not in the OpenAI API: the server's own defaults apply


@dataclass(frozen=True)
class RemoteModel:
    """The remote model behind a LoadedModel: which source, and the model id it serves."""

    source: RemoteSource
    model: str
    ref: str


def remote_info(ref: str, model: str) -> GgufInfo:
    """A GgufInfo standing for a remote model (its ``path`` is the reference), so the card and the
    records read it like a local one."""
    return GgufInfo(path=Path(ref), file_size=0, version=0, architecture=REMOTE_ARCHITECTURE, name=model,
                    parameter_count=0, file_type="", context_length=0, layer_count=0, embedding_length=0,
                    vocab_size=0, tokenizer_model="", chat_template=None)


def is_remote_loaded(loaded: LoadedModel | None) -> bool:
    return loaded is not None and loaded.info.architecture == REMOTE_ARCHITECTURE and is_remote_ref(loaded.info.path)


class _StopStrings:
    """Stop strings applied to streamed text: what may be shown now, and whether one was hit."""

    def __init__(self, stops: list[str]) -> None:
        self.stops = [s for s in stops if s]
        self.longest = max((len(s) for s in self.stops), default=0)
        self.text = ""
        self.shown = 0
        self.hit = False

    def add(self, piece: str) -> str:
        """Take ``piece``; return the new text safe to show (a possible stop string's start is held back)."""
        search_from = max(0, len(self.text) - self.longest)
        self.text += piece
        hits = [i for i in (self.text.find(s, search_from) for s in self.stops) if i >= 0]
        if hits:
            self.text, self.hit = self.text[:min(hits)], True
            return self.flush()
        held = 0
        for stop in self.stops:
            for n in range(min(len(stop) - 1, len(self.text)), held, -1):
                if self.text.endswith(stop[:n]):
                    held = n
                    break
        visible = len(self.text) - held
        out = self.text[self.shown:visible] if visible > self.shown else ""
        self.shown = max(self.shown, visible)
        return out

    def flush(self) -> str:
        out, self.shown = self.text[self.shown:], len(self.text)
        return out


class RemoteTextEngine:
    """One remote model at a time; see the module docstring for the lifecycle."""

    def __init__(self, history: HistorySink | Callable[[], HistorySink] | None = None, *,
                 sources: RemoteSources | None = None, timeouts: Timeouts = DEFAULT_TIMEOUTS) -> None:
        self._history = history
        self._sources = sources or RemoteSources()
        self.timeouts = timeouts
        self._lock = threading.RLock()
        self._loaded: LoadedModel | None = None
        self._remote: RemoteModel | None = None

    @property
    def loaded(self) -> LoadedModel | None:
        return self._loaded

    @property
    def remote(self) -> RemoteModel | None:
        return self._remote

    def is_loaded(self, path: object) -> bool:
        return self._remote is not None and str(path) == self._remote.ref

    def _sink(self) -> HistorySink:
        history = self._history
        if history is None:
            return NullSink()
        return history() if callable(history) and not hasattr(history, "save") else history

    def _client(self, source: RemoteSource) -> RemoteClient:
        return RemoteClient(source.base_url, source.api_key(), self.timeouts)

    # --- load / unload -----------------------------------------------------------------
    def load(self, ref: object, options: LoadOptions | None = None, *, cancel: CancelToken | None = None,
             progress: ProgressCallback = no_progress) -> LoadedModel:
        """Check that ``ref``'s server answers and lists the model; a job function. ``options`` are the
        local engine's (unused: the server loaded the model its own way)."""
        cancel = cancel or CancelToken()
        ref = str(ref)
        source, model = self._sources.resolve(ref)
        progress(Progress(None, f"Asking {source.host} for {model}"))
        start = time.perf_counter()
        with self._client(source) as client:
            served = client.list_models()
        cancel.raise_if_cancelled()
        if model not in served:
            listed = ", ".join(served[:8]) + (" …" if len(served) > 8 else "") if served else "no models"
            raise RemoteError(f"{source.host} does not serve {model!r} (it lists {listed}).",
                              "Refresh the source in Models → Remote servers and pick one of its models.")
        self._sources.set_models(source.name, served)  # what the server serves now, for the pickers
        loaded = LoadedModel(info=remote_info(ref, model), sha256="", n_ctx=0, n_threads=0,
                             gpu=GpuPlan(0, f"Runs on {source.host} (remote server)"),
                             device=f"remote:{source.host}", load_s=time.perf_counter() - start,
                             chat_available=True)
        with self._lock:
            self._loaded, self._remote = loaded, RemoteModel(source, model, ref)
        progress(Progress(1.0, f"Connected to {model} on {source.host}"))
        return loaded

    def unload(self) -> None:
        with self._lock:
            self._loaded, self._remote = None, None

    def close(self) -> None:
        self.unload()

    # --- generation ----------------------------------------------------------------------
    def generate(self, request: TextRequest, *, cancel: CancelToken | None = None,
                 progress: ProgressCallback = no_progress, sink: HistorySink | None = None) -> TextResult:
        """Stream a reply from the server; a job function whose progress payloads are StreamChunks."""
        cancel = cancel or CancelToken()
        request.validated()
        params = request.sampling.with_seed()
        with self._lock:
            loaded, remote = self._loaded, self._remote
        if loaded is None or remote is None:
            raise ModelFileError("No model is loaded.", "Pick a model and press Load first.")
        mode = "completion" if request.mode == "completion" else "chat"
        endpoint, body = _request_body(request, params, mode, remote.model)
        cancel.raise_if_cancelled()
        outcome, reply = self._stream(remote, endpoint, body, params, cancel, progress)
        if outcome.finish_reason == "cancelled" and not request.keep_partial:
            raise JobCancelled()
        if request.reply_so_far:
            outcome = replace(outcome, text=request.reply_so_far + outcome.text)
        result = TextResult(text=outcome.text, finish_reason=outcome.finish_reason, mode=mode,
                            prompt_tokens=reply.prompt_tokens, completion_tokens=outcome.completion_tokens,
                            ttft_s=outcome.ttft_s, total_s=outcome.total_s, tokens_per_s=outcome.tokens_per_s,
                            n_ctx=0, seed=params.seed)
        record = self._record(request, params, mode, outcome, reply, loaded, remote)
        result.record, result.record_id = record, record.id
        try:
            (sink if sink is not None else self._sink()).save(record)
        except Exception as exc:  # a full disk must not lose the reply on screen
            log.exception("could not save the generation to the history")
            result.other_note = f"Not saved to the history: {exc}"
        return result

    def _stream(self, remote: RemoteModel, endpoint: str, body: dict[str, Any], params: SamplingParams,
                cancel: CancelToken, progress: ProgressCallback) -> tuple[StreamOutcome, "_Reply"]:
        stops = _StopStrings(params.stop)
        reply = _Reply()
        max_tokens = params.max_tokens
        start = time.perf_counter()
        ttft: float | None = None
        count = 0
        with self._client(remote.source) as client, client.stream(endpoint, body, cancel) as chunks:
            for chunk in chunks:
                piece = reply.take(chunk)
                if piece:
                    now = time.perf_counter()
                    ttft = now - start if ttft is None else ttft
                    count += 1
                    shown = stops.add(piece)
                    progress(Progress(min(1.0, count / max_tokens), f"{count}/{max_tokens} tokens", count,
                                      max_tokens, StreamChunk(shown, count, now - start, ttft, reply.prompt_tokens)))
                if stops.hit or cancel.cancelled:
                    break  # leaving the block closes the stream: the server stops generating
        end = time.perf_counter()
        if cancel.cancelled and not stops.hit:
            finish = "cancelled"
        elif stops.hit:
            finish = "stop"
        else:
            finish = reply.finish_reason or "stop"
        rest = stops.flush()
        if rest:
            progress(Progress(min(1.0, count / max_tokens), f"{count}/{max_tokens} tokens", count, max_tokens,
                              StreamChunk(rest, count, end - start, ttft, reply.prompt_tokens)))
        tokens = reply.completion_tokens if reply.completion_tokens and finish != "cancelled" else count
        return StreamOutcome(stops.text, tokens, finish, ttft if ttft is not None else end - start,
                             end - start), reply

    @staticmethod
    def _record(request: TextRequest, params: SamplingParams, mode: str, outcome: StreamOutcome, reply: "_Reply",
                loaded: LoadedModel, remote: RemoteModel) -> GenerationRecord:
        parameters: dict[str, Any] = params.to_dict()
        parameters.update(mode=mode, finish_reason=outcome.finish_reason, history_messages=len(request.history))
        parameters[PARAMETER_KEY] = {
            "url": remote.source.base_url, "host": remote.source.host, "source": remote.source.name,
            "model": remote.model, "served_model": reply.model or remote.model, "completion_id": reply.id,
            "system_fingerprint": reply.fingerprint, "sent": list(SENT), "not_sent": list(NOT_SENT),
            "usage_reported": reply.completion_tokens > 0,
        }
        if request.continues_record:
            parameters["continues"] = request.continues_record
        return GenerationRecord(
            kind="text", prompt=request.prompt, session_id=request.thread_id, parent_id=request.parent_id,
            system_prompt=request.system_prompt, output_text=outcome.text,
            model=ModelIdentity(name=reply.model or remote.model, file=remote.ref),
            parameters=parameters, seed=params.seed,
            timings={"ttft_s": outcome.ttft_s, "total_s": outcome.total_s, "tokens_per_s": outcome.tokens_per_s,
                     "prompt_tokens": reply.prompt_tokens, "completion_tokens": outcome.completion_tokens,
                     "load_s": loaded.load_s},
            device=loaded.device, versions=versions(),
        )


class _Reply:
    """What the stream's chunks said besides the text: ids, the served model, usage, the finish reason."""

    def __init__(self) -> None:
        self.id = ""
        self.model = ""
        self.fingerprint = ""
        self.finish_reason = ""
        self.prompt_tokens = 0
        self.completion_tokens = 0

    def take(self, chunk: dict[str, Any]) -> str:
        """The chunk's new text (a chat delta's content or a completion's text)."""
        self.id = self.id or str(chunk.get("id") or "")
        self.model = self.model or str(chunk.get("model") or "")
        self.fingerprint = self.fingerprint or str(chunk.get("system_fingerprint") or "")
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self.prompt_tokens = int(usage.get("prompt_tokens") or 0)
            self.completion_tokens = int(usage.get("completion_tokens") or 0)
        text = ""
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, dict):
                continue
            if choice.get("finish_reason"):
                self.finish_reason = "length" if choice["finish_reason"] == "length" else "stop"
            delta = choice.get("delta")
            text += str((delta.get("content") if isinstance(delta, dict) else choice.get("text")) or "")
        return text


def _messages(request: TextRequest) -> list[dict[str, str]]:
    messages = [{"role": "system", "content": request.system_prompt}] if request.system_prompt.strip() else []
    messages += [{"role": m.role, "content": m.content} for m in request.history]
    messages.append({"role": "user", "content": request.prompt})
    if request.reply_so_far:  # a continuation: servers that support it go on from the assistant's text
        messages.append({"role": "assistant", "content": request.reply_so_far})
    return messages


def _request_body(request: TextRequest, params: SamplingParams, mode: str, model: str) -> tuple[str, dict[str, Any]]:
    common: dict[str, Any] = {"model": model, "max_tokens": params.max_tokens, "temperature": params.temperature,
                              "top_p": params.top_p, "seed": params.seed,
                              "stream_options": {"include_usage": True}}
    if params.stop:
        common["stop"] = list(params.stop)
    if mode == "completion":
        history: list[ChatMessage] = list(request.history)
        return "completions", {**common, "prompt": completion_text(request, history) + request.reply_so_far}
    if not request.prompt.strip():
        raise InvalidParameter("The prompt is empty.", "Type a message before sending.")
    return "chat/completions", {**common, "messages": _messages(request)}
