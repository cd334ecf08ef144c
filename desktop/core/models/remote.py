"""Remote model sources: OpenAI-compatible servers the person added, and how their models are named.

A :class:`RemoteSource` is a base URL (``http://gpu-box:8000/v1``), a name
(``gpu-box:8000`` unless the person gives another) and the model ids the
server listed when it was last asked (``GET /v1/models``, asked only when
the person adds the source or presses Refresh).  Sources live in
``<data root>/remote_sources.json``; an API key never does: it goes to the
OS keyring (or the user-only file after it) through :mod:`desktop.core.secrets`.

A remote model is named everywhere a model path goes (Chat, an experiment
spec, an arena contender) by its reference ``remote:<source name>/<model id>``,
e.g. ``remote:gpu-box:8000/llama-3.1-8b``.  Nothing here contacts a server:
offline by default holds because only a source the person added is ever
asked anything (:mod:`desktop.core.text.remote_client` does the asking).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from desktop.core import paths, secrets
from desktop.core.errors import GenLabError

log = logging.getLogger(__name__)

REF_PREFIX = "remote:"
FILE_NAME = "remote_sources.json"


class RemoteError(GenLabError):
    """A remote source or server is wrong, down or refuses: the message says which and what to do."""


@dataclass
class RemoteSource:
    name: str
    base_url: str  # normalised: scheme://host[:port]/path, ending in /v1 unless another path was given
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])  # names the key's secret
    models: list[str] = field(default_factory=list)  # as the server last listed them
    has_key: bool = False

    @property
    def host(self) -> str:
        """``host:port`` as the URL names it, for records and badges."""
        return urlsplit(self.base_url).netloc

    @property
    def secret_name(self) -> str:
        return f"remote-source-{self.id}"

    def api_key(self) -> str:
        return secrets.read_secret(self.secret_name) if self.has_key else ""

    def ref(self, model: str) -> str:
        return model_ref(self.name, model)


@dataclass(frozen=True)
class RemoteRef:
    """A parsed ``remote:<source>/<model>`` reference."""

    source: str
    model: str


def model_ref(source: str, model: str) -> str:
    """``remote:<source>/<model>``; a slash in the model id is written %2F, so the reference survives
    being taken for a path (llama-cpp-python's server names a model by its file's absolute path)."""
    return f"{REF_PREFIX}{source}/{quote(model, safe=':@-._~+=,')}"


def is_remote_ref(ref: object) -> bool:
    return str(ref).startswith(REF_PREFIX)


def parse_ref(ref: object) -> RemoteRef:
    """The source and model of ``ref``; RemoteError when it is not ``remote:<source>/<model>``."""
    text = str(ref)
    source, _, model = text[len(REF_PREFIX):].replace("\\", "/", 1).partition("/")  # a Windows path's separator
    model = unquote(model)
    if not text.startswith(REF_PREFIX) or not source or not model:
        raise RemoteError(f"{text!r} is not a remote model reference.",
                          "Write it as remote:<source name>/<model id>, e.g. remote:gpu-box:8000/llama-3.1-8b.")
    return RemoteRef(source, model)


REMOTE_BADGE = "[remote]"  # how grids, pickers and labels mark a remote model


def display_name(ref: object) -> str:
    """A remote model as people know it: its id (a served file's name, without .gguf) and the
    source's name, ``SmolLM2-135M-Instruct.Q4_1 @ gpu-box``."""
    parsed = parse_ref(ref)
    name = Path(parsed.model).name or parsed.model
    return f"{name.removesuffix('.gguf')} @ {parsed.source}"


def normalize_base_url(text: str) -> str:
    """``text`` as a base URL (``http://host:port/v1``); RemoteError naming what is wrong with it."""
    raw = (text or "").strip()
    hint = "Type the server's address, e.g. http://192.168.1.20:8000/v1 or http://localhost:11434/v1."
    if not raw:
        raise RemoteError("The server URL is empty.", hint)
    if "://" not in raw:
        raw = "http://" + raw  # "gpu-box:8000" is what people type
    try:
        parts = urlsplit(raw)
        port = parts.port  # raises ValueError for a port that is not a number or out of range
    except ValueError as exc:
        raise RemoteError(f"{text.strip()!r} is not a valid URL ({exc}).", hint) from exc
    if parts.scheme not in ("http", "https"):
        raise RemoteError(f"{text.strip()!r} is not an http or https URL.", hint)
    if not parts.hostname or " " in raw:
        raise RemoteError(f"{text.strip()!r} names no server.", hint)
    if parts.username or parts.password:
        raise RemoteError("The URL holds a user name or password.",
                          "Put the key in the API key field instead, so it is kept in the keyring.")
    if parts.query or parts.fragment:
        raise RemoteError(f"{text.strip()!r} has a query or fragment (?… or #…).", hint)
    path = parts.path.rstrip("/") or "/v1"
    netloc = parts.hostname if port is None else f"{parts.hostname}:{port}"
    if ":" in parts.hostname:  # an IPv6 address keeps its brackets
        netloc = f"[{parts.hostname}]" + (f":{port}" if port is not None else "")
    return urlunsplit((parts.scheme, netloc, path, "", ""))


def _check_name(name: str) -> str:
    name = name.strip()
    if not name or "/" in name or any(c.isspace() for c in name):
        raise RemoteError(f"{name!r} cannot name a remote source.",
                          "Use a short name without spaces or slashes, e.g. gpu-box.")
    return name


class RemoteSources:
    """The remote sources in ``remote_sources.json`` (read on every call: small, and another window may add one)."""

    def __init__(self, file: Path | None = None) -> None:
        self._file = file

    @property
    def file(self) -> Path:
        return self._file or paths.data_root() / FILE_NAME

    def all(self) -> list[RemoteSource]:
        try:
            data = json.loads(self.file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            log.warning("cannot read %s: %s", self.file, exc)
            return []
        out = []
        for row in data.get("sources", []) if isinstance(data, dict) else []:
            try:
                out.append(RemoteSource(name=str(row["name"]), base_url=str(row["base_url"]), id=str(row["id"]),
                                        models=[str(m) for m in row.get("models", [])],
                                        has_key=bool(row.get("has_key"))))
            except (KeyError, TypeError):
                log.warning("skipping a damaged remote source in %s: %r", self.file, row)
        return out

    def get(self, name: str) -> RemoteSource:
        for source in self.all():
            if source.name == name:
                return source
        raise RemoteError(f"There is no remote source named {name!r}.",
                          "Add the server in Models → Remote servers, or fix the name.")

    def add(self, base_url: str, *, name: str = "", api_key: str = "", models: list[str] | None = None) -> RemoteSource:
        """Add (or replace, by name) a source; the key goes to the keyring."""
        url = normalize_base_url(base_url)
        source = RemoteSource(name=_check_name(name or urlsplit(url).netloc), base_url=url,
                              models=list(models or []))
        sources = [s for s in self.all() if s.name != source.name]
        for old in self.all():
            if old.name == source.name:
                secrets.delete_secret(old.secret_name)
        if api_key.strip():
            secrets.save_secret(source.secret_name, api_key)
            source.has_key = True
        self._write(sources + [source])
        return source

    def set_models(self, name: str, models: list[str]) -> RemoteSource:
        sources = self.all()
        for source in sources:
            if source.name == name:
                source.models = list(models)
                self._write(sources)
                return source
        raise RemoteError(f"There is no remote source named {name!r}.", "Add it again in Models → Remote servers.")

    def remove(self, name: str) -> None:
        sources = self.all()
        for source in sources:
            if source.name == name:
                secrets.delete_secret(source.secret_name)
        self._write([s for s in sources if s.name != name])

    def resolve(self, ref: object) -> tuple[RemoteSource, str]:
        """The source and model id of a ``remote:`` reference; RemoteError for an unknown source."""
        parsed = parse_ref(ref)
        return self.get(parsed.source), parsed.model

    def _write(self, sources: list[RemoteSource]) -> None:
        target = self.file
        target.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"version": 1, "sources": [asdict(s) for s in sources]}, indent=2)
        fd, tmp = tempfile.mkstemp(prefix=".remote-", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
