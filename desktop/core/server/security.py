"""The guard in front of every route: Host header, browser origins, API key, body size.

An ASGI middleware (so streamed responses pass through untouched) that
refuses, with an OpenAI-style error body, a request that

- names a foreign ``Host`` while the server listens on loopback (a web page
  re-pointing its own domain at 127.0.0.1, DNS rebinding, sends its domain);
- comes from a browser page (an ``Origin`` header) not in the allowed
  origins: no CORS unless the user lists origins, and then only for them;
- lacks the API key or sends a wrong one (compared in constant time);
- has a body over the limit (``Content-Length`` first, then counted while
  read, for chunked bodies).

It also opens the request's :class:`~desktop.core.server.log.LogEntry` and
closes it with the status sent, or when the engine job a stream left
running ends.
"""

from __future__ import annotations

import hmac
from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from desktop.core.server.config import ServerConfig
from desktop.core.server.errors import ApiError
from desktop.core.server.log import LogEntry, RequestLog

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def client_name(headers: Headers) -> str:
    return headers.get("user-agent", "").strip() or "unknown client"


def host_is_loopback(host: str) -> bool:
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    return name.lower() in LOOPBACK_NAMES


class BodyTooLarge(ApiError):
    pass


class Guard:
    """The security middleware (see the module docstring)."""

    def __init__(self, app: ASGIApp, config: ServerConfig, log: RequestLog) -> None:
        self.app = app
        self.config = config
        self.log = log
        self._key = config.api_key.encode("utf-8")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        entry = self.log.open(scope["method"], scope["path"], client_name(headers))
        scope.setdefault("state", {})["log_entry"] = entry
        status = [500]

        async def send_noting_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            refusal = self._refusal(scope, headers)
            if refusal is not None:
                await send_error(send_noting_status, refusal)
                return
            limit = self.config.body_limit(scope["path"])
            await self.app(scope, _limited(receive, limit), send_noting_status)
        finally:
            self._close(entry, status[0])

    def _close(self, entry: LogEntry, status: int) -> None:
        if entry.pending is None:
            self.log.close(entry, status)
        else:
            entry.pending.add_done_callback(lambda _: self.log.close(entry, status))

    def _refusal(self, scope: Scope, headers: Headers) -> ApiError | None:
        if self.config.loopback and not host_is_loopback(headers.get("host", "")):
            return ApiError(400, "The Host header names another server than this loopback one; GenLab answers "
                                 "only requests addressed to 127.0.0.1 or localhost.", "invalid_host")
        origin = headers.get("origin")
        if origin is not None and origin not in self.config.allowed_origins:
            return ApiError(403, f"Requests from web pages ({origin}) are refused; add the origin to the "
                                 "server's allowed origins to let that page use GenLab.", "origin_not_allowed")
        if scope["method"] == "OPTIONS" and origin is not None:
            return None  # a CORS preflight of an allowed origin carries no key
        if self._key:
            given = headers.get("authorization", "")
            if not given:
                return ApiError(401, "This server needs an API key: send it as 'Authorization: Bearer KEY'.",
                                "missing_api_key")
            scheme, _, token = given.partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode("utf-8"), self._key):
                return ApiError(401, "The API key is not valid for this server.", "invalid_api_key")
        length = headers.get("content-length")
        limit = self.config.body_limit(scope["path"])
        if length is not None and length.isdigit() and int(length) > limit:
            return _too_large(limit)
        return None


def _too_large(limit: int) -> ApiError:
    return BodyTooLarge(413, f"The request body is larger than this endpoint's limit of {limit // 1_000_000} MB.",
                        "request_too_large")


def _limited(receive: Receive, limit: int) -> Receive:
    seen = [0]

    async def counted() -> Message:
        message = await receive()
        if message["type"] == "http.request":
            seen[0] += len(message.get("body", b""))
            if seen[0] > limit:
                raise _too_large(limit)
        return message

    return counted


async def send_error(send: Send, error: ApiError) -> None:
    body = error.encoded()
    headers: list[Any] = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in error.headers.items()]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
