"""Text of the About dialog: version, key libraries, where data lives."""

from __future__ import annotations

import importlib.metadata
from html import escape

from desktop import APP_NAME, __version__
from desktop.core import paths

LIBRARIES = ("PySide6-Essentials", "torch", "diffusers", "llama-cpp-python", "lancedb", "huggingface_hub")


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def about_text() -> str:
    libs = "".join(f"<tr><td>{escape(d)}</td><td>{escape(_version(d))}</td></tr>" for d in LIBRARIES)
    return (
        f"<h3>{APP_NAME} {escape(__version__)}</h3>"
        "<p>Local text and image generation with one searchable, reproducible history. "
        "Everything runs on this computer; nothing leaves it unless you start a download.</p>"
        f"<table>{libs}</table>"
        f"<p>Data: {escape(str(paths.data_root()))}<br>Models: {escape(str(paths.models_dir()))}</p>"
    )
