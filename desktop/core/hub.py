"""Finding models on the hub: search, repo ids and URLs, a repo's files.

Searching never errors or hangs: when the hub cannot be reached within a
few seconds the result says "offline" (or "timed out") and the caller shows
that.  Listing a repo's files raises readable errors (no such repo, gated)
because the user asked for one specific thing.
"""

from __future__ import annotations

import concurrent.futures
import re
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from desktop.core.model_errors import HubError, HubOffline, NotAHubUrl
from desktop.core.model_headers import quantization_from_name
from desktop.core.model_hub_access import endpoint as hub_endpoint
from desktop.core.model_hub_access import hub_error, hub_online, hub_reachable
from desktop.core.model_hub_access import token as stored_token

KIND_FILTERS = {"text": "gguf", "image": "diffusers"}
SORTS = ("downloads", "likes")
HUB_HOSTS = {"huggingface.co", "www.huggingface.co", "hf.co"}
MODEL_SUFFIXES = (".gguf", ".safetensors")
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")

_pool = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="genlab-hub")


@dataclass
class HubModel:
    repo_id: str
    downloads: int = 0
    likes: int = 0
    kind: str = ""
    tags: list[str] = field(default_factory=list)
    gated: bool = False
    pipeline_tag: str = ""


@dataclass
class SearchResult:
    status: str  # "ok" | "offline" | "timeout" | "error"
    models: list[HubModel] = field(default_factory=list)
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass
class HubRepoFile:
    path: str
    size: int
    quantization: str
    sha256: str = ""  # LFS files

    @property
    def is_model_file(self) -> bool:
        return self.path.endswith(MODEL_SUFFIXES)


@dataclass
class RepoRef:
    repo_id: str
    filename: str | None = None
    revision: str = "main"


def parse_repo_ref(text: str) -> RepoRef:
    """``org/name``, or a hub URL to a repo or to one file (``/blob/`` or ``/resolve/``)."""
    text = text.strip()
    if _REPO_ID.match(text):
        return RepoRef(text)
    if text.startswith(("hf.co/", "huggingface.co/")):
        text = "https://" + text
    parts = urlsplit(text)
    own_host = urlsplit(hub_endpoint()).netloc
    if parts.scheme not in ("http", "https") or (parts.netloc.lower() not in HUB_HOSTS and parts.netloc != own_host):
        raise NotAHubUrl(f"{text!r} is neither a repo id (owner/name) nor a Hugging Face hub URL.",
                         "Paste something like Qwen/Qwen2.5-0.5B-Instruct-GGUF or https://huggingface.co/Qwen/…")
    segments = [unquote(s) for s in parts.path.split("/") if s]
    if segments and segments[0] in ("datasets", "spaces"):
        raise NotAHubUrl(f"{text} is a {segments[0][:-1]}, not a model.", "Paste the URL of a model repo.")
    if len(segments) < 2:
        raise NotAHubUrl(f"{text} does not name a model repo.", "A repo URL looks like https://huggingface.co/owner/name.")
    repo_id = "/".join(segments[:2])
    if len(segments) >= 5 and segments[2] in ("blob", "resolve"):
        return RepoRef(repo_id, "/".join(segments[4:]), segments[3])
    if len(segments) >= 4 and segments[2] == "tree":
        return RepoRef(repo_id, None, segments[3])
    return RepoRef(repo_id)


def _kind_of(tags: list[str], library: str | None) -> str:
    labels = set(tags or []) | {library or ""}
    return "image" if "diffusers" in labels else "text" if "gguf" in labels else ""


def search_models(query: str, *, kind: str = "text", sort: str = "downloads", limit: int = 30,
                  timeout: float = 8.0) -> SearchResult:
    """Search the hub for GGUF (text) or diffusers (image) models; never raises."""
    if sort not in SORTS:
        return SearchResult("error", message=f"Sort by {' or '.join(SORTS)}, not {sort!r}.")
    try:
        with hub_online():
            if not hub_reachable(min(timeout, 3.0)):
                return SearchResult("offline", message=f"Offline: {hub_endpoint()} cannot be reached. "
                                    "Installed models, import and the catalog still work.")

            def run() -> list[HubModel]:
                from huggingface_hub import HfApi

                api = HfApi(endpoint=hub_endpoint(), token=stored_token() or False)
                found = api.list_models(search=query or None, filter=KIND_FILTERS.get(kind), sort=sort, limit=limit)
                return [HubModel(m.id, m.downloads or 0, m.likes or 0, _kind_of(m.tags, m.library_name),
                                 list(m.tags or []), bool(m.gated), m.pipeline_tag or "") for m in found]

            future = _pool.submit(run)
            try:
                models = future.result(timeout=timeout)
            except concurrent.futures.TimeoutError:
                return SearchResult("timeout", message=f"The hub did not answer within {timeout:.0f} s; try again.")
    except HubOffline as exc:
        return SearchResult("offline", message=str(exc))
    except Exception as exc:
        err = hub_error(exc, query or "search")
        status = "offline" if isinstance(err, HubOffline) else "error"
        return SearchResult(status, message=str(err))
    return SearchResult("ok", models, f"{len(models)} model(s)")


def list_repo_files(repo_id: str, revision: str = "main", *, timeout: float = 15.0) -> list[HubRepoFile]:
    """The repo's files with sizes, LFS hashes and quantization from their names."""
    from huggingface_hub import HfApi
    from huggingface_hub.hf_api import RepoFile

    api = HfApi(endpoint=hub_endpoint(), token=stored_token() or False)
    try:
        with hub_online():
            if not hub_reachable(min(timeout, 3.0)):
                raise HubOffline(f"Offline: {hub_endpoint()} cannot be reached.", "Connect to the network, then retry.")
            future = _pool.submit(lambda: list(api.list_repo_tree(repo_id, recursive=True, revision=revision)))
            items = future.result(timeout=timeout)
    except HubError:
        raise
    except concurrent.futures.TimeoutError:
        raise HubOffline(f"The hub did not answer within {timeout:.0f} s.", "Try again later.") from None
    except Exception as exc:
        raise hub_error(exc, repo_id) from exc
    files = [HubRepoFile(i.path, int(i.size or 0), quantization_from_name(i.path), i.lfs.sha256 if i.lfs else "")
             for i in items if isinstance(i, RepoFile)]
    return sorted(files, key=lambda f: (not f.is_model_file, f.path))
