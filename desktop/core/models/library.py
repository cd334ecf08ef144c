"""The library of installed models.

``<data root>/library.json`` lists every model GenLab can use: downloaded
(from the catalog or the hub), imported (copied, moved or linked in place)
and found on disk (the Hugging Face cache, user folders such as LM Studio's
or GPT4All's).  Only verified, complete files are ever listed: downloads
are added after their hash matched, imports after their header was read.

Every model's identity is its sha256 (``hashing.model_sha256``, cached by
size and mtime); a diffusers folder's identity is the sha256 of its files'
hashes.  The history stores that identity, and re-runs look it up with
:meth:`Library.find_by_sha256`.  One identity is one entry: a second copy
of a listed model never replaces the entry while the listed file is still
there (downloads ask :meth:`Library.find_installed` first and reuse it).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import shutil
import time
import uuid
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Callable, Iterable

from desktop.core import file_lock, paths
from desktop.core.hardware import disk_free, fmt_bytes
from desktop.core.jobs import CancelToken, Progress, ProgressCallback, no_progress
from desktop.core.models import hashing
from desktop.core.models.errors import DiskFull, ImportRejected, ModelInUse, ModelsDirError, UnknownModel
from desktop.core.models.headers import ModelFacts, quantization_from_name, read_model_facts
from desktop.core.models.scan import is_embedding_file, is_lora_file

log = logging.getLogger(__name__)

IMPORT_MODES = ("copy", "move", "link")
SOURCES = ("catalog", "hub", "imported", "found")
TEXTUAL_INVERSION = "textual_inversion"  # the kind of a textual-inversion embedding ("embedding" is a text embedder)
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".ckpt", ".pt", ".gguf")


@dataclass
class LibraryModel:
    id: str  # first 16 hex digits of the sha256
    name: str
    path: str
    kind: str
    format: str
    family: str = ""
    size: int = 0
    quantization: str = ""
    source: str = "imported"
    sha256: str = ""
    added_at: float = 0.0
    last_used: float = 0.0
    repo_id: str = ""
    catalog_id: str = ""
    owned: bool = True  # GenLab placed the bytes (deleting frees them); False: linked or found
    context_length: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class DeletePlan:
    """What deleting a model would do, for the confirmation dialog."""

    model: LibraryModel
    files: list[Path]
    bytes_freed: int
    message: str


@dataclass
class ScanResult:
    added: list[LibraryModel] = field(default_factory=list)
    removed: list[LibraryModel] = field(default_factory=list)
    seen: int = 0
    rejected: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)  # copies of models listed at another path


def tree_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def model_identity(path: Path, *, cancel: CancelToken | None = None, progress: ProgressCallback = no_progress) -> str:
    """sha256 of a file, or of a folder's sorted ``relpath:sha256`` lines."""
    path = Path(path)
    if path.is_file():
        return hashing.model_sha256(path, cancel=cancel, progress=progress)
    digest = hashlib.sha256()
    for item in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(f"{item.relative_to(path).as_posix()}:{hashing.model_sha256(item, cancel=cancel)}\n".encode())
    return digest.hexdigest()


