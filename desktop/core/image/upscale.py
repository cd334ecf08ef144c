"""Model upscalers: Real-ESRGAN, SwinIR, HAT and the other architectures spandrel knows.

An upscaler is one weights file, ``.safetensors`` or a PyTorch pickle
(``.pth``/``.pt``/``.ckpt``): a pickle is read only with
``torch.load(weights_only=True)``, which rebuilds tensors and plain
containers and refuses anything else, so a file that needs code to load is
refused, not run.  spandrel reads the architecture and its hyperparameters
from the tensor names and shapes; a file it does not recognise, or one that
is not an image-to-image model (an inpainting model, say), is refused naming
what was found.

:func:`upscale_image` runs the model over tiles so a 4x upscale of a big
image fits in a few GB: each tile carries ``pad`` pixels of its neighbours'
context that are cut off again after the model runs, so a convolutional
model whose reach is under ``pad`` pixels gives the untiled result exactly
and no seam.  Models that tile internally (spandrel says so) get the whole
image.

spandrel (and the torchvision it imports) is the optional ``upscale`` extra;
without it every entry point here raises :class:`UpscaleUnavailable` saying
how to get it.
"""

from __future__ import annotations

import logging
import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desktop.core.errors import GenLabError, InvalidParameter, ModelFileError
from desktop.core.jobs import CancelToken, Progress, ProgressCallback, no_progress

log = logging.getLogger(__name__)

SUFFIXES = (".safetensors", ".pth", ".pt", ".ckpt")
FOLDER = "upscalers"  # under the models dir, as A1111's ESRGAN/ and chaiNNer's model folders
DEFAULT_TILE = 512  # input pixels per tile side; 0 = the whole image at once
DEFAULT_PAD = 32  # context pixels around each tile, cut off after the model runs
MIN_TILE = 32
MAX_OUTPUT_SIDE = 16384
UNAVAILABLE_HINT = ("Model upscalers need the optional spandrel package and a torchvision that matches "
                    "your torch: pip install \"genlab[upscale]\" (with torchvision from the same place "
                    "as torch). The hires fix's Lanczos and latent upscaling work without them.")


class UpscaleUnavailable(GenLabError):
    """spandrel (or torchvision) is not installed or does not import."""


def spandrel_module() -> Any:
    """spandrel, imported on first use; :class:`UpscaleUnavailable` names what failed."""
    try:
        import spandrel
    except Exception as exc:  # ImportError, or torchvision's own failure beside a mismatched torch
        raise UpscaleUnavailable(f"Model upscaling is not available in this installation ({exc}).",
                                 UNAVAILABLE_HINT) from exc
    return spandrel


def available() -> str:
    """"" when model upscalers can run, else the reason shown to the user."""
    try:
        spandrel_module()
    except UpscaleUnavailable as exc:
        return str(exc)  # the reason and what to install
    return ""


@dataclass
class Upscaler:
    """A loaded model: what spandrel found in the file, and the model on its device."""

    path: Path
    sha256: str
    architecture: str
    scale: int
    tiling: str  # supported | discouraged | internal
    descriptor: Any = field(repr=False)
    device: str = "cpu"
    dtype: str = "float32"
    multiple_of: int = 1
    minimum: int = 0
    load_seconds: float = 0.0

    @property
    def name(self) -> str:
        return self.path.stem

    def describe(self) -> str:
        return f"{self.name}: {self.architecture} {self.scale}x on {self.device} ({self.dtype})"


