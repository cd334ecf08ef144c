"""Finding models on the hub: search, repo ids and URLs, a repo's files.

:func:`open_or_search` is the Hub tab's box: a hub URL or an existing repo
id opens that repo, any other text (``Qwen/Qwen2.5`` included) is searched.
Searching never errors or hangs: when the hub cannot be reached within a
few seconds the result says "offline" (or "timed out") and the caller shows
that.  Listing a repo's files raises readable errors (no such repo, gated)
because the user asked for one specific thing.

Fit verdicts: a search result is judged from the parameter count the hub
reports (:func:`search_result_fit`), or not at all; a repo listing is judged
per choosable model (:func:`repo_choices`): each GGUF file, a root
``.safetensors`` checkpoint, and a diffusers repo's pipeline as a whole
(:func:`pipeline_download_set`, the fp16 weights when the repo has them).
"""

from __future__ import annotations

import concurrent.futures
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal
from urllib.parse import unquote, urlsplit

from desktop.core.hardware import MachineInfo
from desktop.core.hub.access import endpoint as hub_endpoint
from desktop.core.hub.access import hub_error, hub_online, hub_reachable
from desktop.core.hub.access import token as stored_token
from desktop.core.models.errors import HubError, HubOffline, NotAHubUrl, NotOnHub
from desktop.core.models.fit import FitVerdict, fit_image, fit_model, fit_parameters
from desktop.core.models.headers import quantization_from_name

if TYPE_CHECKING:  # huggingface_hub itself loads when a search runs
    from huggingface_hub.hf_api import ExpandModelProperty_T

KIND_FILTERS = {"text": "gguf", "image": "diffusers"}
Sort = Literal["downloads", "likes"]
SORTS: dict[str, Sort] = {"downloads": "downloads", "likes": "likes"}  # what a person may ask for, typed
HUB_HOSTS = {"huggingface.co", "www.huggingface.co", "hf.co"}
MODEL_SUFFIXES = (".gguf", ".safetensors")
# What a search asks the hub for: the row's fields plus the parameter counts a verdict needs.
SEARCH_EXPAND: list[ExpandModelProperty_T] = ["downloads", "likes", "tags", "library_name", "gated", "pipeline_tag", "gguf", "safetensors"]
CHOOSE_A_FILE = "choose a file to see if it fits"
# The components GenLab loads from a diffusers folder (image_model_files.REQUIRED); others are not fetched.
PIPELINE_COMPONENTS = ("unet", "vae", "text_encoder", "text_encoder_2", "tokenizer", "tokenizer_2", "scheduler")
PIPELINE_WEIGHTS = ("unet", "vae", "text_encoder", "text_encoder_2")
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
    params: int = 0  # from the hub's gguf.total or safetensors.total; 0 when it did not say
    context_length: int = 0  # gguf.context_length


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
    if text.lower().startswith(("hf.co/", "huggingface.co/", "www.huggingface.co/")):
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


def looks_like_url(text: str) -> bool:
    """Whether ``text`` is meant as a web address (rather than a repo id or a search)."""
    return "://" in text or text.strip().lower().startswith(("hf.co/", "huggingface.co/", "www."))


def _kind_of(tags: list[str], library: str | None) -> str:
    labels = set(tags or []) | {library or ""}
    return "image" if "diffusers" in labels else "text" if "gguf" in labels else ""


def _hub_model(m) -> HubModel:
    gguf = m.gguf if isinstance(m.gguf, dict) else {}
    params = int(gguf.get("total") or 0) or int(getattr(m.safetensors, "total", 0) or 0)
    return HubModel(m.id, m.downloads or 0, m.likes or 0, _kind_of(m.tags, m.library_name), list(m.tags or []),
                    bool(m.gated), m.pipeline_tag or "", params, int(gguf.get("context_length") or 0))


def search_result_fit(model: HubModel, machine: MachineInfo, context: int = 4096) -> FitVerdict | None:
    """An estimated verdict when the hub reported a parameter count, else None (choose a file)."""
    if not model.params or model.kind not in ("text", "image"):
        return None
    return fit_parameters(model.kind, model.params, machine, context=context, context_length=model.context_length)


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
                found = api.list_models(search=query or None, filter=KIND_FILTERS.get(kind), sort=SORTS[sort], limit=limit,
                                        expand=SEARCH_EXPAND)
                return [_hub_model(m) for m in found]

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


