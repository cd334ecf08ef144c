"""``GET /v1/models``, ``POST /v1/embeddings`` and ``POST /v1/images/generations``.

Embeddings come from the history's own embedder (unit-length float32
vectors), as JSON floats or, as the official client asks by default, base64
of the little-endian float32 bytes.  Images are made by the image engine
through the engine lane and returned as base64 PNG or as a ``file://`` URL of
the saved file (this server and its clients share the machine).
"""

from __future__ import annotations

import asyncio
import base64
import time
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from desktop.core.jobs import JobCancelled
from desktop.core.server.backend import Backend
from desktop.core.server.errors import ApiError
from desktop.core.server.schemas import EmbeddingBody, ImageBody, parse
from desktop.core.server.security import client_name


async def list_models(request: Request) -> Response:
    backend: Backend = request.app.state.backend
    data = [{"id": m.id, "object": "model", "created": m.created, "owned_by": "genlab", "genlab_kind": m.kind}
            for m in backend.models()]
    return JSONResponse({"object": "list", "data": data})


async def embeddings(request: Request) -> Response:
    backend: Backend = request.app.state.backend
    body = parse(EmbeddingBody, await request.body())
    model = backend.resolve(body.model, "embedding")
    request.state.log_entry.model = model.id
    vectors = await run_in_threadpool(backend.embed, body.texts)
    if body.dimensions is not None and body.dimensions != vectors.shape[1]:
        raise ApiError(400, f"{model.id} makes vectors of {vectors.shape[1]} dimensions, not {body.dimensions}.",
                       "invalid_value", "dimensions")
    data: list[dict[str, Any]] = []
    for index, vector in enumerate(vectors):
        if body.encoding_format == "base64":
            encoded: Any = base64.b64encode(vector.astype("<f4").tobytes()).decode("ascii")
        else:
            encoded = [float(x) for x in vector]
        data.append({"object": "embedding", "index": index, "embedding": encoded})
    # The embedder does not expose its tokenizer's counts; usage says none were billed.
    return JSONResponse({"object": "list", "data": data, "model": model.id,
                         "usage": {"prompt_tokens": 0, "total_tokens": 0}})


async def image_generations(request: Request) -> Response:
    backend: Backend = request.app.state.backend
    body = parse(ImageBody, await request.body())
    model = backend.resolve(body.model, "image")
    entry = request.state.log_entry
    entry.model = model.id
    client = client_name(request.headers)
    fields: dict[str, Any] = {"prompt": body.prompt, "negative_prompt": body.negative_prompt,
                              "batch_count": body.n}
    if body.width_height is not None:
        fields["width"], fields["height"] = body.width_height
    if body.steps is not None:
        fields["steps"] = body.steps
    if body.guidance_scale is not None:
        fields["guidance"] = body.guidance_scale
    if body.seed is not None:
        fields["seed"] = body.seed
    sink = backend.sink(body.recorded, client, "/v1/images/generations")
    ticket = backend.submit_image(model, fields, client=client, sink=sink)

    async def watch() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass
        entry.cancelled = True
        entry.pending = ticket.future
        ticket.cancel("client disconnected")

    watcher = asyncio.create_task(watch())
    try:
        batch = await asyncio.wrap_future(ticket.future)
    except JobCancelled:
        raise ApiError(499, "The client closed the connection.", "client_closed") from None
    finally:
        watcher.cancel()
    data = []
    for image in batch.images:
        if body.response_format == "url":
            data.append({"url": image.path.resolve().as_uri(), "revised_prompt": None})
        else:
            data.append({"b64_json": base64.b64encode(image.path.read_bytes()).decode("ascii"),
                         "revised_prompt": None})
    return JSONResponse({"created": int(time.time()), "data": data})
