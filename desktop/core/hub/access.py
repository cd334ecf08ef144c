"""How GenLab reaches the hub: endpoint, token, online mode and error mapping.

``huggingface_hub`` reads ``HF_ENDPOINT`` and ``HF_HUB_OFFLINE`` once, when it
is first imported.  GenLab reads them when a call is made instead: the
endpoint is passed explicitly to every ``huggingface_hub`` call, and
:func:`hub_online` lifts the library's offline flag only for the duration of
a call the user asked for (a download, a search).  Everything else (loading
a model for generation) keeps running offline.

Tokens come from ``HF_TOKEN``, then the OS keyring when the ``keyring``
package is available and has a working backend (a dependency on Windows and
macOS; on Linux it is used when installed and a Secret Service is running),
then a user-only file in the data root (``hf-token``), then the token ``hf
auth login`` saved.  The keyring and the file are :mod:`desktop.core.secrets`'s.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import urllib.request
from typing import Iterator
from urllib.parse import urlsplit

from desktop.core.models.errors import HubError, HubOffline, HubUnavailable, NotOnHub, TokenRequired
from desktop.core.secrets import read_secret, save_secret

DEFAULT_ENDPOINT = "https://huggingface.co"
KEYRING_USER = "huggingface-token"  # the token's name in the keyring (service desktop.core.secrets.KEYRING_SERVICE)
TOKEN_FILE = "hf-token"  # the name tokens saved before the keyring was shared kept; they still load
TOKEN_HELP = ("Create a read token at https://huggingface.co/settings/tokens, accept the model's "
              "licence on its hub page, then save it with `genlab models token` or the Models "
              "workspace (or set HF_TOKEN).")

_online_lock = threading.Lock()
_online_users = 0
_saved_offline_flag = False


def endpoint() -> str:
    """The hub endpoint, read from ``HF_ENDPOINT`` at call time."""
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def hub_reachable(timeout: float = 3.0, url: str | None = None) -> bool:
    """Can a TCP connection to the endpoint (or ``url``) be opened within ``timeout``?

    Behind a proxy (``HTTPS_PROXY``/``HTTP_PROXY``/``ALL_PROXY``, unless
    ``NO_PROXY`` names the host) the proxy is what GenLab connects to, so it
    is the proxy that must answer.
    """
    host, port = connect_target(url or endpoint())
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def connect_target(url: str) -> tuple[str, int]:
    """The host and port a request for ``url`` opens a connection to: its proxy's, or its own."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    proxies = urllib.request.getproxies()  # what httpx2 (and so the hub's client) reads too
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if proxy and not urllib.request.proxy_bypass(host):
        proxy_parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        default = 443 if proxy_parts.scheme == "https" else 80
        return proxy_parts.hostname or "", proxy_parts.port or default
    return host, parts.port or (443 if parts.scheme == "https" else 80)


def offline_requested() -> bool:
    """True when the user asked GenLab itself to stay offline (``GENLAB_OFFLINE=1``)."""
    return os.environ.get("GENLAB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def token() -> str | None:
    """The access token to send, or None."""
    env = os.environ.get("HF_TOKEN") or os.environ.get("HUGGING_FACE_HUB_TOKEN")
    if env:
        return env.strip()
    stored = read_secret(KEYRING_USER, TOKEN_FILE)
    if stored:
        return stored
    try:  # a token saved by `hf auth login`
        from huggingface_hub import get_token

        return get_token()
    except Exception:
        return None


def save_token(value: str) -> str:
    """Store a token; returns where ("keyring" or the file path)."""
    return save_secret(KEYRING_USER, value, TOKEN_FILE)


@contextlib.contextmanager
def hub_online() -> Iterator[None]:
    """Let ``huggingface_hub`` make requests inside this block.

    Raises :class:`HubOffline` when the user set ``GENLAB_OFFLINE``.
    Nested and concurrent uses are counted; the library's flag is restored
    when the last one leaves.
    """
    global _online_users, _saved_offline_flag
    if offline_requested():
        raise HubOffline("GenLab is in offline mode (GENLAB_OFFLINE is set).",
                         "Unset GENLAB_OFFLINE to search or download models.")
    from huggingface_hub import constants

    with _online_lock:
        if _online_users == 0:
            _saved_offline_flag = constants.HF_HUB_OFFLINE
            constants.HF_HUB_OFFLINE = False
        _online_users += 1
    try:
        yield
    finally:
        with _online_lock:
            _online_users -= 1
            if _online_users == 0:
                constants.HF_HUB_OFFLINE = _saved_offline_flag


def hub_error(exc: BaseException, repo_id: str, filename: str | None = None) -> HubError:
    """Translate a ``huggingface_hub``/network exception into a readable error."""
    from huggingface_hub import errors as hf_errors

    what = f"{repo_id}/{filename}" if filename else repo_id
    if isinstance(exc, hf_errors.GatedRepoError):
        return TokenRequired(f"{repo_id} is a gated model: the hub needs an access token with "
                             "permission for it.", TOKEN_HELP)
    if isinstance(exc, hf_errors.RepositoryNotFoundError):
        return NotOnHub(f"The repository {repo_id} does not exist on {endpoint()} "
                        "(or it is private).",
                        "Check the repo id; for a private repo save an access token. " + TOKEN_HELP)
    if isinstance(exc, hf_errors.RevisionNotFoundError):
        return NotOnHub(f"The requested revision of {repo_id} does not exist.", "Use 'main' or a valid commit.")
    if isinstance(exc, hf_errors.EntryNotFoundError) or type(exc).__name__.endswith("EntryNotFoundError"):
        return NotOnHub(f"The file {filename!r} does not exist in {repo_id}.",
                        f"Pick one of the repo's files: `genlab models download {repo_id}` lists them, "
                        "as does opening the repo in the Models workspace's Hub tab.")
    if isinstance(exc, hf_errors.OfflineModeIsEnabled):
        return HubOffline("The hub is unreachable: offline mode is on.", "Unset HF_HUB_OFFLINE to download.")
    if isinstance(exc, hf_errors.HfHubHTTPError):
        status = getattr(getattr(exc, "response", None), "status_code", None)
        if status in (401, 403):
            return TokenRequired(f"The hub refused access to {what} ({status}).", TOKEN_HELP)
        if status == 429 or (status or 0) >= 500:
            return HubUnavailable(f"The hub is busy or having trouble ({status}) and could not answer for {what}.",
                                  "Try again in a few minutes.")
        return HubError(f"The hub answered an error for {what}: {status or ''} {str(exc).splitlines()[0]}".strip(),
                        "Try again later.")
    if isinstance(exc, (OSError, TimeoutError)) or "httpx" in type(exc).__module__:
        return HubOffline(f"Cannot reach the hub at {endpoint()} ({type(exc).__name__}).",
                          "Check the network connection, then try again.")
    return HubError(f"Unexpected hub error for {what}: {type(exc).__name__}: {exc}")
