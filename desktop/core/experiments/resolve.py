"""Which model a sweep means: a path as written, else a model of the library."""

from __future__ import annotations

from pathlib import Path

MODEL_SUFFIXES = (".gguf", ".safetensors", ".ckpt", ".pt", ".pth", ".bin")


def looks_like_path(ref: str) -> bool:
    """A separator or a model file suffix: ``ref`` names a file, not a library entry."""
    return any(sep in ref for sep in ("/", "\\")) or Path(ref).suffix.lower() in MODEL_SUFFIXES


def absolute_ref(ref: str, base_dir: Path | None) -> str:
    """A path-like ``ref`` made absolute against the spec file's folder; a library name unchanged."""
    if base_dir is None or not looks_like_path(ref):
        return ref
    path = Path(ref).expanduser()
    return str(path if path.is_absolute() else (base_dir / path).resolve())


def resolve_model_ref(ref: str) -> Path:
    """The path of ``ref``: a path as given (an existing one, or one that looks like a path, so a
    missing file is reported by its own name), else a library model by id, sha256 prefix or name,
    the way ``genlab text --model`` finds it.  Raises UnknownModel for a name the library lacks."""
    path = Path(ref).expanduser()
    if path.exists() or looks_like_path(ref):
        return path
    from desktop.core.models.library import Library

    return Path(Library().get(ref).path)
