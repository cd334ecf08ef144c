"""Typed, versioned settings saved atomically as JSON.

``Settings`` is a tree of dataclasses.  ``load_settings`` never raises on a bad
file: a corrupt or unreadable file is moved aside to ``settings.json.bad-<ts>``
and defaults are used, with a warning returned for the UI to show.  A file
from a newer schema is kept untouched (also backed up) and defaults are used.
Saving writes a temporary file in the same folder, fsyncs it and renames it
over the old one, so a crash never leaves half a file.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from desktop.core import paths
from desktop.core.errors import SettingsError

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1


@dataclass
class WindowSettings:
    geometry: str = ""  # base64 of QWidget.saveGeometry()
    state: str = ""
    workspace: int = 0


@dataclass
class TextSettings:
    context_size: int = 0  # 0: min(model's training context, 8192)
    threads: int = 0  # 0: llama.cpp's default
    n_gpu_layers: int = -2  # -2: automatic; -1: all; N: exactly N
    last_model: str = ""
    presets: dict[str, dict[str, Any]] = field(default_factory=dict)
    chat_send_key: str = "enter"  # "enter" (Shift+Enter adds a line) | "ctrl+enter" (Enter adds a line)
    chat_reload_last_model: bool = True  # Chat loads last_model again at start


@dataclass
class ImageSettings:
    last_model: str = ""
    offload: str = "auto"  # auto | none | model | sequential
    last_params: dict[str, Any] = field(default_factory=dict)  # the panel at the last Generate
    session_id: str = ""  # the gallery's session; its images come back at the next start
    last_upscaler: str = ""  # the upscaler file the last Upscale… used


@dataclass
class HistorySettings:
    embedder: str = "all-MiniLM-L6-v2"
    incognito: bool = False


@dataclass
class DownloadSettings:
    max_parallel: int = 2
    stall_seconds: float = 30.0
    extra_model_folders: list[str] = field(default_factory=list)


@dataclass
class AppearanceSettings:
    theme: str = "system"  # system | light | dark


@dataclass
class ServerSettings:
    """The GUI's OpenAI-compatible API server; its key lives in the OS keyring, never here."""

    enabled: bool = False
    host: str = "127.0.0.1"  # any other address needs the key
    port: int = 8765  # 0: any free port
    allowed_origins: list[str] = field(default_factory=list)  # web pages allowed to call it (CORS)
    switch_models: bool = True  # False: refuse a request for another model than the loaded one


@dataclass
class Settings:
    schema_version: int = SCHEMA_VERSION
    window: WindowSettings = field(default_factory=WindowSettings)
    text: TextSettings = field(default_factory=TextSettings)
    image: ImageSettings = field(default_factory=ImageSettings)
    history: HistorySettings = field(default_factory=HistorySettings)
    downloads: DownloadSettings = field(default_factory=DownloadSettings)
    appearance: AppearanceSettings = field(default_factory=AppearanceSettings)
    server: ServerSettings = field(default_factory=ServerSettings)


def _from_dict(cls: type, data: dict[str, Any]) -> Any:
    """Build dataclass ``cls`` from ``data``, ignoring unknown keys and
    keeping defaults for missing or wrongly typed values."""
    if not isinstance(data, dict):
        raise TypeError(f"expected an object for {cls.__name__}")
    kwargs: dict[str, Any] = {}
    defaults = cls()
    for f in fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        current = getattr(defaults, f.name)
        if dataclasses.is_dataclass(current):
            kwargs[f.name] = _from_dict(type(current), value)
        elif isinstance(current, bool):
            if isinstance(value, bool):
                kwargs[f.name] = value
        elif isinstance(current, (int, float)) and not isinstance(current, bool):
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                kwargs[f.name] = type(current)(value)
        elif isinstance(value, type(current)):
            kwargs[f.name] = value
        else:
            log.warning("settings: ignoring %s.%s of wrong type", cls.__name__, f.name)
    return cls(**kwargs)


def _migrate(data: dict[str, Any]) -> dict[str, Any]:
    """Upgrade an older settings dict to ``SCHEMA_VERSION`` (none yet)."""
    data["schema_version"] = SCHEMA_VERSION
    return data


def _backup(path: Path) -> Path:
    backup = path.with_name(f"{path.name}.bad-{time.strftime('%Y%m%d-%H%M%S')}")
    os.replace(path, backup)
    return backup


def load_settings(path: Path | None = None) -> tuple[Settings, str | None]:
    """Read settings; return ``(settings, warning)``; warning is None when all went well."""
    path = path or paths.settings_file()
    if not path.exists():
        return Settings(), None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        version = data.get("schema_version", 0) if isinstance(data, dict) else None
        if not isinstance(version, int):
            raise ValueError("missing schema_version")
        if version > SCHEMA_VERSION:
            backup = path.with_name(f"{path.name}.newer-v{version}")
            backup.write_bytes(path.read_bytes())
            return Settings(), (
                f"Settings were written by a newer GenLab (schema {version}); using defaults. "
                f"The newer file is kept as {backup.name}."
            )
        if version < SCHEMA_VERSION:
            data = _migrate(data)
        return _from_dict(Settings, data), None
    except (OSError, ValueError, TypeError, UnicodeDecodeError) as exc:
        try:
            backup = _backup(path)
            where = f"it was moved to {backup.name}"
        except OSError:
            where = "it could not be moved aside"
        log.warning("corrupt settings file %s (%s); using defaults", path, exc)
        return Settings(), f"The settings file was damaged ({exc}); defaults are used and {where}."


def save_settings(settings: Settings, path: Path | None = None) -> None:
    """Write settings atomically (temp file + fsync + rename)."""
    path = path or paths.settings_file()
    text = json.dumps(asdict(settings), indent=2, sort_keys=True)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".settings-", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
    except OSError as exc:
        raise SettingsError(f"Could not save settings to {path}: {exc.strerror or exc}.",
                            "Check that the data folder is writable and the disk is not full.") from exc