def read_state_dict(path: Path) -> dict[str, Any]:
    """The tensors of an upscaler file; pickles only through ``weights_only=True``."""
    import torch

    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ModelFileError(f"{path.name} is not an upscaler file (it ends in {suffix or 'nothing'}).",
                             f"Upscalers are {', '.join(SUFFIXES)} files, e.g. RealESRGAN_x4plus.pth.")
    if suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        from desktop.core.models.headers import read_safetensors_header

        read_safetensors_header(path)  # names a truncated or malformed file before any tensor is read
        try:
            return dict(load_file(str(path), device="cpu"))
        except (SafetensorError, OSError, ValueError) as exc:
            raise ModelFileError(f"{path.name} could not be read as safetensors ({exc}).") from exc
    try:
        data = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # UnpicklingError for refused globals and for damage alike
        found = re.search(r"Unsupported global: GLOBAL (\S+)", str(exc))
        if found:
            raise ModelFileError(f"{path.name} holds more than tensors: a safe load (weights_only) refused it "
                                 f"(it asks for {found.group(1)}).",
                                 "A pickle that needs code to load could run anything, so GenLab does not "
                                 "load it. Use a .safetensors version of this upscaler.") from exc
        raise ModelFileError(f"{path.name} could not be read as a PyTorch file ({type(exc).__name__}).",
                             "The file may be damaged or incomplete; download it again.") from exc
    if isinstance(data, dict):
        # Real-ESRGAN and BasicSR keep the weights under params_ema or params.
        for key in ("params_ema", "params", "state_dict", "model"):
            inner = data.get(key)
            if isinstance(inner, dict) and inner and all(isinstance(v, torch.Tensor) for v in inner.values()):
                return dict(inner)
        tensors = {k: v for k, v in data.items() if isinstance(v, torch.Tensor)}
        if tensors:
            return dict(data)
    raise ModelFileError(f"{path.name} holds no tensors an upscaler could be made of.",
                         "Choose the model's weights file (.pth or .safetensors).")


def choose_device(device: str | None = None) -> str:
    import torch

    if device:
        return device
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def load_upscaler(path: str | Path, *, device: str | None = None, half: bool | None = None) -> Upscaler:
    """Read ``path`` and build its model with spandrel; ModelFileError names what is wrong with it."""
    spandrel = spandrel_module()
    start = time.perf_counter()
    path = Path(path).expanduser()
    if not path.is_file():
        raise ModelFileError(f"The upscaler file {path} does not exist.", "Check the path.")
    state = read_state_dict(path)
    try:
        descriptor = spandrel.ModelLoader(device="cpu").load_from_state_dict(state)
    except spandrel.UnsupportedModelError as exc:
        sample = ", ".join(list(state)[:3])
        raise ModelFileError(f"{path.name} is no upscaler architecture spandrel knows ({len(state)} tensors, "
                             f"starting {sample}).",
                             "GenLab runs ESRGAN/Real-ESRGAN, SwinIR, HAT, DAT, OmniSR, SPAN and the other "
                             "architectures spandrel lists.") from exc
    except Exception as exc:  # a known architecture whose tensors do not fit it
        raise ModelFileError(f"{path.name} looks like an upscaler but its tensors do not fit the "
                             f"architecture ({exc}).", "The file may be damaged; download it again.") from exc
    if not isinstance(descriptor, spandrel.ImageModelDescriptor):
        raise ModelFileError(f"{path.name} is a {descriptor.architecture.name} model "
                             f"({descriptor.purpose}), not an image upscaler.",
                             "Choose an upscaling model such as Real-ESRGAN or SwinIR.")
    if descriptor.input_channels not in (1, 3) or descriptor.output_channels not in (1, 3):
        raise ModelFileError(f"{path.name} takes {descriptor.input_channels} and gives "
                             f"{descriptor.output_channels} channels; GenLab upscales RGB or grey images.")
    device = choose_device(device)
    use_half = (device == "cuda" and descriptor.supports_half) if half is None else bool(half)
    descriptor.to(device)
    descriptor.eval()
    if use_half:
        descriptor.half()
    tiling = {1: "supported", 2: "discouraged", 3: "internal"}.get(descriptor.tiling.value, "supported")
    from desktop.core.models.hashing import model_sha256

    return Upscaler(path=path, sha256=model_sha256(path), architecture=descriptor.architecture.name,
                    scale=int(descriptor.scale), tiling=tiling, descriptor=descriptor, device=device,
                    dtype="float16" if use_half else "float32",
                    multiple_of=int(descriptor.size_requirements.multiple_of),
                    minimum=int(descriptor.size_requirements.minimum),
                    load_seconds=time.perf_counter() - start)


