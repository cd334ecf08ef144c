"""Where GenLab keeps its data.

One data root, from platformdirs, overridable with ``GENLAB_HOME``; the
models directory lives under it unless ``GENLAB_MODELS_DIR`` says otherwise.
Resource files (icons, catalog, styles) are found both from a source checkout
and inside a PyInstaller bundle through :func:`resource_path`.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from desktop import APP_NAME
from desktop.core.errors import DataRootError

ENV_HOME = "GENLAB_HOME"
ENV_MODELS = "GENLAB_MODELS_DIR"


def default_data_root() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def data_root() -> Path:
    """The data root, without creating or checking it."""
    env = os.environ.get(ENV_HOME)
    if env:
        return Path(env).expanduser()
    return default_data_root()


def models_dir() -> Path:
    env = os.environ.get(ENV_MODELS)
    if env:
        return Path(env).expanduser()
    return data_root() / "models"


def logs_dir() -> Path:
    return data_root() / "logs"


def history_dir() -> Path:
    return data_root() / "history"


def knowledge_dir() -> Path:
    """Document collections: their registry and LanceDB tables, beside the history."""
    return data_root() / "knowledge"


def outputs_dir() -> Path:
    return data_root() / "outputs"


def settings_file() -> Path:
    return data_root() / "settings.json"


def ensure_writable_dir(path: Path, what: str) -> Path:
    """Create ``path`` if needed and prove it is a writable directory.

    Raises :class:`DataRootError` naming the path, what is wrong and what to do.
    """
    hint = (
        f"Choose another location, for example by setting {ENV_HOME} "
        f"to a folder you can write to."
    )
    if path.exists() and not path.is_dir():
        raise DataRootError(f"The {what} {path} is a file, not a folder.", hint)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataRootError(f"Cannot create the {what} {path}: {exc.strerror or exc}.", hint) from exc
    try:
        fd, probe = tempfile.mkstemp(prefix=".write-test-", dir=path)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise DataRootError(f"The {what} {path} is not writable: {exc.strerror or exc}.", hint) from exc
    return path


def ensure_data_root() -> Path:
    """Create the data root, make it readable by the user only, and check it is writable.

    The GUI's bootstrap and the ``genlab`` CLI both call this before anything
    writes under the root.  On POSIX the root becomes 0700, which also hides
    every folder and file under it from other users.
    """
    root = data_root()
    if not root.exists() and os.name == "posix":
        try:
            root.mkdir(mode=0o700, parents=True)  # never visible to others, not even briefly
        except OSError:
            pass  # ensure_writable_dir says what is wrong
    root = ensure_writable_dir(root, "data folder")
    if os.name == "posix":
        try:
            os.chmod(root, 0o700)
        except OSError:
            pass  # not ours to change (a shared mount); still usable
    return root


def resource_path(*parts: str) -> Path:
    """Path of a file under ``resources/``, from source or from a frozen bundle."""
    frozen_base = getattr(sys, "_MEIPASS", None)
    if frozen_base:
        base = Path(frozen_base) / "resources"
    else:
        base = Path(__file__).resolve().parents[2] / "resources"
    return base.joinpath(*parts)
