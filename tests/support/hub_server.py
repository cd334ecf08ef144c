"""A real HTTP server on 127.0.0.1 that speaks the Hugging Face Hub protocol.

It implements the routes ``huggingface_hub`` (and GenLab's downloader) call,
with the same headers and redirects as the hub:

- ``HEAD|GET /{repo}/resolve/{revision}/{path}``: small files are served
  directly (``ETag`` = git blob sha1); LFS files answer ``302`` to a "CDN" URL
  on another host name (``localhost`` instead of ``127.0.0.1``) carrying
  ``X-Linked-Etag`` (the LFS sha256), ``X-Linked-Size`` and ``X-Repo-Commit``,
  exactly like huggingface.co redirecting to its CDN.  Renamed repos answer a
  relative ``307``.  Errors carry ``X-Error-Code`` (RepoNotFound,
  EntryNotFound, RevisionNotFound, GatedRepo).
- ``GET /cdn/{sha256}``: the bytes, with ``Range`` support.
- ``GET /api/models/{repo}[/revision/{rev}]`` (``blobs=True`` adds sizes and
  LFS info), ``GET /api/models/{repo}/tree/{rev}[/{path}]``,
  ``POST /api/models/{repo}/paths-info/{rev}`` and ``GET /api/models`` with
  ``search``/``filter``/``sort``/``limit``.  Both model routes honour
  ``expand`` as the hub does (only the listed properties, plus ``id``),
  including ``gguf`` (``total`` parameters, ``architecture``,
  ``context_length``, read from the repo's first GGUF header) and
  ``safetensors`` (parameters per dtype and ``total``, from the root
  ``.safetensors`` headers; the hub leaves diffusers sub-folders out).
  ``HubRepo.gguf`` / ``HubRepo.safetensors`` override them (a big model
  described without big files).

Faults (:class:`Faults`) are injected into content transfers: connections
dropped at given offsets, 500/429 answers, stalls, one wrong byte, a rate
limit.  :class:`Stats` counts the body bytes actually written to sockets.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

CHUNK = 256 * 1024
LFS_SUFFIXES = (".gguf", ".safetensors", ".bin", ".pt", ".ckpt", ".onnx")


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class HubFile:
    path: str
    size: int
    sha256: str
    git_sha1: str
    lfs: bool
    data: bytes | None = None
    source: Path | None = None
    advertised_size: int | None = None  # lie about the size (disk-space tests)

    def read(self, start: int, end: int) -> bytes:
        """Bytes [start, end)."""
        if self.data is not None:
            return self.data[start:end]
        with open(self.source, "rb") as fh:  # type: ignore[arg-type]
            fh.seek(start)
            return fh.read(end - start)


@dataclass
class HubRepo:
    repo_id: str
    files: dict[str, HubFile]
    commit: str
    gated: bool = False
    private: bool = False
    downloads: int = 0
    likes: int = 0
    tags: list[str] = field(default_factory=list)
    library_name: str | None = None
    pipeline_tag: str | None = None
    gguf: dict | None = None  # served instead of what the repo's GGUF header says
    safetensors: dict | None = None  # served instead of what the root .safetensors headers say


@dataclass
class Faults:
    """Faults applied to content transfers (``/cdn/`` and direct GETs).

    ``drop_offsets``: absolute file offsets; a transfer crossing one sends the
    bytes before it and closes the connection (each offset fires once).
    ``statuses``: status codes answered to the next content GETs, one each.
    ``stall_at``/``stall_seconds``: stop sending at that offset (once), keeping
    the connection open; ``stalled`` is set then, and ``stall_peer`` is the
    client's port on that connection.  ``corrupt_offset``: that byte is always sent wrong.
    ``rate``: bytes per second per connection.
    """

    drop_offsets: list[int] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    stall_at: int | None = None
    stall_seconds: float = 0.0
    corrupt_offset: int | None = None
    rate: float | None = None
    expired_signatures: int = 0  # the next N CDN requests answer 403, like an expired signed URL
    ignore_range: bool = False  # answer 200 with the whole file, as some proxies do
    opaque_etags: bool = False  # X-Linked-Etag that is not a sha256 (the checksum must come from the API)
    stalled: threading.Event = field(default_factory=threading.Event, repr=False)
    stall_peer: int | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def take_expired(self) -> bool:
        with self.lock:
            if self.expired_signatures > 0:
                self.expired_signatures -= 1
                return True
        return False

    def drop_randomly(self, count: int, size: int, seed: int = 0) -> list[int]:
        rng = random.Random(seed)
        offsets = sorted(rng.sample(range(1, size - 1), count))
        with self.lock:
            self.drop_offsets = offsets
        return offsets

    def take_drop(self, start: int, end: int) -> int | None:
        """The first pending drop offset strictly inside (start, end), consumed."""
        with self.lock:
            self.drop_offsets = [d for d in self.drop_offsets if d > start]
            if self.drop_offsets and self.drop_offsets[0] < end:
                return self.drop_offsets.pop(0)
        return None

    def take_status(self) -> int | None:
        with self.lock:
            return self.statuses.pop(0) if self.statuses else None

    def take_stall(self, start: int, end: int) -> float:
        with self.lock:
            if self.stall_at is not None and start <= self.stall_at < end:
                self.stall_at = None
                return self.stall_seconds
        return 0.0


@dataclass
class Stats:
    body_bytes: int = 0
    content_requests: int = 0
    head_requests: int = 0
    api_requests: int = 0
    ranges: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **counts: int) -> None:
        with self.lock:
            for key, value in counts.items():
                setattr(self, key, getattr(self, key) + value)

    def reset(self) -> None:
        with self.lock:
            self.body_bytes = self.content_requests = self.head_requests = self.api_requests = 0
            self.ranges.clear()


class HubServer:
    """The server; use as a context manager or call :meth:`start`/:meth:`close`.

    ``url`` is what ``HF_ENDPOINT`` should be set to.  ``tokens`` are the
    bearer tokens that open gated and private repos.
    """

    def __init__(self) -> None:
        self.repos: dict[str, HubRepo] = {}
        self.renames: dict[str, str] = {}
        self.tokens: set[str] = set()
        self.faults = Faults()
        self.stats = Stats()
        self._blobs: dict[str, HubFile] = {}
        self._stop = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.cdn_url = f"http://localhost:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="hub-server", daemon=True)

    def start(self) -> "HubServer":
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> "HubServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def add_repo(self, repo_id: str, files: dict[str, bytes | Path], **meta) -> HubRepo:
        entries: dict[str, HubFile] = {}
        for path, content in files.items():
            if isinstance(content, Path):
                digest, sha1, size = _hash_path(content)
                entry = HubFile(path, size, digest, sha1, path.endswith(LFS_SUFFIXES), source=content)
            else:
                entry = HubFile(path, len(content), hashlib.sha256(content).hexdigest(),
                                git_blob_sha1(content), path.endswith(LFS_SUFFIXES), data=content)
            entries[path] = entry
            self._blobs[entry.sha256] = entry
        commit = hashlib.sha1(repr((repo_id, sorted((p, f.sha256) for p, f in entries.items()))).encode()).hexdigest()
        repo = HubRepo(repo_id, entries, commit, **meta)
        self.repos[repo_id] = repo
        return repo

    def stop_event(self) -> threading.Event:
        return self._stop


def _hash_path(path: Path) -> tuple[str, str, int]:
    size = path.stat().st_size
    sha256 = hashlib.sha256()
    sha1 = hashlib.sha1(b"blob %d\0" % size)
    with open(path, "rb") as fh:
        while chunk := fh.read(8 * 1024 * 1024):
            sha256.update(chunk)
            sha1.update(chunk)
    return sha256.hexdigest(), sha1.hexdigest(), size


_RESOLVE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<path>.+)$")
_API_MODEL = re.compile(r"^/api/models/(?P<repo>[^/]+/[^/]+?)(?:/revision/(?P<rev>[^/]+))?$")
_API_TREE = re.compile(r"^/api/models/(?P<repo>[^/]+/[^/]+)/tree/(?P<rev>[^/]+)(?:/(?P<path>.+))?$")
_API_PATHS = re.compile(r"^/api/models/(?P<repo>[^/]+/[^/]+)/paths-info/(?P<rev>[^/]+)$")
_CDN = re.compile(r"^/cdn/(?P<sha>[0-9a-f]{64})$")


def _make_handler(hub: HubServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "GenLabTestHub/1.0"

        def log_message(self, format, *args) -> None:  # noqa: A002 - silence the default stderr log
            pass

        # --- plumbing ------------------------------------------------------
        def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None,
                  content_type: str = "application/json") -> None:
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD" and body:
                self.wfile.write(body)

        def _json(self, data, status: int = 200, headers: dict[str, str] | None = None) -> None:
            self._send(status, json.dumps(data).encode(), headers)

        def _error(self, status: int, code: str, message: str) -> None:
            self._json({"error": message}, status, {"X-Error-Code": code, "X-Error-Message": message})

        def _token(self) -> str | None:
            auth = self.headers.get("Authorization", "")
            return auth[7:] if auth.startswith("Bearer ") else None

        def _repo(self, repo_id: str, rev: str | None) -> HubRepo | None:
            """The repo, or None after answering the error the hub would give."""
            repo = hub.repos.get(repo_id)
            token = self._token()
            if repo is None or (repo.private and token not in hub.tokens):
                self._error(404 if token else 401, "RepoNotFound", "Repository not found")
                return None
            if repo.gated and token not in hub.tokens:
                status = 403 if token else 401
                self._error(status, "GatedRepo",
                            f"Access to model {repo_id} is restricted. You must have access to it "
                            "and be authenticated to access it. Please log in.")
                return None
            if rev is not None and unquote(rev) not in ("main", repo.commit):
                self._error(404, "RevisionNotFound", f"Invalid rev id: {unquote(rev)}")
                return None
            return repo

        # --- routes ----------------------------------------------------------
        def do_HEAD(self) -> None:
            hub.stats.add(head_requests=1)
            self._route()

        def do_GET(self) -> None:
            self._route()

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            path = urlsplit(self.path).path
            hub.stats.add(api_requests=1)
            if m := _API_PATHS.match(path):
                repo = self._repo(m["repo"], m["rev"])
                if repo is None:
                    return
                wanted = parse_qs(body).get("paths", [])
                self._json([_tree_entry(repo.files[p]) for p in wanted if p in repo.files])
                return
            self._error(404, "NotFound", "Not found")

        def _route(self) -> None:
            parts = urlsplit(self.path)
            path, query = parts.path, parse_qs(parts.query)
            try:
                if m := _CDN.match(path):
                    return self._cdn(m["sha"])
                if m := _RESOLVE.match(path):
                    return self._resolve(m["repo"], m["rev"], unquote(m["path"]))
                if path.startswith("/api/"):
                    hub.stats.add(api_requests=1)
                if path == "/api/models":
                    return self._list_models(query)
                if m := _API_TREE.match(path):
                    return self._tree(m["repo"], m["rev"], unquote(m["path"] or ""), query)
                if m := _API_MODEL.match(path):
                    return self._model_info(m["repo"], m["rev"], query)
                self._error(404, "NotFound", "Not found")
            except (BrokenPipeError, ConnectionResetError, socket.timeout):
                self.close_connection = True

        def _resolve(self, repo_id: str, rev: str, file_path: str) -> None:
            if repo_id in hub.renames:
                target = self.path.replace(f"/{repo_id}/", f"/{hub.renames[repo_id]}/", 1)
                self._send(307, b"", {"Location": target})
                return
            repo = self._repo(repo_id, rev)
            if repo is None:
                return
            entry = repo.files.get(file_path)
            if entry is None:
                self._error(404, "EntryNotFound", f"{file_path} does not exist on \"{rev}\"")
                return
            size = entry.advertised_size or entry.size
            headers = {"X-Repo-Commit": repo.commit, "Accept-Ranges": "bytes"}
            if entry.lfs:
                headers.update({
                    "ETag": f'"{entry.git_sha1}"',
                    "X-Linked-Etag": f'"xet-{entry.sha256[:20]}"' if hub.faults.opaque_etags else f'"{entry.sha256}"',
                    "X-Linked-Size": str(size),
                    "Location": f"{hub.cdn_url}/cdn/{entry.sha256}",
                })
                self._send(302, b"", headers, "text/plain")
                return
            headers["ETag"] = f'"{entry.git_sha1}"'
            self._content(entry, headers)

        def _cdn(self, sha: str) -> None:
            entry = hub._blobs.get(sha)
            if entry is None:
                self._send(404, b"NoSuchKey", content_type="text/plain")
                return
            if self.command == "GET" and hub.faults.take_expired():
                self._send(403, b"Request has expired", content_type="text/plain")
                return
            self._content(entry, {"ETag": f'"{entry.sha256}"', "Accept-Ranges": "bytes"})

        def _content(self, entry: HubFile, headers: dict[str, str]) -> None:
            size = entry.advertised_size or entry.size
            if self.command == "HEAD":
                self.send_response(200)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(size))
                self.end_headers()
                return
            hub.stats.add(content_requests=1)
            status = hub.faults.take_status()
            if status is not None:
                extra = {"Retry-After": "1"} if status == 429 else {}
                self._send(status, b"injected failure", extra, "text/plain")
                return
            start, end = 0, size - 1
            range_header = None if hub.faults.ignore_range else self.headers.get("Range")
            if range_header:
                with hub.stats.lock:
                    hub.stats.ranges.append(range_header)
                m = re.match(r"bytes=(\d+)-(\d*)$", range_header.strip())
                if not m or int(m[1]) >= size:
                    self._send(416, b"", {"Content-Range": f"bytes */{size}"}, "text/plain")
                    return
                start = int(m[1])
                end = min(int(m[2]), size - 1) if m[2] else size - 1
            self.send_response(206 if range_header else 200)
            for key, value in headers.items():
                self.send_header(key, value)
            if range_header:
                self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(end - start + 1))
            self.end_headers()
            self._stream(entry, start, end + 1)

        def _stream(self, entry: HubFile, start: int, stop: int) -> None:
            faults, began, pos = hub.faults, time.monotonic(), start
            chunk_size = CHUNK if faults.rate is None else max(4096, int(faults.rate / 50))
            while pos < stop:
                chunk_end = min(stop, pos + chunk_size, entry.size)
                if chunk_end <= pos:  # advertised size beyond the real data
                    self.close_connection = True
                    return
                drop = faults.take_drop(pos, chunk_end)
                stall = faults.take_stall(pos, chunk_end)
                if stall:
                    faults.stall_peer = self.client_address[1]
                    faults.stalled.set()
                    hub.stop_event().wait(stall)
                data = entry.read(pos, drop if drop is not None else chunk_end)
                if faults.corrupt_offset is not None and pos <= faults.corrupt_offset < pos + len(data):
                    i = faults.corrupt_offset - pos
                    data = data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1:]
                self.wfile.write(data)
                hub.stats.add(body_bytes=len(data))
                pos += len(data)
                if drop is not None:
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_WR)
                    self.close_connection = True
                    return
                if faults.rate:
                    ahead = (pos - start) / faults.rate - (time.monotonic() - began)
                    if ahead > 0:
                        time.sleep(ahead)

        def _model_info(self, repo_id: str, rev: str | None, query: dict) -> None:
            repo = self._repo(repo_id, rev)
            if repo is None:
                return
            blobs = query.get("blobs", ["False"])[0].lower() == "true"
            siblings = []
            for entry in repo.files.values():
                sibling = {"rfilename": entry.path}
                if blobs:
                    sibling.update({"size": entry.size, "blobId": entry.git_sha1})
                    if entry.lfs:
                        sibling["lfs"] = {"size": entry.size, "sha256": entry.sha256, "pointerSize": 134}
                siblings.append(sibling)
            data = _summary(repo)
            data.update({"sha": repo.commit, "siblings": siblings,
                         "usedStorage": sum(f.size for f in repo.files.values())})
            data.update(_parameter_info(repo))
            self._json(_expanded(data, repo, query))

        def _tree(self, repo_id: str, rev: str, folder: str, query: dict) -> None:
            repo = self._repo(repo_id, rev)
            if repo is None:
                return
            recursive = query.get("recursive", ["False"])[0].lower() == "true"
            prefix = folder.rstrip("/") + "/" if folder else ""
            entries, folders = [], set()
            for entry in repo.files.values():
                if not entry.path.startswith(prefix):
                    continue
                rest = entry.path[len(prefix):]
                if "/" in rest and not recursive:
                    folders.add(prefix + rest.split("/", 1)[0])
                    continue
                entries.append(_tree_entry(entry))
            if folder and not entries and not folders:
                self._error(404, "EntryNotFound", f"{folder} does not exist")
                return
            listing = [{"type": "directory", "oid": "0" * 40, "size": 0, "path": f} for f in sorted(folders)]
            self._json(listing + entries)

        def _list_models(self, query: dict) -> None:
            search = (query.get("search") or [""])[0].lower()
            filters = [f.lower() for f in query.get("filter", [])]
            sort = (query.get("sort") or [""])[0]
            limit = int((query.get("limit") or ["1000"])[0])
            items = []
            for repo in hub.repos.values():
                if repo.private or (search and search not in repo.repo_id.lower()):
                    continue
                labels = {t.lower() for t in repo.tags} | {(repo.library_name or "").lower()}
                if any(f not in labels for f in filters):
                    continue
                items.append((repo, _summary(repo)))
            if sort in ("downloads", "likes"):
                items.sort(key=lambda item: item[1][sort], reverse=True)
            self._json([_expanded(item, repo, query) for repo, item in items[:limit]])

    return Handler


def _summary(repo: HubRepo) -> dict:
    return {
        "_id": repo.commit[:24], "id": repo.repo_id, "modelId": repo.repo_id,
        "author": repo.repo_id.split("/")[0], "private": repo.private,
        "gated": "manual" if repo.gated else False, "disabled": False,
        "downloads": repo.downloads, "likes": repo.likes, "tags": list(repo.tags),
        "library_name": repo.library_name, "pipeline_tag": repo.pipeline_tag,
        "createdAt": "2024-09-19T00:00:00.000Z", "lastModified": "2024-09-20T00:00:00.000Z",
    }


def _expanded(data: dict, repo: HubRepo, query: dict) -> dict:
    """With ``expand``/``expand[]`` the hub answers only those properties (and the id)."""
    wanted = query.get("expand", []) + query.get("expand[]", [])
    if not wanted:
        return data
    full = {**data, **_parameter_info(repo), "sha": repo.commit,
            "usedStorage": sum(f.size for f in repo.files.values())}
    return {key: full[key] for key in ("_id", "id", *wanted) if key in full}


def _parameter_info(repo: HubRepo) -> dict:
    """The hub's ``gguf`` and ``safetensors`` properties, present only when the repo has such files."""
    info = {}
    ggufs = sorted(p for p in repo.files if p.endswith(".gguf"))
    if repo.gguf is not None or ggufs:
        info["gguf"] = repo.gguf if repo.gguf is not None else _gguf_summary(repo.files[ggufs[0]])
    roots = sorted(p for p in repo.files if p.endswith(".safetensors") and "/" not in p)
    if repo.safetensors is not None or roots:
        if repo.safetensors is not None:
            info["safetensors"] = repo.safetensors
        else:
            per_dtype: dict[str, int] = {}
            for path in roots:
                for dtype, count in _safetensors_counts(repo.files[path]).items():
                    per_dtype[dtype] = per_dtype.get(dtype, 0) + count
            info["safetensors"] = {"parameters": per_dtype, "total": sum(per_dtype.values())}
    return info