def tile_boxes(width: int, height: int, tile: int) -> list[tuple[int, int, int, int]]:
    """The (left, top, right, bottom) cores covering the image, at most ``tile`` px a side, row by row."""
    if tile <= 0 or (width <= tile and height <= tile):
        return [(0, 0, width, height)]
    cols, rows = math.ceil(width / tile), math.ceil(height / tile)
    xs = [round(i * width / cols) for i in range(cols + 1)]
    ys = [round(j * height / rows) for j in range(rows + 1)]
    return [(xs[i], ys[j], xs[i + 1], ys[j + 1]) for j in range(rows) for i in range(cols)]


def check_tiling(tile: Any, pad: Any) -> tuple[int, int]:
    for label, value in (("Tile size", tile), ("Tile padding", pad)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidParameter(f"{label} must be a whole number of pixels, 0 or more (got {value!r}).",
                                   f"{DEFAULT_TILE} tiles with {DEFAULT_PAD} px of padding suit most models; "
                                   "tile 0 runs the whole image at once.")
    if 0 < tile < MIN_TILE:
        raise InvalidParameter(f"Tile size {tile} is too small (the least is {MIN_TILE} px).",
                               f"Use {DEFAULT_TILE}, or 0 for the whole image at once.")
    return tile, pad


def upscale_image(upscaler: Upscaler, image: Any, *, tile: int = DEFAULT_TILE, pad: int = DEFAULT_PAD,
                  cancel: CancelToken | None = None, progress: ProgressCallback = no_progress) -> Any:
    """``image`` (PIL) made ``upscaler.scale`` times bigger; an alpha channel is resized with Lanczos."""
    import numpy as np
    import torch
    from PIL import Image

    cancel = cancel or CancelToken()
    tile, pad = check_tiling(tile, pad)
    width, height = image.size
    scale = upscaler.scale
    if max(width, height) * scale > MAX_OUTPUT_SIDE:
        raise InvalidParameter(f"A {scale}x upscale of {width}x{height} would be {width * scale}x{height * scale}, "
                               f"over the {MAX_OUTPUT_SIDE} px GenLab writes.",
                               "Crop or shrink the image first, or use a 2x model.")
    alpha = image.getchannel("A") if image.mode in ("RGBA", "LA", "PA") else None
    grey = upscaler.descriptor.input_channels == 1
    pixels = np.asarray(image.convert("L" if grey else "RGB"), dtype=np.float32) / 255.0
    if grey:
        pixels = pixels[:, :, None]
    source = torch.from_numpy(pixels).permute(2, 0, 1).unsqueeze(0)
    if upscaler.tiling == "internal":
        tile = 0
    boxes = tile_boxes(width, height, tile)
    out_channels = upscaler.descriptor.output_channels
    result = np.zeros((height * scale, width * scale, out_channels), dtype=np.uint8)
    dtype = torch.float16 if upscaler.dtype == "float16" else torch.float32
    start = time.perf_counter()
    with torch.inference_mode():
        for index, (left, top, right, bottom) in enumerate(boxes):
            cancel.raise_if_cancelled()
            x0, y0 = max(0, left - pad), max(0, top - pad)
            x1, y1 = min(width, right + pad), min(height, bottom + pad)
            piece = source[:, :, y0:y1, x0:x1].to(upscaler.device, dtype)
            out = upscaler.descriptor(piece)
            cx, cy = (left - x0) * scale, (top - y0) * scale
            core = out[0, :, cy:cy + (bottom - top) * scale, cx:cx + (right - left) * scale]
            core = (core.float().clamp(0, 1) * 255.0).round().to(torch.uint8).permute(1, 2, 0).cpu().numpy()
            result[top * scale:bottom * scale, left * scale:right * scale] = core
            done = index + 1
            eta = (time.perf_counter() - start) / done * (len(boxes) - done)
            progress(Progress(done / len(boxes), f"Upscaling tile {done} of {len(boxes)}"
                              + (f", about {eta:.0f} s left" if done < len(boxes) else ""), done, len(boxes)))
    cancel.raise_if_cancelled()
    if out_channels == 1:
        upscaled = Image.fromarray(result[:, :, 0], "L").convert("RGB")
    else:
        upscaled = Image.fromarray(result, "RGB")
    if alpha is not None:
        upscaled.putalpha(alpha.resize(upscaled.size, Image.Resampling.LANCZOS))
    return upscaled


def find_upscaler(name: str) -> Path:
    """The file ``name`` stands for: a path, a library model (id, sha256 prefix, name), or a file
    stem in ``<models dir>/upscalers``."""
    from desktop.core import paths
    from desktop.core.models.errors import UnknownModel
    from desktop.core.models.library import Library

    path = Path(name).expanduser()
    if path.is_file():
        return path
    folder = paths.models_dir() / FOLDER
    if any(sep in name for sep in ("/", "\\")) or path.suffix.lower() in SUFFIXES:
        raise ModelFileError(f"The upscaler file {path} does not exist.", "Check the path.")
    for suffix in SUFFIXES:
        if (folder / f"{name}{suffix}").is_file():
            return folder / f"{name}{suffix}"
    try:
        return Path(Library().get(name).path)
    except UnknownModel:
        pass
    raise ModelFileError(f"No upscaler named {name!r} in {folder} or in the library.",
                         f"Give the path of the .pth or .safetensors file, or put it in {folder}.")


def upscalers_folder() -> Path:
    """``<models dir>/upscalers``: where upscaler files are found by name."""
    from desktop.core import paths

    return paths.models_dir() / FOLDER


def upscaler_files() -> list[Path]:
    """The upscalers in ``<models dir>/upscalers``, by name (what the Upscale dialog offers first)."""
    folder = upscalers_folder()
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES),
                  key=lambda p: p.name.lower())


