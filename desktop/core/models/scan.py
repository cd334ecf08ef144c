"""Where models already on disk are found: the Hugging Face cache and user folders.

Nothing is copied.  The cache is read with ``huggingface_hub.scan_cache_dir``
(its location taken from ``HF_HUB_CACHE``/``HF_HOME`` at call time); an LFS
blob's file name in the cache *is* its sha256, so cached GGUFs need no
re-hash.  User folders (LM Studio's, GPT4All's, any other) are searched for
``.gguf`` files, diffusers folders, LoRA ``.safetensors`` files (told
apart from checkpoints by their tensor names: :func:`is_lora_file`) and
textual-inversion embeddings (a handful of vectors: :func:`embedding_layout`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

SKIP_DIRS = {".git", "__pycache__", "node_modules", ".cache"}
# The down-projection tensors every LoRA has: diffusers/PEFT, kohya/A1111 and an older diffusers naming
# (the same suffixes desktop.core.image.lora reads; that module tells the base family).
LORA_DOWN_SUFFIXES = (".lora_A.weight", ".lora_down.weight", ".lora.down.weight")
# A textual inversion is at most this many vectors: CLIP's 77-token context less its start and end tokens.
MAX_EMBEDDING_VECTORS = 75


def hf_cache_dir() -> Path:
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    home = os.environ.get("HF_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME", "~/.cache"), "huggingface")
    return Path(home).expanduser() / "hub"


def _is_sha256(name: str) -> bool:
    return len(name) == 64 and all(c in "0123456789abcdef" for c in name)


def candidates_in_hf_cache(cache_dir: Path | None = None) -> list[tuple[Path, str, str]]:
    """(path, sha256 or "", repo_id) for GGUF files and diffusers snapshots in the HF cache."""
    cache_dir = cache_dir or hf_cache_dir()
    if not cache_dir.is_dir():
        return []
    from huggingface_hub import scan_cache_dir
    from huggingface_hub.errors import CacheNotFound

    try:
        info = scan_cache_dir(cache_dir)
    except (CacheNotFound, OSError):
        return []
    found = []
    for repo in info.repos:
        if repo.repo_type != "model":
            continue
        for revision in repo.revisions:
            names = {f.file_name for f in revision.files}
            if "model_index.json" in names:
                found.append((Path(revision.snapshot_path), "", repo.repo_id))
                continue
            for item in revision.files:
                if item.file_name.endswith(".gguf"):
                    blob = Path(item.blob_path).name
                    found.append((Path(item.file_path), blob if _is_sha256(blob) else "", repo.repo_id))
    return found


def is_lora_file(path: Path) -> bool:
    """Whether ``path`` is a ``.safetensors`` file of LoRA tensors (its header only; False when unreadable)."""
    from desktop.core.errors import ModelFileError
    from desktop.core.models.headers import read_safetensors_header

    if Path(path).suffix.lower() != ".safetensors":
        return False
    try:
        header = read_safetensors_header(Path(path))
    except ModelFileError:
        return False
    return any(key.endswith(LORA_DOWN_SUFFIXES) for key in header if key != "__metadata__")


@dataclass(frozen=True)
class EmbeddingLayout:
    """Where a textual-inversion file keeps its vectors.

    ``tensors`` maps each text encoder the file is for to its tensor's name:
    ``""`` for the only one (SD 1.x/2.x), ``clip_l`` and ``clip_g`` for SDXL's
    two; ``shapes`` gives each one's (vectors, width).  ``stored_token`` is
    the diffusers format's one key (its placeholder token, e.g. ``<cat-toy>``);
    A1111's files store none (their token is the file name).
    """

    tensors: dict[str, str]
    shapes: dict[str, tuple[int, int]]
    stored_token: str = ""


def _vectors_shape(entry: object) -> tuple[int, int] | None:
    shape = entry.get("shape") if isinstance(entry, dict) else None
    if not isinstance(shape, list) or not all(isinstance(n, int) and n > 0 for n in shape):
        return None
    if len(shape) == 1:
        return 1, shape[0]
    if len(shape) == 2 and shape[0] <= MAX_EMBEDDING_VECTORS:
        return shape[0], shape[1]
    return None


def embedding_layout(header: dict) -> EmbeddingLayout | None:
    """The layout of a textual-inversion embedding's safetensors header, or None if it is none.

    Four formats: A1111's ``emb_params`` [n, width]; A1111's ``.pt`` layout
    saved as safetensors (``string_to_param.*``); SDXL's ``clip_l`` and
    ``clip_g``; diffusers' one tensor named by its token ([width] or [n, width]).
    """
    tensors = {k: v for k, v in header.items() if k != "__metadata__"}
    names = set(tensors)
    if names == {"clip_l", "clip_g"}:
        found = {enc: enc for enc in ("clip_l", "clip_g")}
    elif names == {"emb_params"}:
        found = {"": "emb_params"}
    elif names == {"string_to_param.*"}:
        found = {"": "string_to_param.*"}
    elif len(names) == 1 and not next(iter(names)).endswith((".weight", ".bias")):
        found = {"": next(iter(names))}
    else:
        return None
    shapes = {enc: _vectors_shape(tensors[name]) for enc, name in found.items()}
    if any(shape is None for shape in shapes.values()):
        return None
    stored = found[""] if "" in found and found[""] not in ("emb_params", "string_to_param.*") else ""
    return EmbeddingLayout(found, {enc: shape for enc, shape in shapes.items() if shape is not None}, stored)


def is_embedding_file(path: Path) -> bool:
    """Whether ``path`` is a textual-inversion ``.safetensors`` embedding (its header only; False when unreadable)."""
    from desktop.core.errors import ModelFileError
    from desktop.core.models.headers import read_safetensors_header

    if Path(path).suffix.lower() != ".safetensors":
        return False
    try:
        return embedding_layout(read_safetensors_header(Path(path))) is not None
    except ModelFileError:
        return False


def candidates_in_folders(folders: Iterable[Path]) -> list[Path]:
    """GGUF files, diffusers folders, LoRA and embedding files under each folder (symlinks not followed)."""
    found: list[Path] = []
    for folder in folders:
        folder = Path(folder).expanduser()
        if not folder.is_dir():
            continue
        for root, dirs, files in os.walk(folder):
            dirs[:] = [d for d in dirs if d not in SKIP_DIRS]
            if "model_index.json" in files:
                found.append(Path(root))
                dirs[:] = []
                continue
            found += [Path(root) / f for f in files if f.lower().endswith(".gguf") and not f.endswith(".part")]
            found += [Path(root) / f for f in files if f.lower().endswith(".safetensors")
                      and (is_lora_file(Path(root) / f) or is_embedding_file(Path(root) / f))]
    return found
