"""Logging to a rotating file in the data root, safe in a windowed app.

A windowed or frozen app starts with ``sys.stdout``/``sys.stderr`` set to
None; anything that then prints (tqdm bars, llama.cpp's Python logger,
``print``) would crash.  :func:`ensure_std_streams` replaces missing streams
with ``os.devnull`` writers, and :func:`quiet_progress_bars` turns off the
progress bars of the hub libraries, which otherwise write to stderr.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
import weakref
from pathlib import Path

from desktop.core import paths

LOG_NAME = "genlab.log"
_FORMAT = "%(asctime)s %(levelname)-7s %(threadName)s %(name)s: %(message)s"


def ensure_std_streams() -> None:
    """Give the process a usable stdout/stderr even when it has none."""
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115


def quiet_progress_bars() -> None:
    """Silence third-party progress bars before those libraries are imported."""
    os.environ.setdefault("TQDM_DISABLE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


# The handlers setup_logging installed (a second call replaces them, not others').
_OWNED: weakref.WeakSet[logging.Handler] = weakref.WeakSet()


def setup_logging(level: int = logging.INFO, log_dir: Path | None = None, console: bool = False) -> Path | None:
    """Log to ``<data root>/logs/genlab.log`` (rotating, 5 x 2 MB).

    Returns the log file path, or None when the folder is not writable (then
    logging goes to stderr only and the app carries on).
    """
    ensure_std_streams()
    root = logging.getLogger()
    root.setLevel(level)
    for old in list(root.handlers):
        if old in _OWNED:
            root.removeHandler(old)
            old.close()
    log_dir = log_dir or paths.logs_dir()
    log_file: Path | None = log_dir / LOG_NAME
    handler: logging.Handler
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(
            log_dir / LOG_NAME, maxBytes=2_000_000, backupCount=5, encoding="utf-8")
    except OSError:
        log_file = None
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(_FORMAT))
    _OWNED.add(handler)
    root.addHandler(handler)
    if console and log_file is not None:
        stream = logging.StreamHandler(sys.stderr)
        stream.setLevel(logging.WARNING)
        stream.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
        _OWNED.add(stream)
        root.addHandler(stream)
    logging.captureWarnings(True)
    return log_file