def is_upscale_record(record: Any) -> bool:
    """True for the record of an image made by :func:`upscale_file` (not by a pipeline)."""
    return getattr(record, "kind", "") == "image" and record.parameters.get("mode") == "upscale"


@dataclass
class UpscaleRerun:
    """What re-running an upscale record takes: the same upscaler file, source image and tiling."""

    upscaler_path: Path
    source_path: Path
    tile: int
    pad: int


def rerun_inputs(record: Any, cancel: CancelToken | None = None) -> UpscaleRerun:
    """The upscaler and source image of an upscale record, each found by its recorded sha256.

    The upscaler is the recorded file, else a file in ``<models dir>/upscalers`` or
    the library with that sha256; the source image must be the recorded file, unchanged.
    Raises :class:`ModelFileError` naming what is missing or changed.
    """
    from desktop.core.models.hashing import model_sha256, sha256_file
    from desktop.core.models.library import Library

    params = record.parameters
    info = params.get("upscaler") if isinstance(params.get("upscaler"), dict) else {}
    digest = str(info.get("sha256") or record.model.sha256 or "")
    name = str(info.get("name") or record.model.name or "the upscaler")
    if not digest:
        raise ModelFileError(f"This upscale record does not say which exact file {name} was (no sha256),"
                             " so it cannot be re-run exactly.", "Upscale the image again with a model you choose.")
    candidates = [Path(str(info.get("path", "")))] if info.get("path") else []
    candidates += upscaler_files()
    upscaler_path = None
    for candidate in candidates:
        if candidate.is_file() and model_sha256(candidate, cancel=cancel) == digest:
            upscaler_path = candidate
            break
    if upscaler_path is None:
        found = Library().find_by_sha256(digest)
        upscaler_path = Path(found.path) if found is not None else None
    if upscaler_path is None:
        raise ModelFileError(f"{name} (sha256 {digest[:12]}…) is neither where it was nor in "
                             f"{FOLDER}/ or the library.",
                             "Put that exact file back in the models folder's upscalers/ folder, then re-run.")
    source = Path(str(params.get("source_image", "")))
    if not params.get("source_image") or not source.is_file():
        raise ModelFileError(f"The source image {source.name or '(not recorded)'} is gone, so this upscale "
                             "cannot be re-run.", "Upscale another copy of the image instead.")
    if params.get("source_sha256") and sha256_file(source, cancel=cancel) != params["source_sha256"]:
        raise ModelFileError(f"The source image {source.name} has changed since it was upscaled, so a re-run "
                             "would not be the same.", "Upscale the changed image as a new image instead.")
    tile, pad = check_tiling(params.get("tile", DEFAULT_TILE), params.get("pad", DEFAULT_PAD))
    return UpscaleRerun(upscaler_path, source, tile, pad)