class Library:
    """File-backed list of :class:`LibraryModel`, safe across threads and processes.

    Every read-modify-write of ``library.json`` holds the file's
    cross-process lock (:mod:`desktop.core.file_lock`), so the GUI and a
    ``genlab`` command changing the library at once never lose an update;
    queries only read (:func:`~desktop.core.file_lock.reading`).
    """

    def __init__(self, index: Path | None = None, models_root: Path | None = None) -> None:
        self.index = index or paths.data_root() / "library.json"
        self.models_root = models_root or paths.models_dir()

    @property
    def _lock(self) -> file_lock.FileLock:
        return file_lock.lock_for(self.index)

    # --- storage -------------------------------------------------------------
    def _read(self) -> dict[str, LibraryModel]:
        try:
            raw = json.loads(self.index.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        names = {f.name for f in fields(LibraryModel)}
        out = {}
        for item in raw.get("models", []) if isinstance(raw, dict) else []:
            try:
                model = LibraryModel(**{k: v for k, v in item.items() if k in names})
            except TypeError:
                continue
            out[model.id] = model
        return out

    def _write(self, models: dict[str, LibraryModel]) -> None:
        file_lock.replace_json(self.index, {"version": 1, "models": [m.to_dict() for m in models.values()]},
                               indent=1)

    def _put(self, model: LibraryModel) -> LibraryModel:
        """Store ``model``; an entry of the same identity whose files are elsewhere and still there wins."""
        with self._lock:
            models = self._read()
            old = models.get(model.id)
            if old is not None and old.path != model.path and _still_there(old):
                return old
            if old is not None:
                model.added_at = old.added_at or model.added_at
                model.last_used = old.last_used
            models[model.id] = model
            self._write(models)
        return model

    # --- queries ---------------------------------------------------------------
    def models(self, kind: str | None = None) -> list[LibraryModel]:
        with file_lock.reading(self.index):
            items = list(self._read().values())
        return sorted((m for m in items if kind is None or m.kind == kind), key=lambda m: (m.kind, m.name.lower()))

    def get(self, ident: str) -> LibraryModel:
        """By id, sha256 prefix (≥ 6 digits), exact name or path, else by a name without
        its file suffix and quantization (``SmolLM2-135M-Instruct`` for
        ``SmolLM2-135M-Instruct.Q4_1.gguf``), case-insensitive, when only one model has it."""
        ident = ident.strip()
        models = self.models()
        for model in models:
            if ident in (model.id, model.sha256, model.name, model.path):
                return model
        matches = [m for m in models if len(ident) >= 6 and m.sha256.startswith(ident.lower())]
        if len(matches) == 1:
            return matches[0]
        wanted = ident.lower()
        matches = [m for m in models if wanted in _short_names(m.name)]
        if len(matches) == 1:
            return matches[0]
        if matches:
            names = ", ".join(f"{m.name} ({m.id[:12]})" for m in matches)
            raise UnknownModel(f"{ident!r} matches {len(matches)} models of the library: {names}.",
                               "Give the full name or the id shown in `genlab models list`.")
        raise UnknownModel(f"No model in the library matches {ident!r}.", "List them with `genlab models list`.")

    def find_by_sha256(self, sha256: str) -> LibraryModel | None:
        return next((m for m in self.models() if m.sha256 == sha256), None)

    def find_installed(self, sha256: str, size: int, *, cancel: CancelToken | None = None) -> LibraryModel | None:
        """A listed model file with this sha256 that is still on disk with this size and these bytes.

        Any source counts (found on disk, imported, hub, catalog).  The hash
        check is free while the file is unchanged (cached by size and mtime).
        """
        for model in self.models():
            path = Path(model.path)
            if model.sha256 != sha256 or not path.is_file() or path.stat().st_size != size:
                continue
            if hashing.model_sha256(path, cancel=cancel) == sha256:
                return model
        return None

    def note_origin(self, ident: str, *, repo_id: str = "", catalog_id: str = "") -> LibraryModel:
        """Fill in where a model comes from (hub repo, catalog entry) where that is not known yet."""
        with self._lock:
            models = self._read()
            model = models[self.get(ident).id]
            model.repo_id = model.repo_id or repo_id
            model.catalog_id = model.catalog_id or catalog_id
            self._write(models)
        return model

    def total_usage(self, owned_only: bool = False) -> int:
        return sum(m.size for m in self.models() if m.owned or not owned_only)

    def mark_used(self, ident: str) -> None:
        with self._lock:
            models = self._read()
            model = self.get(ident)
            models[model.id].last_used = time.time()
            self._write(models)

    def find_by_path(self, path: Path) -> LibraryModel | None:
        target = str(Path(path).absolute())
        return next((m for m in self.models() if m.path == target), None)

    def register_opened(self, path: Path, *, sha256: str = "") -> LibraryModel | None:
        """An engine loaded the model at ``path``: list it if it is not listed, and stamp its use.

        A file or folder opened by path (Open…, Folder…, ``--model PATH``) is
        listed as a link (``owned=False``: nothing is copied, and deleting the
        entry never deletes the files), so a re-run finds it by sha256, "last
        used" shows it, and a delete elsewhere is guarded.  ``sha256`` is the
        identity the engine computed already.  Best effort: a library that
        cannot be written never stops a load; the entry is returned, or None.
        """
        try:
            model = self.find_by_path(path)
            if model is None:
                model = self.add_path(Path(path), source="imported", owned=False, sha256=sha256)
            self.mark_used(model.id)
            return model
        except Exception:
            log.warning("library: could not list or stamp %s", path, exc_info=True)
            return None

    def identity(self, path: Path, *, mark_used: bool = True):
        """The :class:`~desktop.core.records.ModelIdentity` an engine records for the model at ``path``.

        Uses the library's entry when there is one (and stamps its last use),
        else hashes the file (cached by size and mtime).
        """
        from desktop.core.records import ModelIdentity

        path = Path(path)
        model = self.find_by_path(path)
        if model is None:
            facts = None
            try:
                facts = read_model_facts(path)
            except ImportRejected:
                pass
            files = [] if path.is_file() else sorted(p.relative_to(path).as_posix() for p in path.rglob("*")
                                                     if p.is_file())
            return ModelIdentity(name=(facts.name if facts else "") or path.name, file=path.name,
                                 sha256=model_identity(path), size=tree_size(path),
                                 quantization=(facts.quantization if facts else "") or quantization_from_name(path.name),
                                 files=files)
        if mark_used:
            self.mark_used(model.id)
        files = [] if model.format != "diffusers" else sorted(
            p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file())
        return ModelIdentity(name=model.name, file=path.name, sha256=model.sha256, size=model.size,
                             quantization=model.quantization, files=files)

    # --- adding ---------------------------------------------------------------
    def add_path(self, path: Path, *, source: str, owned: bool, repo_id: str = "", catalog_id: str = "",
                 sha256: str = "", facts: ModelFacts | None = None, name: str = "",
                 cancel: CancelToken | None = None, progress: ProgressCallback = no_progress) -> LibraryModel:
        """Add a complete, valid model at ``path`` (header read first).

        Returns the entry that is listed: the existing one when the same model
        is already listed at another path that still exists.
        """
        path = Path(path).absolute()
        facts = facts or read_model_facts(path)
        if facts.format == "safetensors" and is_lora_file(path):
            # A LoRA's keys can look like a UNet's; the Images LoRA panel lists this kind, the model picker
            # never does.  Its base family is read from its header by desktop.core.image.lora where shown
            # (this layer does not import the image domain).
            facts = dataclasses.replace(facts, kind="lora", family="")
        elif facts.format == "safetensors" and is_embedding_file(path):
            # Textual-inversion embeddings: a few vectors for the text encoder, used when their token is in
            # a prompt; desktop.core.image.embeddings reads their base family from the vectors' width.
            facts = dataclasses.replace(facts, kind=TEXTUAL_INVERSION, family="")
        digest = sha256 or model_identity(path, cancel=cancel, progress=progress)
        if sha256 and path.is_file():
            hashing.remember_sha256(path, sha256)
        model = LibraryModel(
            id=digest[:16], name=name or (facts.name if facts.format == "diffusers" else path.name) or path.name,
            path=str(path), kind=facts.kind, format=facts.format, family=facts.family, size=tree_size(path),
            quantization=facts.quantization or quantization_from_name(path.name), source=source, sha256=digest,
            added_at=time.time(), repo_id=repo_id, catalog_id=catalog_id, owned=owned,
            context_length=facts.context_length)
        return self._put(model)

    def add_download(self, result, *, source: str = "hub", catalog_id: str = "") -> LibraryModel:
        """Add a verified :class:`~desktop.core.hub.download.DownloadResult`."""
        return self.add_path(result.path, source=source, owned=True, repo_id=result.ref.repo_id,
                             catalog_id=catalog_id, sha256=result.sha256)

    def import_path(self, source: Path, mode: str = "copy", *, cancel: CancelToken | None = None,
                    progress: ProgressCallback = no_progress) -> LibraryModel:
        """Validate, then copy / move / link a model file or diffusers folder into the library."""
        cancel = cancel or CancelToken()
        if mode not in IMPORT_MODES:
            raise ImportRejected(f"Unknown import mode {mode!r}.", f"Use one of {', '.join(IMPORT_MODES)}.")
        source = Path(source).expanduser().absolute()
        facts = read_model_facts(source)  # validates before anything is copied
        folder = None if mode == "link" else self._import_folder()  # a read-only library fails before hashing
        digest = model_identity(source, cancel=cancel, progress=progress)
        listed = next((m for m in self.models() if m.sha256 == digest and _still_there(m)), None)
        if listed is not None and listed.path == str(source):
            return listed
        if listed is not None:
            raise ImportRejected(f"{source.name} is already in the library as {listed.name} ({listed.source}) "
                                 f"at {listed.path}.", "Use that one; nothing was imported.")
        if mode == "link":
            return self.add_path(source, source="imported", owned=False, facts=facts, sha256=digest)
        assert folder is not None  # every mode but link has one
        target = _reserve_name(folder, source)
        try:
            size = tree_size(source)
            same_fs = _same_filesystem(source, target.parent)
            if not (mode == "move" and same_fs) and size + 16 * 1024 * 1024 > disk_free(target.parent):
                raise DiskFull(f"Not enough space to import {source.name} ({fmt_bytes(size)}) into "
                               f"{target.parent} ({fmt_bytes(disk_free(target.parent))} free).",
                               "Free some space or import as a link.")
            if mode == "move" and same_fs:
                _rename_onto(source, target)
            else:
                _copy_tree(source, target, size, cancel, progress)
        except BaseException:
            _unreserve(target)
            raise
        if mode == "move" and not same_fs:
            shutil.rmtree(source) if source.is_dir() else source.unlink()
        return self.add_path(target, source="imported", owned=True, facts=facts, sha256=digest)

    def _import_folder(self) -> Path:
        folder = self.models_root / "imported"
        ModelsDirError.require_writable(folder, "Choose a writable models folder (GENLAB_MODELS_DIR) or import "
                                                "as a link.")
        return folder

    # --- verify / delete -------------------------------------------------------
    def verify(self, ident: str, *, cancel: CancelToken | None = None,
               progress: ProgressCallback = no_progress) -> tuple[bool, str]:
        """Re-hash a model from disk (ignoring the cache); returns (ok, message)."""
        model = self.get(ident)
        path = Path(model.path)
        if not path.exists():
            return False, f"{model.name}: the file {path} is missing."
        if path.is_file():
            actual = hashing.sha256_file(path, cancel=cancel, progress=progress)
            hashing.remember_sha256(path, actual)
        else:
            actual = model_identity(path, cancel=cancel)
        if actual != model.sha256:
            return False, f"{model.name}: CHANGED on disk (sha256 {actual[:12]}…, expected {model.sha256[:12]}…)."
        return True, f"{model.name}: OK ({fmt_bytes(model.size)}, sha256 {actual[:12]}…)."

    def plan_delete(self, ident: str, *, is_loaded: Callable[[Path], bool] | None = None) -> DeletePlan:
        """What deleting a model would do; raises :class:`ModelInUse` when it is loaded.

        ``is_loaded`` is the caller's own check (the GUI's engines); every
        caller also gets the cross-process one, a GenLab process holding
        the model loaded (:mod:`desktop.core.models.locks`; not on Windows,
        where only ``is_loaded`` guards).
        """
        from desktop.core.models import locks as model_locks

        model = self._deletable(ident, is_loaded)
        path = Path(model.path)
        if path.exists() and model_locks.loaded_anywhere(path):
            raise _loaded_elsewhere(model)
        return _delete_plan(model)

    def delete(self, ident: str, *, is_loaded: Callable[[Path], bool] | None = None) -> DeletePlan:
        """Delete a model (its files when GenLab owns them); refuses a loaded model (see :meth:`plan_delete`).

        The files go under the model's exclusive lock, so no engine starts
        loading them meanwhile; that lock is also the cross-process check.
        """
        from desktop.core.models import locks as model_locks

        model = self._deletable(ident, is_loaded)
        path = Path(model.path)
        with model_locks.deletion_guard(path) as free:
            if not free and path.exists():  # some GenLab process has it loaded
                raise _loaded_elsewhere(model)
            plan = _delete_plan(model)
            for item in plan.files:
                shutil.rmtree(item) if item.is_dir() else item.unlink()
        with self._lock:
            models = self._read()
            models.pop(plan.model.id, None)
            self._write(models)
        return plan

    def _deletable(self, ident: str, is_loaded: Callable[[Path], bool] | None) -> LibraryModel:
        """The model ``ident`` names; raises :class:`ModelInUse` when the caller has it loaded."""
        model = self.get(ident)
        path = Path(model.path)
        # A model whose files are gone cannot be loaded: it just leaves the list.
        if path.exists() and is_loaded is not None and is_loaded(path):
            raise ModelInUse(f"{model.name} is loaded in this window, so it cannot be deleted.",
                             "Unload it (or switch to another model) and try again.")
        return model

    # --- scanning ----------------------------------------------------------------
    def scan(self, folders: Iterable[Path] = (), *, hf_cache: bool = True, cancel: CancelToken | None = None,
             progress: ProgressCallback = no_progress) -> ScanResult:
        """Find models already on disk (HF cache, user folders) without copying them."""
        from desktop.core.models.scan import candidates_in_folders, candidates_in_hf_cache

        cancel = cancel or CancelToken()
        result = ScanResult()
        known = {m.path: m for m in self.models()}
        found: list[tuple[Path, str, str]] = []  # (path, sha256 or "", repo_id)
        if hf_cache:
            found += candidates_in_hf_cache()
        # <models dir>/loras is where a <lora:name> tag is looked for, and <models dir>/embeddings where a
        # prompt's embedding names are, so their files are listed too.
        own = [self.models_root / "loras", self.models_root / "embeddings"]
        found += [(p, "", "") for p in dict.fromkeys(candidates_in_folders([*folders, *own]))]
        for i, (path, sha, repo_id) in enumerate(found):
            cancel.raise_if_cancelled()
            progress(Progress(i / max(len(found), 1), f"Checking {path.name}", i, len(found)))
            result.seen += 1
            if str(path.absolute()) in known:
                continue
            try:
                model = self.add_path(path, source="found", owned=False, repo_id=repo_id, sha256=sha, cancel=cancel)
            except ImportRejected as exc:
                result.rejected.append(str(exc))
                continue
            if model.path == str(path.absolute()):
                result.added.append(model)
            else:  # a second copy of a listed model: the listed entry stays as it is
                result.duplicates.append(str(path))
        for model in known.values():  # found models whose files are gone
            if model.source == "found" and not Path(model.path).exists():
                self.delete(model.id)
                result.removed.append(model)
        return result


def installed_variant(entry, variant, models: Iterable[LibraryModel]) -> LibraryModel | None:
    """The listed model that is this catalog variant, if any (a :class:`~desktop.core.models.catalog.CatalogEntry`'s).

    A model matches by the sha256 the catalog carries for the variant's main
    file, or by repo and file name (a diffusers folder: by repo, holding the
    main file), whatever its source; its file must still be on disk.
    """
    main = variant.main_file
    name = Path(main.name).name
    for model in models:
        path = Path(model.path)
        if main.sha256 and model.sha256 == main.sha256 and path.is_file():
            return model
        if model.repo_id != entry.repo_id:
            continue
        if model.format == "diffusers" and (path / main.name).is_file():
            return model
        if model.format != "diffusers" and path.name == name and path.is_file():
            return model
    return None


def _delete_plan(model: LibraryModel) -> DeletePlan:
    """What deleting ``model`` removes and frees (its files only when GenLab owns them)."""
    path = Path(model.path)
    if not model.owned:
        return DeletePlan(model, [], 0, f"Remove {model.name} from the library? Its files at {path} are "
                                        "not GenLab's and stay on disk.")
    freed = tree_size(path) if path.exists() else 0
    return DeletePlan(model, [path] if path.exists() else [], freed,
                      f"Delete {model.name}? This frees {fmt_bytes(freed)} at {path}.")


def _loaded_elsewhere(model: LibraryModel) -> ModelInUse:
    return ModelInUse(f"{model.name} is loaded in a running GenLab, so it cannot be deleted.",
                      "Unload it there (or close the app) and try again.")


def _reserve_name(folder: Path, source: Path) -> Path:
    """``folder/<source name>``, numbered when taken, made at once so that no other import picks it too.

    The reservation is an empty file (or folder, for a folder) created
    exclusively; the import then renames its finished copy onto it.
    """
    n = 0
    while True:
        target = folder / (source.name if n == 0 else f"{source.stem}-{n}{source.suffix}")
        try:
            _make_exclusively(target, folder=source.is_dir())
            return target
        except FileExistsError:
            n += 1


def _make_exclusively(path: Path, *, folder: bool) -> None:
    """Create an empty file or folder at ``path``; FileExistsError when something is there."""
    if folder:
        path.mkdir()
    else:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))


