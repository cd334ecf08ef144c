"""Finding what a deletion left behind: real generation files, the app's log, a byte scan of the data root."""

from __future__ import annotations

import json
import logging
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


@contextmanager
def app_log(level: int = logging.DEBUG) -> Iterator[Path | None]:
    """The app's rotating log file under the data root (as the app sets it up), removed again afterwards."""
    from desktop.core.logging_setup import setup_logging

    root = logging.getLogger()
    level_before, handlers_before = root.level, list(root.handlers)
    try:
        yield setup_logging(level=level)
    finally:
        for handler in list(root.handlers):
            if handler not in handlers_before:
                root.removeHandler(handler)
                handler.close()
        root.setLevel(level_before)


def saved_image(name: str, prompt: str):
    """A generation's files as the image engine writes them: a noise PNG with its metadata chunks and
    its JPEG thumbnail, in today's output folder (a ``SavedImage``)."""
    import numpy as np
    from PIL import Image

    from desktop.core.image.output import day_folder, save_png

    pixels = np.random.default_rng(sum(name.encode())).integers(0, 256, (48, 48, 3), dtype=np.uint8)
    return save_png(Image.fromarray(pixels), day_folder() / name, f"{prompt}\nSteps: 4, Seed: 1",
                    json.dumps({"prompt": prompt}))


def image_needles(saved) -> list[bytes]:
    """Slices of an image's and its thumbnail's own bytes (compressed pixels, not metadata)."""
    needles = []
    for path in (saved.path, saved.thumbnail_path):
        data = path.read_bytes()
        needles.append(data[len(data) // 2:len(data) // 2 + 64])
    return needles


def traces(root: Path, needles: list[bytes]) -> list[str]:
    """Every file under ``root`` (LanceDB versions, indexes, images, thumbnails, logs...) holding a needle;
    text needles are matched in any case."""
    found = []
    for path in sorted(root.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            lowered = data.lower()
            found += [f"{path} holds {needle[:20]!r}" for needle in needles if needle in data or needle in lowered]
    return found
