"""``POST /v1/chat/completions`` and ``POST /v1/completions``, streamed by SSE or not.

A request becomes a :class:`~desktop.core.text.prompt.TextRequest` (system
messages make the system prompt, the earlier turns the history, the last user
message the prompt) submitted to the backend's engine lane.  A refused
submission (a full queue, an unknown model) is an error response; once a
stream has begun, a failure arrives as one ``{"error": ...}`` event, which
the official clients raise.

A client that goes away cancels its job: a stream's generator is cancelled
by Starlette when the disconnect arrives, a plain request's watcher task sees
it; either way the engine stops at its next token.  Stream chunks follow
OpenAI (and llama.cpp's server tests): the first carries ``role``, every chunk
has the same ``id``, the finish chunk has an empty delta, and with
``stream_options.include_usage`` a usage-only chunk with ``choices: []``
comes last, before ``[DONE]``.

Grounded chat: ``"genlab": {"knowledge": ["docs"], "k": 5, "threshold": 0.3,
"no_context": "answer"}`` grounds the reply in those collections
(:mod:`desktop.core.knowledge.grounding`).  The sources, numbered as the reply
cites them, come back in a ``genlab`` field beside the standard ones (clients
keep unknown fields): in the response body, or in a stream's first chunk,
which is sent once they are known and before the first token.  An unknown
collection is a 404; nothing relevant under ``"no_context": "stop"``, or a
context too small for one chunk, is a 422 saying why.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, AsyncIterator

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from desktop.core.errors import GenLabError
from desktop.core.jobs import JobCancelled, Progress
from desktop.core.records import new_id
from desktop.core.server.backend import Backend
from desktop.core.server.errors import ApiError, from_exception
from desktop.core.server.log import LogEntry
from desktop.core.server.queue import Ticket
from desktop.core.server.schemas import ChatCompletionBody, CompletionBody, GenLabOptions, _Sampling, parse
from desktop.core.server.security import client_name
from desktop.core.text.engine import TextResult
from desktop.core.text.params import SamplingParams
from desktop.core.text.prompt import ChatMessage, TextRequest
from desktop.core.text.stream import StreamChunk

if TYPE_CHECKING:
    from desktop.core.knowledge.grounding import Grounding, GroundingOptions

CHAT_DEFAULT_MAX_TOKENS = 512  # GenLab's own default reply budget
COMPLETION_DEFAULT_MAX_TOKENS = 16  # OpenAI's default for /v1/completions
_END = object()


def sampling(body: _Sampling, max_tokens: int | None, default_max: int) -> SamplingParams:
    """GenLab's defaults (those of llama.cpp's server too) for every field the client left out."""
    return SamplingParams.given(
        temperature=body.temperature, top_k=body.top_k, top_p=body.top_p, min_p=body.min_p,
        repeat_penalty=body.repeat_penalty, max_tokens=default_max if max_tokens is None else max_tokens,
        seed=body.seed, stop=body.stops)


def chat_request(body: ChatCompletionBody) -> TextRequest:
    system = "\n\n".join(m.text for m in body.messages if m.role in ("system", "developer"))
    turns = [ChatMessage(m.role, m.text) for m in body.messages if m.role in ("user", "assistant")]
    max_tokens = body.max_completion_tokens if body.max_completion_tokens is not None else body.max_tokens
    return TextRequest(turns[-1].content, history=turns[:-1], system_prompt=system, mode="chat",
                       sampling=sampling(body, max_tokens, CHAT_DEFAULT_MAX_TOKENS), thread_id=new_id(),
                       keep_partial=True, fresh_context=False).validated()


def completion_request(body: CompletionBody) -> TextRequest:
    return TextRequest(body.text, mode="completion",
                       sampling=sampling(body, body.max_tokens, COMPLETION_DEFAULT_MAX_TOKENS),
                       thread_id=new_id(), keep_partial=True).validated()


@dataclass
class _Shape:
    """What differs between the chat and the completions responses."""

    chat: bool
    id: str
    created: int
    model: str

    def chunk(self, text: str | None, finish: str | None, *, role: bool = False) -> dict[str, Any]:
        if self.chat:
            delta: dict[str, Any] = {}
            if role:
                delta["role"] = "assistant"
            if text is not None:
                delta["content"] = text
            choice: dict[str, Any] = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
            return self._wrap("chat.completion.chunk", [choice])
        return self._wrap("text_completion", [{"index": 0, "text": text or "", "finish_reason": finish,
                                               "logprobs": None}])

    def whole(self, result: TextResult, grounding: Grounding | None = None) -> dict[str, Any]:
        finish = finish_reason(result)
        if self.chat:
            choice: dict[str, Any] = {"index": 0, "message": {"role": "assistant", "content": result.text},
                                      "finish_reason": finish, "logprobs": None}
            body = self._wrap("chat.completion", [choice])
        else:
            body = self._wrap("text_completion", [{"index": 0, "text": result.text, "finish_reason": finish,
                                                   "logprobs": None}])
        body["usage"] = usage(result)
        if grounding is not None:
            body["genlab"] = grounding_field(grounding)
        return body

    def usage_chunk(self, result: TextResult) -> dict[str, Any]:
        body = self._wrap("chat.completion.chunk" if self.chat else "text_completion", [])
        body["usage"] = usage(result)
        return body

    def _wrap(self, kind: str, choices: list[dict[str, Any]]) -> dict[str, Any]:
        return {"id": self.id, "object": kind, "created": self.created, "model": self.model, "choices": choices}


def grounding_field(grounding: Grounding) -> dict[str, Any]:
    """The ``genlab`` response field of a grounded reply: the outcome, message and numbered sources."""
    return {"knowledge": grounding.to_dict()}


def grounding_options(options: GenLabOptions | None) -> GroundingOptions | None:
    """The request's grounding options, or None when it names no collection."""
    if options is None or not options.knowledge:
        return None
    from desktop.core.knowledge.grounding import DEFAULT_K, DEFAULT_THRESHOLD, GroundingOptions

    found = GroundingOptions(tuple(options.knowledge), options.k or DEFAULT_K,
                             DEFAULT_THRESHOLD if options.threshold is None else options.threshold,
                             options.no_context)
    try:
        return found.validated()
    except GenLabError as exc:
        raise ApiError(400, str(exc), "invalid_value", "genlab.knowledge") from None


