"""``genlab serve``: GenLab's OpenAI-compatible API, headless.

    genlab serve [--host 127.0.0.1] [--port 8765] [--api-key KEY] [--allow-origin URL ...]
                 [--no-switch-models] [--no-history]

Serves ``/v1/models``, ``/v1/chat/completions``, ``/v1/completions``,
``/v1/embeddings`` and ``/v1/images/generations`` with GenLab's engines and
library; every answer is a history record (origin ``api``) unless
``--no-history``, incognito, or the request says ``"genlab": {"history": false}``.
Any address but loopback needs an API key: ``--api-key``, else the
``GENLAB_API_KEY`` environment variable (which other users cannot read from
the process list), else the key saved in the app's Preferences
(:mod:`desktop.core.secrets`), so the app's clients work with either.  Prints one ``GenLab API on URL`` line once listening;
Ctrl-C (or SIGTERM) stops it after the running request.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from desktop.core.errors import GenLabError

API_KEY_ENV = "GENLAB_API_KEY"


def run(args: argparse.Namespace) -> int:
    from desktop.core.records import NullSink
    from desktop.core.server.config import ServerConfig
    from desktop.core.server.wiring import headless_server
    from desktop.core.services import Services

    services = Services()
    server = None
    try:
        config = ServerConfig(host=args.host, port=args.port, api_key=_api_key(args),
                              allowed_origins=list(args.allow_origin or []),
                              switch_models=not args.no_switch_models).validated()
        if args.no_history:
            services.set_history(NullSink())
        elif not services.settings.history.incognito:
            services.set_history(services.history_store)  # its embedder also serves /v1/embeddings
        else:
            services.history_store  # noqa: B018 - opened for its embedder; incognito records nothing
        server = headless_server(services, config).start()
        print(f"GenLab API on {server.url}" + ("" if config.api_key else " (no API key: loopback only)"),
              flush=True)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        while not stop.wait(0.5):
            pass
    except GenLabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    finally:
        if server is not None:
            server.stop()
        services.close()
    print("GenLab API stopped", file=sys.stderr)
    return 0


def _api_key(args: argparse.Namespace) -> str:
    """--api-key, else $GENLAB_API_KEY, else the key saved from Preferences ("" when none)."""
    if args.api_key or os.environ.get(API_KEY_ENV):
        return args.api_key or os.environ[API_KEY_ENV]
    from desktop.core.secrets import API_SERVER_KEY, read_secret

    saved = read_secret(API_SERVER_KEY)
    if saved:
        print("Using the API key saved in Preferences.", file=sys.stderr, flush=True)
    return saved


def register(subparsers) -> None:
    p = subparsers.add_parser("serve", help="serve an OpenAI-compatible API with GenLab's engines",
                              description="Serve GenLab's models to other apps over an OpenAI-compatible API; "
                                          "their requests are recorded in the history.")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1; any other needs an API key)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")
    p.add_argument("--api-key", help=f"key clients must send as 'Authorization: Bearer KEY' "
                                     f"(default: ${API_KEY_ENV}, else the key saved in Preferences)")
    p.add_argument("--allow-origin", action="append", metavar="URL",
                   help="a web page origin allowed to call the API (CORS), e.g. http://localhost:3000; repeatable")
    p.add_argument("--no-switch-models", action="store_true",
                   help="refuse requests for another model than the loaded one instead of switching")
    p.add_argument("--no-history", action="store_true", help="record nothing in the history")
    p.set_defaults(func=run)
