"""GenLab's OpenAI-compatible server: other apps use GenLab's engines, and every answer joins the history.

Modules: ``config`` (binding and limits), ``schemas`` (request bodies),
``errors`` (OpenAI-style error bodies), ``queue`` (the engine lane: bounded,
fair), ``backend`` (engines, library, history), ``security`` (the guard
middleware), ``text_routes`` and ``routes`` (the endpoints), ``app`` (the
ASGI app), ``running`` (uvicorn in a thread or the foreground), ``wiring``
(a server from the app's shared objects), ``log`` (the request log).
Starlette, uvicorn and pydantic load only when a server is built.
"""
