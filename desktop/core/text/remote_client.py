"""Talking to an OpenAI-compatible server: list its models, stream a reply, and say clearly what went wrong.

The HTTP client is httpx2 (the one the hub downloads use); the event stream
is parsed by ``sseclient-py``.  Every request has a connect timeout and a
read timeout (the longest wait for the next bytes, so a server that accepts
and never answers ends in an error, not a hang).  A stream is closed as
soon as its caller stops reading it; :func:`closing_on_cancel` also closes
it from a watcher thread when a cancel token is set while the server is
silent (still reading a long prompt), so a stop never waits for a token.

Every failure is a :class:`~desktop.core.models.remote.RemoteError` whose
message names the server and says what to do: a bad URL, a server that is
not reachable or does not answer, a refused key, something that is not an
OpenAI-compatible server.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from dataclasses import dataclass
from typing import Any, Iterator

import httpx2

from desktop.core.jobs import CancelToken
from desktop.core.models.remote import RemoteError, normalize_base_url

CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 60.0  # between two reads: a big model on a busy server may think a while before its first token
RETRY_HINT = "Check that the server is running and the URL is right, then try again."


@dataclass(frozen=True)
class Timeouts:
    connect_s: float = CONNECT_TIMEOUT_S
    read_s: float = READ_TIMEOUT_S


DEFAULT_TIMEOUTS = Timeouts()


class RemoteClient:
    """One server at ``base_url`` (normalised), with an optional bearer ``api_key``."""

    def __init__(self, base_url: str, api_key: str = "", timeouts: Timeouts = DEFAULT_TIMEOUTS) -> None:
        self.base_url = normalize_base_url(base_url)
        self.host = httpx2.URL(self.base_url).netloc.decode("ascii")
        self.timeouts = timeouts
        from desktop import __version__

        headers = {"User-Agent": f"GenLab/{__version__} (remote engine)"}  # a GenLab server logs the client by it
        if api_key.strip():
            headers["Authorization"] = f"Bearer {api_key.strip()}"
        self._http = httpx2.Client(
            base_url=self.base_url + "/", headers=headers, follow_redirects=False,
            timeout=httpx2.Timeout(timeouts.read_s, connect=timeouts.connect_s, pool=timeouts.connect_s))

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "RemoteClient":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # --- requests -----------------------------------------------------------------
    def list_models(self) -> list[str]:
        """The ids ``GET /v1/models`` lists; RemoteError when the server is down or not OpenAI-compatible."""
        with self._errors():
            response = self._http.get("models")
        self._check(response, "models")
        try:
            data = response.json()["data"]
            return [str(m["id"]) for m in data]
        except (ValueError, KeyError, TypeError) as exc:
            raise self._not_openai("its /models answer is not a model list") from exc

    @contextlib.contextmanager
    def stream(self, endpoint: str, body: dict[str, Any], cancel: CancelToken) -> Iterator[Iterator[dict[str, Any]]]:
        """POST ``body`` to ``endpoint`` ("chat/completions" or "completions") with ``stream: true``
        and yield an iterator of the stream's JSON chunks; leaving the block closes the connection."""
        with self._errors():
            request = self._http.build_request("POST", endpoint, json={**body, "stream": True})
            response = self._http.send(request, stream=True)
        try:
            if response.status_code >= 400:
                response.read()
            self._check(response, endpoint)
            with closing_on_cancel(response, cancel):
                yield self._chunks(response, cancel)
        finally:
            response.close()

    def _chunks(self, response: httpx2.Response, cancel: CancelToken) -> Iterator[dict[str, Any]]:
        from sseclient import SSEClient

        with self._errors(cancel):
            for event in SSEClient(response.iter_bytes()).events():
                if event.data.strip() == "[DONE]":
                    return
                try:
                    chunk = json.loads(event.data)
                except ValueError as exc:
                    raise self._not_openai("its stream holds something that is not JSON") from exc
                if isinstance(chunk, dict) and "error" in chunk:
                    raise RemoteError(f"{self.host} stopped the reply: {_error_text(chunk)}", RETRY_HINT)
                if not isinstance(chunk, dict):
                    raise self._not_openai("its stream holds something that is not a completion chunk")
                yield chunk

    # --- errors ---------------------------------------------------------------------
    @contextlib.contextmanager
    def _errors(self, cancel: CancelToken | None = None) -> Iterator[None]:
        """httpx2's exceptions as RemoteErrors a person can act on (none once ``cancel`` is set:
        a stream closed by a stop is no failure)."""
        try:
            yield
        except httpx2.HTTPError as exc:
            if cancel is not None and cancel.cancelled:
                return
            raise self._transport_error(exc) from exc

    def _transport_error(self, exc: httpx2.HTTPError) -> RemoteError:
        host = self.host
        if isinstance(exc, httpx2.ConnectTimeout | httpx2.PoolTimeout):
            return RemoteError(f"{host} did not accept a connection within {self.timeouts.connect_s:g} s.",
                               RETRY_HINT)
        if isinstance(exc, httpx2.ReadTimeout | httpx2.WriteTimeout):
            return RemoteError(f"{host} accepted the connection but sent nothing for "
                               f"{self.timeouts.read_s:g} s.", "The server may be stuck or overloaded. " + RETRY_HINT)
        if isinstance(exc, httpx2.ConnectError):
            return RemoteError(f"Cannot reach {host}: {_reason(exc)}.", RETRY_HINT)
        if isinstance(exc, httpx2.RemoteProtocolError | httpx2.ReadError):
            return RemoteError(f"The connection to {host} broke off: {_reason(exc)}.", RETRY_HINT)
        if isinstance(exc, httpx2.UnsupportedProtocol | httpx2.InvalidURL):
            return RemoteError(f"{self.base_url} is not a URL GenLab can use: {_reason(exc)}.",
                               "Use an http:// or https:// address.")
        return RemoteError(f"Talking to {host} failed: {_reason(exc)}.", RETRY_HINT)

    def _check(self, response: httpx2.Response, what: str) -> None:
        code = response.status_code
        if code < 400:
            if what == "models" and "json" not in response.headers.get("content-type", ""):
                raise self._not_openai("its /models answer is not JSON")
            return
        detail = _error_text(_json_or_none(response)) or response.reason_phrase
        if code in (401, 403):
            raise RemoteError(f"{self.host} refused the API key ({code}: {detail}).",
                              "Check the key in Models → Remote servers (the server may need one, or another one).")
        if code == 404 and what == "models":
            raise self._not_openai("it has no /models endpoint")
        if code == 404:
            raise RemoteError(f"{self.host} does not know that model or endpoint (404: {detail}).",
                              "Refresh the source's models in Models → Remote servers.")
        if code in (429, 503):
            wait = response.headers.get("retry-after", "")
            raise RemoteError(f"{self.host} is busy ({code}: {detail}).",
                              f"Try again{' in ' + wait + ' s' if wait else ' in a moment'}.")
        raise RemoteError(f"{self.host} answered {code}: {detail}.", RETRY_HINT if code >= 500 else
                          "The server refused the request; its message says why.")

    def _not_openai(self, why: str) -> RemoteError:
        return RemoteError(f"{self.base_url} does not look like an OpenAI-compatible server: {why}.",
                           "Check the URL: most servers serve the API under /v1 (e.g. http://host:8000/v1).")


def _json_or_none(response: httpx2.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _error_text(data: Any) -> str:
    """The message of an OpenAI-style ``{"error": {"message": ...}}`` (or a plain ``{"detail": ...}``) body."""
    if not isinstance(data, dict):
        return ""
    error = data.get("error", data.get("detail"))
    if isinstance(error, dict):
        return str(error.get("message") or error)
    return str(error) if error else ""


def _reason(exc: BaseException) -> str:
    """The innermost cause's words ("Connection refused"), without errno noise."""
    while exc.__cause__ is not None or exc.__context__ is not None:
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


@contextlib.contextmanager
def closing_on_cancel(response: httpx2.Response, cancel: CancelToken, poll_s: float = 0.05) -> Iterator[None]:
    """Shut the connection of ``response`` down as soon as ``cancel`` is set, even while a read waits
    on a silent server: a read blocked in another thread wakes on shutdown (a plain close would not
    wake it on Linux), and the reading thread then closes the response as usual."""
    stream = response.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            if cancel.wait(poll_s):
                if not done.is_set() and sock is not None:
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)
                return

    watcher = threading.Thread(target=watch, name="remote-cancel", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join()