def _unreserve(target: Path) -> None:
    """Remove a reservation that got no copy (it is still empty)."""
    with contextlib.suppress(OSError):
        if target.is_dir():
            target.rmdir()  # only when empty
        elif target.stat().st_size == 0:
            target.unlink()


def _rename_onto(source: Path, target: Path) -> None:
    """Rename ``source`` onto its reservation ``target`` (an empty file or folder)."""
    try:
        os.replace(source, target)  # POSIX replaces an empty folder too
    except OSError:
        if not (source.is_dir() and target.is_dir()):
            raise
        target.rmdir()  # Windows renames no folder onto another
        os.replace(source, target)


def _still_there(model: LibraryModel) -> bool:
    """Whether a listed model's files are still on disk, unchanged as far as is known without re-hashing."""
    path = Path(model.path)
    try:
        if not path.is_file():
            return path.is_dir()
        cached = hashing.cached_sha256(path)
        return cached == model.sha256 if cached is not None else path.stat().st_size == model.size
    except OSError:
        return False


def _same_filesystem(a: Path, b: Path) -> bool:
    try:
        return a.stat().st_dev == b.stat().st_dev
    except OSError:
        return False


def _copy_tree(source: Path, target: Path, total: int, cancel: CancelToken, progress: ProgressCallback) -> None:
    """Copy a file or folder in chunks, checking cancel, to a hidden name beside ``target``, then rename it onto
    ``target``: the copy appears whole or not at all, and a cancelled or failed one leaves nothing behind."""
    files = [source] if source.is_file() else sorted(p for p in source.rglob("*") if p.is_file())
    staging = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}.importing")
    _make_exclusively(staging, folder=source.is_dir())
    done = 0
    try:
        for item in files:
            dest = staging if source.is_file() else staging / item.relative_to(source)
            dest.parent.mkdir(parents=True, exist_ok=True)
            with open(item, "rb") as src, open(dest, "wb") as out:
                while chunk := src.read(4 * 1024 * 1024):
                    cancel.raise_if_cancelled()
                    out.write(chunk)
                    done += len(chunk)
                    progress(Progress(done / max(total, 1), f"Copying {source.name}", done, total))
            shutil.copystat(item, dest)
        _rename_onto(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True) if staging.is_dir() else staging.unlink(missing_ok=True)
        raise


