"""Which model a sweep means: a path as written, else a model of the library."""

from __future__ import annotations

from pathlib import Path

from desktop.core.models.library import looks_like_path, resolve_model
from desktop.core.models.remote import RemoteSources, is_remote_ref


def absolute_ref(ref: str, base_dir: Path | None) -> str:
    """A path-like ``ref`` made absolute against the spec file's folder; a library name unchanged."""
    if base_dir is None or is_remote_ref(ref) or not looks_like_path(ref):
        return ref
    path = Path(ref).expanduser()
    return str(path if path.is_absolute() else (base_dir / path).resolve())


def resolve_model_ref(ref: str) -> Path:
    """The path of ``ref``, by the rule ``genlab text --model`` uses (:func:`resolve_model`).
    Raises UnknownModel for a name the library lacks.  A ``remote:<source>/<model>`` reference stays
    as it is, once its source is known (RemoteError names an unknown one); nothing asks the server."""
    if is_remote_ref(ref):
        RemoteSources().resolve(ref)
        return Path(ref)
    return resolve_model(ref)