def finish_reason(result: TextResult) -> str:
    return "length" if result.finish_reason == "length" else "stop"


def usage(result: TextResult) -> dict[str, int]:
    return {"prompt_tokens": result.prompt_tokens, "completion_tokens": result.completion_tokens,
            "total_tokens": result.prompt_tokens + result.completion_tokens}


class _Relay:
    """Carries a job's stream chunks from the engine thread to the response's event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, streaming: bool) -> None:
        self.loop = loop
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.streaming = streaming
        self.tokens = 0
        self.grounding: Grounding | None = None

    def __call__(self, report: Progress) -> None:
        chunk = report.payload
        if not isinstance(chunk, StreamChunk):
            from desktop.core.knowledge.grounding import Grounding

            if isinstance(chunk, Grounding):  # the sources, before the first token
                self.grounding = chunk
                if self.streaming:
                    self.loop.call_soon_threadsafe(self.queue.put_nowait, chunk)
            return  # a load step
        self.tokens = chunk.tokens
        if self.streaming and chunk.text:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, chunk.text)

    def end(self, _: Any) -> None:
        self.loop.call_soon_threadsafe(self.queue.put_nowait, _END)


def _entry(request: Request) -> LogEntry:
    return request.state.log_entry


async def chat_completions(request: Request) -> Response:
    body = parse(ChatCompletionBody, await request.body())
    return await _serve(request, body, chat_request(body), "/v1/chat/completions", chat=True)


async def completions(request: Request) -> Response:
    body = parse(CompletionBody, await request.body())
    if body.genlab is not None and body.genlab.knowledge:
        raise ApiError(400, "Grounding in collections (genlab.knowledge) is for chat completions only.",
                       "invalid_value", "genlab.knowledge")
    return await _serve(request, body, completion_request(body), "/v1/completions", chat=False)


async def _serve(request: Request, body: _Sampling, text_request: TextRequest, endpoint: str, *,
                 chat: bool) -> Response:
    backend: Backend = request.app.state.backend
    entry = _entry(request)
    model = backend.resolve(body.model, "text")
    entry.model = model.id
    client = client_name(request.headers)
    relay = _Relay(asyncio.get_running_loop(), body.stream)
    sink = backend.sink(body.recorded, client, endpoint)
    grounded = grounding_options(body.genlab)
    if grounded is None:
        ticket = backend.submit_text(model, text_request, client=client, sink=sink, relay=relay)
    else:
        await asyncio.to_thread(_check_collections, backend, grounded)
        ticket = backend.submit_grounded_text(model, text_request, grounded, client=client, sink=sink, relay=relay)
    ticket.future.add_done_callback(relay.end)
    ticket.future.add_done_callback(lambda f: _count(entry, f))
    shape = _Shape(chat, ("chatcmpl-" if chat else "cmpl-") + new_id(), int(time.time()), model.id)
    if body.stream:
        return StreamingResponse(_events(shape, ticket, relay, entry, body.include_usage, grounded is not None),
                                 media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
    result = await _await_unless_gone(request, ticket, relay, entry)
    return JSONResponse(shape.whole(result, relay.grounding))


def _check_collections(backend: Backend, options: GroundingOptions) -> None:
    """Every named collection exists, before the request waits in the queue (reads the registry)."""
    from desktop.core.knowledge.errors import KnowledgeError

    knowledge = backend.knowledge()
    for name in options.collections:
        try:
            knowledge.get(name)
        except KnowledgeError as exc:
            raise ApiError(404, str(exc), "collection_not_found", "genlab.knowledge") from None


def _count(entry: LogEntry, future: Any) -> None:
    if not future.cancelled() and future.exception() is None:
        entry.completion_tokens = future.result().completion_tokens


def _abandon(ticket: Ticket, relay: _Relay, entry: LogEntry) -> None:
    """The client went away: stop the job, noting how far it had got."""
    if ticket.future.done():
        return
    entry.cancelled = True
    entry.tokens_at_cancel = relay.tokens
    entry.pending = ticket.future
    ticket.cancel("client disconnected")


async def _await_unless_gone(request: Request, ticket: Ticket, relay: _Relay, entry: LogEntry) -> TextResult:
    async def watch() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass
        _abandon(ticket, relay, entry)

    watcher = asyncio.create_task(watch())
    try:
        return await asyncio.wrap_future(ticket.future)
    except JobCancelled:
        raise ApiError(499, "The client closed the connection.", "client_closed") from None
    finally:
        watcher.cancel()


def _sse(data: dict[str, Any]) -> str:
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


async def _events(shape: _Shape, ticket: Ticket, relay: _Relay, entry: LogEntry,
                  include_usage: bool, grounded: bool = False) -> AsyncIterator[str]:
    finished = False
    try:
        first = shape.chunk("", None, role=True) if shape.chat else shape.chunk("", None)
        item = await relay.queue.get() if grounded else None  # the sources come with the first chunk
        if item is not _END:
            if item is not None:
                first["genlab"] = grounding_field(item)
            yield _sse(first)
            while (item := await relay.queue.get()) is not _END:
                yield _sse(shape.chunk(item, None))
        try:
            result: TextResult = ticket.future.result()
        except Exception as exc:  # the job failed after the response began: an error event
            finished = True
            yield _sse(from_exception(exc).body())
            return
        finished = True
        yield _sse(shape.chunk(None, finish_reason(result)) if shape.chat else shape.chunk("", finish_reason(result)))
        if include_usage:
            yield _sse(shape.usage_chunk(result))
        yield "data: [DONE]\n\n"
    finally:
        if not finished:  # cancelled by the disconnect (or the server stopping)
            _abandon(ticket, relay, entry)