# Files a model reference names by suffix (a path, not a library entry).
MODEL_SUFFIXES = (".gguf", ".safetensors", ".ckpt", ".pt", ".pth", ".bin")


def _short_names(name: str) -> set[str]:
    """The lower-case forms a user may type for ``name``: without the file suffix, and also
    without a trailing quantization (``.Q4_1``, ``-Q4_K_M``, ``.f16``)."""
    lower = name.lower()
    stem = Path(lower).stem if Path(lower).suffix in MODEL_SUFFIXES else lower
    forms = {lower, stem}
    quant = quantization_from_name(name)
    if quant:
        for sep in (".", "-", "_"):
            tail = f"{sep}{quant.lower()}"
            if stem.endswith(tail):
                forms.add(stem[: -len(tail)])
    return forms


def looks_like_path(ref: str, suffixes: Iterable[str] = MODEL_SUFFIXES) -> bool:
    """A separator or a model file suffix: ``ref`` names a file, not a library entry."""
    return any(sep in ref for sep in ("/", "\\")) or Path(ref).suffix.lower() in tuple(suffixes)


def resolve_model(ref: str, suffixes: Iterable[str] = MODEL_SUFFIXES) -> Path:
    """The path ``ref`` means: a path as given (an existing one, or one that looks like a path, so
    a missing file is reported by its own name), else a library model by id, sha256 prefix or
    name (:meth:`Library.get`).  The one rule for ``genlab text/image --model`` and sweep specs."""
    path = Path(ref).expanduser()
    if path.exists() or looks_like_path(ref, suffixes):
        return path
    return Path(Library().get(ref).path)