@dataclass
class UpscaleResult:
    record: Any  # GenerationRecord
    path: Path
    thumbnail_path: Path | None
    image: Any = field(repr=False)


def _source_record(path: Path) -> dict[str, Any]:
    """The GenLab record inside a PNG, when it has one (prompt and id carry over to the upscale)."""
    import json

    from desktop.core.image.output import read_png_text

    try:
        data = json.loads(read_png_text(path).get("genlab", "") or "{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def upscale_file(upscaler: Upscaler, source: str | Path, *, out: str | Path = "", tile: int = DEFAULT_TILE,
                 pad: int = DEFAULT_PAD, private: bool = False, cancel: CancelToken | None = None,
                 progress: ProgressCallback = no_progress) -> UpscaleResult:
    """Upscale the image file ``source`` and save it (PNG, with its record unless ``private``)."""
    import json

    from PIL import Image, UnidentifiedImageError

    from desktop.core.image.output import (
        a1111_parameters,
        incognito_folder,
        new_image_path,
        save_png,
        thumbnail_path_for,
    )
    from desktop.core.models.hashing import sha256_file
    from desktop.core.records import GenerationRecord, ModelIdentity

    cancel = cancel or CancelToken()
    source = Path(source).expanduser()
    try:
        with Image.open(source) as img:
            img.load()
            image = img.copy()
    except FileNotFoundError:
        raise ModelFileError(f"The image {source} does not exist.", "Check the path.") from None
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise InvalidParameter(f"{source.name} is not an image GenLab can read ({exc}).",
                               "Give a PNG, JPEG or WebP file.") from exc
    start = time.perf_counter()
    upscaled = upscale_image(upscaler, image, tile=tile, pad=pad, cancel=cancel, progress=progress)
    run_s = time.perf_counter() - start
    origin = _source_record(source)
    record = GenerationRecord(
        kind="image", prompt=str(origin.get("prompt", "")), negative_prompt=str(origin.get("negative_prompt", "")),
        parent_id=str(origin.get("id", "")),
        model=ModelIdentity(name=upscaler.name, file=upscaler.path.name, sha256=upscaler.sha256,
                            size=upscaler.path.stat().st_size),
        parameters={"mode": "upscale", "source_image": str(source.resolve()), "source_sha256": sha256_file(source),
                    "upscaler": {"name": upscaler.name, "path": str(upscaler.path.resolve()),
                                 "sha256": upscaler.sha256, "architecture": upscaler.architecture,
                                 "scale": upscaler.scale},
                    "tile": tile, "pad": pad, "source_size": list(image.size), "size": list(upscaled.size),
                    "dtype": upscaler.dtype},
        seed=origin.get("seed") if isinstance(origin.get("seed"), int) else None, device=upscaler.device,
        versions=upscaler_versions())
    if out:
        target = Path(out).expanduser()
        target = target if target.suffix.lower() == ".png" else target.with_suffix(".png")
    elif private:
        target = incognito_folder() / f"upscale-{record.id[:8]}.png"
    else:
        target = new_image_path(int(record.seed or 0), record.id)
    record.image_path = str(target)
    record.thumbnail_path = "" if private else str(thumbnail_path_for(target))
    record.timings = {"load_s": round(upscaler.load_seconds, 4), "upscale_s": round(run_s, 4)}
    if private:
        saved = save_png(upscaled, target, None, None, thumbnail=False)
    else:
        fields = {"Size": f"{upscaled.size[0]}x{upscaled.size[1]}", "Postprocess upscaler": upscaler.name,
                  "Postprocess upscale by": upscaler.scale, "Version": f"GenLab {record.versions.get('genlab', '')}"}
        saved = save_png(upscaled, target, a1111_parameters(record.prompt, record.negative_prompt, fields),
                         json.dumps(record.to_dict(), ensure_ascii=False))
    record.image_sha256 = saved.sha256
    return UpscaleResult(record, saved.path, None if private else saved.thumbnail_path, upscaled)


def upscaler_versions() -> dict[str, str]:
    """The versions an upscale depends on (recorded, and compared when one is re-run)."""
    import torch

    from desktop import __version__

    spandrel = spandrel_module()
    return {"genlab": __version__, "spandrel": spandrel.__version__, "torch": torch.__version__}
