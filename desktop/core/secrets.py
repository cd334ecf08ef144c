"""Secrets GenLab keeps for the person (the API server's key, the hub token): the OS keyring first, a user-only file after.

The ``keyring`` package's backend is used when it gives a stored value back (a
backend that keeps nothing, like keyring's ``null`` one, does not count),
otherwise the secret goes to a file in the data root only its owner can read
(``<name>.secret`` unless the caller names another, as the hub token keeps
its older ``hf-token``).  Saving to the keyring removes an older file, so a
plain-text copy never outlives it.  Secrets never go in ``settings.json``,
which people copy and share.
"""

from __future__ import annotations

import os
from pathlib import Path

from desktop.core import paths

KEYRING_SERVICE = "GenLab"
API_SERVER_KEY = "api-server-key"  # the API server's key, set in Preferences and read by `genlab serve`


def _file(name: str, file_name: str | None) -> Path:
    return paths.data_root() / (file_name or f"{name}.secret")


def read_secret(name: str, file_name: str | None = None) -> str:
    """The stored secret ``name``, or "" when there is none; ``file_name`` is its fallback file's."""
    try:
        import keyring

        stored = keyring.get_password(KEYRING_SERVICE, name)
        if stored:
            return stored
    except Exception:  # no keyring package or no backend: fall back to the file
        pass
    try:
        return _file(name, file_name).read_text(encoding="utf-8").strip()
    except OSError:
        return ""


def save_secret(name: str, value: str, file_name: str | None = None) -> str:
    """Store ``value`` as ``name`` ("" deletes it); returns where: "keyring", the file's path or ""."""
    value = value.strip()
    if not value:
        delete_secret(name, file_name)
        return ""
    if _saved_in_keyring(name, value):
        _file(name, file_name).unlink(missing_ok=True)
        return "keyring"
    target = _file(name, file_name)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(value)
    os.chmod(target, 0o600)
    return str(target)


def delete_secret(name: str, file_name: str | None = None) -> None:
    try:
        import keyring

        keyring.delete_password(KEYRING_SERVICE, name)
    except Exception:  # nothing stored there, or no backend
        pass
    _file(name, file_name).unlink(missing_ok=True)


def _saved_in_keyring(name: str, value: str) -> bool:
    """True only when the keyring gives ``value`` back: a backend may accept it and keep nothing."""
    try:
        import keyring

        keyring.set_password(KEYRING_SERVICE, name, value)
        return keyring.get_password(KEYRING_SERVICE, name) == value
    except Exception:  # no keyring package, or no usable backend (a Linux session without Secret Service)
        return False