def _gguf_summary(entry: HubFile) -> dict:
    import os
    import tempfile

    from gguf import GGUFReader

    fd, tmp = tempfile.mkstemp(suffix=".gguf")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(entry.read(0, entry.size))
        reader = GGUFReader(tmp)
        fields = {name: field.contents() for name, field in reader.fields.items() if name.endswith(
            ("general.architecture", ".context_length"))}
        arch = fields.get("general.architecture") or ""
        summary = {"total": int(sum(int(t.n_elements) for t in reader.tensors)), "architecture": arch}
        if f"{arch}.context_length" in fields:
            summary["context_length"] = int(fields[f"{arch}.context_length"])
        del reader  # unmap the file before it is deleted
        return summary
    finally:
        os.unlink(tmp)


def _safetensors_counts(entry: HubFile) -> dict[str, int]:
    import struct

    (length,) = struct.unpack("<Q", entry.read(0, 8))
    header = json.loads(entry.read(8, 8 + length))
    counts: dict[str, int] = {}
    for name, tensor in header.items():
        if name == "__metadata__":
            continue
        n = 1
        for dim in tensor["shape"]:
            n *= dim
        counts[tensor["dtype"]] = counts.get(tensor["dtype"], 0) + n
    return counts


def _tree_entry(entry: HubFile) -> dict:
    data = {"type": "file", "oid": entry.git_sha1, "size": entry.size, "path": entry.path}
    if entry.lfs:
        data["lfs"] = {"oid": entry.sha256, "size": entry.size, "pointerSize": 134}
    return data


def use_hub(monkeypatch) -> HubServer:
    """Start a server and point GenLab (and huggingface_hub) at it for one test.

    The caller closes it (``request.addfinalizer(server.close)`` or a fixture).
    """
    server = HubServer().start()
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("GENLAB_OFFLINE", raising=False)
    return server


def random_bytes(size: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)


def gguf_file_bytes(size: int, seed: int = 1, arch: str = "llama", name: str = "tiny test model") -> bytes:
    """A valid GGUF v3 (metadata + one random F32 tensor) of roughly ``size`` bytes."""
    import os
    import tempfile

    import numpy as np
    from gguf import GGUFWriter

    rng = np.random.default_rng(seed)
    n = max(16, (size - 1024) // 4 // 16 * 16)
    fd, tmp = tempfile.mkstemp(suffix=".gguf")
    os.close(fd)
    try:
        writer = GGUFWriter(tmp, arch)
        writer.add_name(name)
        writer.add_context_length(2048)
        writer.add_tensor("token_embd.weight", rng.standard_normal((n // 16, 16), dtype=np.float32))
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        return Path(tmp).read_bytes()
    finally:
        os.unlink(tmp)
