"""OpenAI-style errors: ``{"error": {"message", "type", "param", "code"}}`` with the HTTP status.

Every refusal the server makes is an :class:`ApiError`; :func:`from_exception`
maps GenLab's own errors (a bad parameter, a prompt that does not fit, a full
queue, a missing model) to the status and wording a client expects, so the
official clients raise their typed errors (``BadRequestError``,
``NotFoundError``, ``RateLimitError``...).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from desktop.core.errors import GenLabError, InvalidParameter, ModelFileError
from desktop.core.server.queue import QueueFull
from desktop.core.text.prompt import ContextOverflow

TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
         404: "not_found_error", 409: "conflict_error", 413: "invalid_request_error",
         422: "invalid_request_error", 429: "rate_limit_error", 500: "server_error", 503: "server_error"}


@dataclass
class ApiError(Exception):
    status: int
    message: str
    code: str = ""
    param: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": TYPES.get(self.status, "server_error"),
                          "param": self.param, "code": self.code or None}}

    def encoded(self) -> bytes:
        return json.dumps(self.body(), ensure_ascii=False).encode("utf-8")


def from_exception(exc: BaseException) -> ApiError:
    """The ApiError a client should see for ``exc`` (a bug becomes a 500 naming its type only)."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, QueueFull):
        return ApiError(exc.status, str(exc), "queue_full", headers={"Retry-After": str(exc.retry_after)})
    if isinstance(exc, ContextOverflow):
        return ApiError(422, str(exc), "context_length_exceeded", "max_tokens")
    if isinstance(exc, InvalidParameter):
        return ApiError(400, str(exc), "invalid_parameter")
    if isinstance(exc, ModelFileError):
        return ApiError(422, str(exc), "model_unusable", "model")
    if isinstance(exc, GenLabError):
        return ApiError(500, str(exc), "engine_error")
    # The message of an unexpected error can quote the prompt; the log has the details.
    return ApiError(500, f"The server failed on this request ({type(exc).__name__}).", "internal_error")