@dataclass
class HubLookup:
    """What the Hub tab's box led to: a repo and its files, or search results (with a note why)."""

    ref: RepoRef | None = None
    files: list[HubRepoFile] = field(default_factory=list)
    search: SearchResult | None = None
    note: str = ""


def open_or_search(text: str, *, kind: str = "text", sort: str = "downloads", limit: int = 30) -> HubLookup:
    """Open the repo ``text`` names, or search for ``text``.

    A hub URL opens its repo (a repo that is not there raises
    :class:`NotOnHub`; a URL of another site raises :class:`NotAHubUrl`).
    ``owner/name`` opens that repo when it exists; when it does not (for
    example ``Qwen/Qwen2.5``, the start of many repo names) it is searched
    for instead, and the note says so.  Anything else is a search.
    """
    text = text.strip()
    note = ""
    if looks_like_url(text):
        ref = parse_repo_ref(text)
        return HubLookup(ref, list_repo_files(ref.repo_id, ref.revision))
    if _REPO_ID.match(text):
        try:
            return HubLookup(RepoRef(text), list_repo_files(text))
        except NotOnHub:
            note = f"No repo is named exactly {text}; showing the search results for it instead."
    return HubLookup(search=search_models(text, kind=kind, sort=sort, limit=limit), note=note)


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


@dataclass
class RepoChoice:
    """One model a repo offers: a GGUF file, a single-file checkpoint or a whole diffusers pipeline."""

    label: str
    files: list[str]
    size: int  # bytes the download fetches
    quantization: str
    verdict: FitVerdict


def _is_fp16(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return ".fp16." in name or ".fp16-" in name


def pipeline_download_set(files: list[HubRepoFile]) -> tuple[list[HubRepoFile], str] | None:
    """The files a diffusers pipeline download fetches, and its weights' precision ("fp16" or "fp32").

    ``model_index.json``, the configs of the components GenLab loads, and
    one set of ``.safetensors`` weights per component: the fp16 variant when
    the repo has one (half the bytes), else the full-precision files.  None
    when the repo is not a diffusers pipeline, or a component has no
    ``.safetensors`` weights (GenLab does not load pickles).
    """
    by_path = {f.path: f for f in files}
    if "model_index.json" not in by_path:
        return None
    chosen, fp16_everywhere = [by_path["model_index.json"]], True
    for component in PIPELINE_COMPONENTS:
        inside = [f for f in files if f.path.startswith(component + "/") and f.path.count("/") == 1]
        if not inside:
            continue
        chosen += [f for f in inside if f.path.endswith((".json", ".txt"))]
        if component in PIPELINE_WEIGHTS:
            weights = [f for f in inside if f.path.endswith(".safetensors")]
            half = [f for f in weights if _is_fp16(f.path)]
            if not weights:
                return None
            fp16_everywhere &= bool(half)
            chosen += half or weights
    if len(chosen) == 1:
        return None
    return chosen, "fp16" if fp16_everywhere else "fp32"


def repo_choices(files: list[HubRepoFile], machine: MachineInfo, context: int = 4096) -> list[RepoChoice]:
    """Every model in a repo listing that can be chosen, each with its fit verdict."""
    choices = []
    pipeline = pipeline_download_set(files)
    if pipeline is not None:
        chosen, precision = pipeline
        size = sum(f.size for f in chosen)
        weights = sum(f.size for f in chosen if f.path.endswith(".safetensors"))
        fp16_weights = weights if precision == "fp16" else weights // 2  # loaded as fp16 on a GPU
        verdict = fit_image(fp16_weights, machine)
        verdict.basis = f"the {precision} pipeline, {len(chosen)} files"
        choices.append(RepoChoice(f"whole pipeline ({precision}, {len(chosen)} files)", [f.path for f in chosen],
                                  size, precision.upper(), verdict))
    for f in files:
        if f.path.endswith(".gguf"):
            choices.append(RepoChoice(f.path, [f.path], f.size, f.quantization, fit_model("text", f.size, machine,
                                                                                          context=context)))
        elif f.path.endswith(".safetensors") and "/" not in f.path and pipeline is not None:
            verdict = fit_image(f.size, machine)  # a single-file checkpoint beside the pipeline
            verdict.basis = "single-file checkpoint"
            choices.append(RepoChoice(f.path, [f.path], f.size, f.quantization, verdict))
    return choices
