"""The ASGI application: the routes behind the guard, with OpenAI-style errors everywhere.

``build_app(backend, config, log)`` returns a Starlette app; run it with
uvicorn (:mod:`desktop.core.server.running`).  Every error, including a
route that does not exist and a wrong method, is an ``{"error": {...}}`` body.
"""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from desktop.core.errors import GenLabError
from desktop.core.server import routes, text_routes
from desktop.core.server.backend import Backend
from desktop.core.server.config import ServerConfig
from desktop.core.server.errors import ApiError, from_exception
from desktop.core.server.log import RequestLog
from desktop.core.server.security import Guard

log = logging.getLogger(__name__)


def _error_response(error: ApiError) -> Response:
    return Response(error.encoded(), error.status, headers=error.headers, media_type="application/json")


async def _api_error(request: Request, exc: Exception) -> Response:
    error = from_exception(exc)
    if error.status >= 500:
        log.error("%s %s failed: %s (message left out of the log)", request.method, request.url.path,
                  type(exc).__name__, exc_info=not isinstance(exc, ApiError))
    return _error_response(error)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return _error_response(ApiError(404, f"There is no endpoint {request.url.path}.", "unknown_url"))
    if exc.status_code == 405:
        return _error_response(ApiError(405, f"{request.url.path} does not accept {request.method}.",
                                        "method_not_allowed"))
    return _error_response(ApiError(exc.status_code, str(exc.detail), "http_error"))


def build_app(backend: Backend, config: ServerConfig, request_log: RequestLog) -> Starlette:
    middleware = [Middleware(Guard, config=config, log=request_log)]
    if config.allowed_origins:
        middleware.append(Middleware(CORSMiddleware, allow_origins=list(config.allowed_origins),
                                     allow_methods=["GET", "POST", "OPTIONS"],
                                     allow_headers=["Authorization", "Content-Type"]))
    app = Starlette(
        routes=[
            Route("/v1/models", routes.list_models, methods=["GET"]),
            Route("/v1/chat/completions", text_routes.chat_completions, methods=["POST"]),
            Route("/v1/completions", text_routes.completions, methods=["POST"]),
            Route("/v1/embeddings", routes.embeddings, methods=["POST"]),
            Route("/v1/images/generations", routes.image_generations, methods=["POST"]),
        ],
        middleware=middleware,
        exception_handlers={HTTPException: _http_error, ApiError: _api_error, GenLabError: _api_error,
                            Exception: _api_error},
    )
    app.state.backend = backend
    return app
