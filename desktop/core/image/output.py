"""Saving results: PNG with A1111-compatible metadata, a thumbnail, one folder per day.

Each PNG carries two text chunks:

- ``parameters``: the AUTOMATIC1111 text that A1111, Civitai and most image
  sites read (prompt, ``Negative prompt:`` line, then ``Steps: 20, Sampler:
  ..., CFG scale: 7, Seed: 123, Size: 512x512, Model hash: <10 hex>, Model:
  <name>``);
- ``genlab``: the full :class:`GenerationRecord` as JSON.

:func:`parse_parameters` reads the A1111 text back (the same rules as A1111's
own parser), for "reuse parameters" on any PNG.

Incognito images carry neither chunk and get no thumbnail; unless the person
named a file, they go to :func:`incognito_folder`, a private temporary folder
outside the data root that is removed when the process exits.
"""

from __future__ import annotations

import atexit
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from desktop.core import paths

THUMB_SIDE = 256
_PARAM_RE = re.compile(r'\s*([\w ]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')


def _quote(value: Any) -> str:
    text = str(value)
    if "," in text or "\n" in text or ":" in text or '"' in text:
        return json.dumps(text, ensure_ascii=False)
    return text


def a1111_parameters(prompt: str, negative_prompt: str, fields: dict[str, Any]) -> str:
    """The A1111 ``parameters`` text; ``fields`` in the order they should appear."""
    lines = [prompt]
    if negative_prompt:
        lines.append(f"Negative prompt: {negative_prompt}")
    lines.append(", ".join(f"{k}: {_quote(v)}" for k, v in fields.items() if v not in (None, "")))
    return "\n".join(lines)


def parse_parameters(text: str) -> dict[str, Any]:
    """Parse A1111 ``parameters`` text into ``{"Prompt", "Negative prompt", <fields>...}``."""
    lines = text.strip().split("\n")
    last = lines[-1] if lines else ""
    if len(_PARAM_RE.findall(last)) < 3:
        last = ""
    else:
        lines = lines[:-1]
    prompt: list[str] = []
    negative: list[str] = []
    in_negative = False
    for line in lines:
        if line.startswith("Negative prompt:"):
            in_negative = True
            line = line[len("Negative prompt:"):].strip()
        (negative if in_negative else prompt).append(line)
    result: dict[str, Any] = {"Prompt": "\n".join(prompt), "Negative prompt": "\n".join(negative)}
    for key, value in _PARAM_RE.findall(last):
        value = value.strip()
        if value.startswith('"') and value.endswith('"'):
            try:
                value = json.loads(value)
            except ValueError:
                pass
        result[key.strip()] = value
    return result


def read_png_text(path: Path) -> dict[str, str]:
    """The text chunks of a PNG (``parameters``, ``genlab``...)."""
    from PIL import Image

    with Image.open(path) as img:
        img.load()
        return {k: v for k, v in getattr(img, "text", {}).items() if isinstance(v, str)}


@dataclass
class SavedImage:
    path: Path
    thumbnail_path: Path
    sha256: str


_checked_folders: set[Path] = set()


def day_folder(now: datetime | None = None) -> Path:
    """Today's output folder, created and proven writable (once per process)."""
    now = now or datetime.now()
    folder = paths.outputs_dir() / now.strftime("%Y-%m-%d")
    if folder not in _checked_folders or not folder.is_dir():
        paths.ensure_writable_dir(folder, "outputs folder")
        _checked_folders.add(folder)
    return folder


def new_image_path(seed: int, record_id: str, now: datetime | None = None) -> Path:
    now = now or datetime.now()
    return day_folder(now) / f"{now.strftime('%H%M%S')}-{seed}-{record_id[:8]}.png"


def thumbnail_path_for(image_path: Path) -> Path:
    return image_path.parent / "thumbs" / (image_path.stem + ".jpg")


def mask_path_for(image_path: Path) -> Path:
    """Where the inpainting mask of an image is kept (beside it, like its thumbnail)."""
    return image_path.parent / "masks" / (image_path.stem + ".png")


def save_png(image: Any, path: Path, parameters: str | None, record_json: str | None, *,
             thumbnail: bool = True) -> SavedImage:
    """Write ``image`` (a PIL image) atomically with its text chunks, plus a JPEG thumbnail.

    A chunk whose text is None is left out (incognito images carry neither).
    """
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    if parameters is not None:
        info.add_text("parameters", parameters)
    if record_json is not None:
        info.add_text("genlab", record_json)
    buf = io.BytesIO()
    image.save(buf, format="PNG", pnginfo=info)
    data = buf.getvalue()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except OSError:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise
    thumb = thumbnail_path_for(path)
    if thumbnail:
        thumb.parent.mkdir(parents=True, exist_ok=True)
        small = image.convert("RGB")
        small.thumbnail((THUMB_SIDE, THUMB_SIDE))
        small.save(thumb, format="JPEG", quality=85)
    return SavedImage(path, thumb, hashlib.sha256(data).hexdigest())


def delete_output(image_path: Path) -> None:
    """Delete a saved image, its thumbnail and its mask (missing files are fine)."""
    for p in (Path(image_path), thumbnail_path_for(Path(image_path)), mask_path_for(Path(image_path))):
        try:
            p.unlink()
        except FileNotFoundError:
            pass


INCOGNITO_PREFIX = "genlab-incognito-"
_incognito: Path | None = None
_incognito_lock = threading.Lock()


def incognito_folder() -> Path:
    """This process's folder for incognito images: in the system temp folder, user-only, removed at exit.

    Folders left by a GenLab that crashed are removed the first time this is called.
    """
    global _incognito
    with _incognito_lock:
        if _incognito is None or not _incognito.is_dir():
            _remove_stale_incognito_folders()
            _incognito = Path(tempfile.mkdtemp(prefix=f"{INCOGNITO_PREFIX}{os.getpid()}-"))  # mode 0700
            atexit.register(remove_incognito_folder)
        return _incognito


def remove_incognito_folder() -> None:
    """Delete this process's incognito images (at exit; safe to call again)."""
    global _incognito
    with _incognito_lock:
        folder, _incognito = _incognito, None
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


def _remove_stale_incognito_folders() -> None:
    if os.name != "posix":
        return  # no cheap liveness check for a process id; the system cleans its temp folder
    for folder in Path(tempfile.gettempdir()).glob(f"{INCOGNITO_PREFIX}*"):
        try:
            pid = int(folder.name[len(INCOGNITO_PREFIX):].split("-", 1)[0])
            if folder.stat().st_uid != os.getuid() or pid == os.getpid():
                continue
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)  # its GenLab is gone
        except (ValueError, OSError):
            continue
