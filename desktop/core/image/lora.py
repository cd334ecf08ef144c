"""LoRA files: A1111 prompt tags, finding the file, its base family, applying it.

A LoRA comes from two places: ``ImageParams.loras`` (the CLI's ``--lora``,
the LoRA panel, a re-run's recorded list) and ``<lora:name:weight>`` tags in
the prompt, written as A1111 writes them (the tags are taken out of the text
the model sees, and kept in the recorded prompt and the PNG ``parameters``).
A name is a path, a library model (id, sha256 prefix, name or file stem), or
``<models dir>/loras/<name>.safetensors``.

The base family comes from the file's header only (cheap, before anything
is loaded): kohya's ``ss_base_model_version`` or ``modelspec.architecture``
metadata, else the key names (``lora_te2_``/``text_encoder_2``: SDXL; FLUX's
``double_blocks``/``single_transformer_blocks``; a ``transformer.`` of SD 3's
width), else the width of the text embeddings the cross-attention keys read
(768 SD 1.x, 1024 SD 2.x, 2048 SDXL).  A LoRA for another family is refused
naming both; a UNet LoRA on a transformer model (or the reverse) likewise.

:class:`LoraSlots` applies a request's LoRAs to the loaded pipeline with
diffusers' ``load_lora_weights`` (diffusers/PEFT and kohya key formats) and
``set_adapters``: the base weights are never changed (no fusing), so
switching LoRAs between images reuses the loaded pipeline, and an image with
no LoRA (or all at weight 0) is the image of the bare model, pixel for pixel.
"""

from __future__ import annotations

import logging
import math
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from desktop.core.errors import InvalidParameter, ModelFileError
from desktop.core.image.params import (
    FAMILY_LABELS,
    FLOW_FAMILIES,
    FLUX,
    FLUX_SCHNELL,
    SD1,
    SD2,
    SD3,
    SD_TURBO,
    SDXL,
    SDXL_TURBO,
    EmbeddingChoice,
    LoraChoice,
)
from desktop.core.models.headers import read_safetensors_header, refuse_pickle

if TYPE_CHECKING:
    from desktop.core.models.library import Library

log = logging.getLogger(__name__)

# A1111: <lora:name>, <lora:name:0.8>, <lora:name:0.8:0.5> (text-encoder and UNet weights; we take the first).
LORA_TAG = re.compile(r"<lora:([^:>]+)(?::([^:>]*))?(?::[^>]*)?>")
FAMILY_GROUP = {SD1: SD1, SD2: SD2, SD_TURBO: SD2, SDXL: SDXL, SDXL_TURBO: SDXL, SD3: SD3, FLUX: FLUX,
                FLUX_SCHNELL: FLUX}
CROSS_ATTENTION_FAMILY = {768: SD1, 1024: SD2, 2048: SDXL}
TRANSFORMER_WIDTH_FAMILY = {1536: SD3, 2432: SD3, 3072: FLUX}  # SD 3/3.5 medium, 3.5 large; FLUX.1
_UNET_KEYS = ("unet.", "lora_unet_down_blocks_", "lora_unet_up_blocks_", "lora_unet_mid_block_",
              "lora_unet_input_blocks_", "lora_unet_output_blocks_", "lora_unet_middle_block_")
_DOWN = (".lora_A.weight", ".lora_down.weight", ".lora.down.weight")
# LoRAs kept loaded but inactive after an image stops asking for them, so switching back costs no file load;
# few, as each holds its weights on the device (tens to hundreds of MB for SDXL).
IDLE_ADAPTERS = 2


@dataclass(frozen=True)
class LoraTag:
    name: str
    weight: float


@dataclass(frozen=True)
class LoraBase:
    """What a LoRA file says about the model it was made for."""

    family: str  # "" when neither metadata nor keys tell
    cross_attention_dim: int | None  # width of the text embeddings it reads, when it adapts cross-attention
    evidence: str  # how the family was found, for messages
    denoiser: str = ""  # "unet" (SD 1/2/XL) or "transformer" (SD 3, FLUX) when the keys tell


@dataclass(frozen=True)
class ResolvedLora:
    """A LoRA found on disk, hashed, its base read: what the engine applies and records."""

    name: str
    path: Path
    sha256: str
    weight: float
    base: LoraBase

    def choice(self) -> LoraChoice:
        return LoraChoice(path=str(self.path), weight=self.weight, sha256=self.sha256, name=self.name)


def split_prompt_loras(prompt: str) -> tuple[str, list[LoraTag]]:
    """(the prompt without its ``<lora:...>`` tags, the tags) -- A1111 removes them the same way."""
    tags = []
    for match in LORA_TAG.finditer(prompt):
        name, raw = match.group(1).strip(), (match.group(2) or "").strip()
        try:
            weight = float(raw) if raw else 1.0
        except ValueError:
            weight = math.nan
        if not math.isfinite(weight):
            raise InvalidParameter(f"The weight in {match.group(0)} is not a number.",
                                   "Write it as <lora:name:0.8>.")
        tags.append(LoraTag(name, weight))
    return LORA_TAG.sub("", prompt), tags


def lora_base(path: Path) -> LoraBase:
    """The family ``path`` was trained for, from its safetensors header; raises if it is no LoRA."""
    header = read_safetensors_header(path)
    meta = header.get("__metadata__") or {}
    keys = [k for k in header if k != "__metadata__"]
    if not any(k.endswith(_DOWN) for k in keys):
        raise ModelFileError(f"{path.name} is not a LoRA (it has no lora_A/lora_down tensors).",
                             "Choose a LoRA .safetensors file made for this model's family.")
    cross = None
    for key in keys:
        if "attn2" in key and ("to_k" in key or "to_v" in key) and key.endswith(_DOWN):
            shape = header[key].get("shape") or []
            if len(shape) == 2:
                cross = int(shape[1])
                break
    version = str(meta.get("ss_base_model_version", "")).lower()
    arch = str(meta.get("modelspec.architecture", "")).lower()
    if version.startswith("flux") or arch.startswith("flux"):
        return LoraBase(FLUX, None, "its metadata", "transformer")
    if version.startswith("sd3") or "stable-diffusion-3" in arch or "stable-diffusion-v3" in arch:
        return LoraBase(SD3, None, "its metadata", "transformer")
    if any(k.startswith(("lora_unet_double_blocks_", "lora_unet_single_blocks_", "lora_transformer_single_"))
           or "single_transformer_blocks." in k or k.startswith(("double_blocks.", "single_blocks.")) for k in keys):
        return LoraBase(FLUX, None, "its FLUX block names", "transformer")
    if any(k.startswith(("transformer.", "lora_transformer_")) or "joint_blocks" in k for k in keys):
        width = _transformer_width(header, keys)
        family = TRANSFORMER_WIDTH_FAMILY.get(width or 0, "")
        return LoraBase(family, None, f"its {width}-wide transformer" if family else "", "transformer")
    if version.startswith("sdxl") or "stable-diffusion-xl" in arch:
        return LoraBase(SDXL, cross, "its metadata")
    if version.startswith("sd_v2") or "stable-diffusion-v2" in arch:
        return LoraBase(SD2, cross, "its metadata")
    if version.startswith("sd_v1") or "stable-diffusion-v1" in arch:
        return LoraBase(SD1, cross, "its metadata")
    if any(k.startswith(("lora_te2_", "text_encoder_2.", "te2.")) for k in keys):
        return LoraBase(SDXL, cross, "its second text encoder's keys")
    if any(k.startswith("lora_unet_input_blocks_") for k in keys):
        return LoraBase(SDXL, cross, "its UNet keys")  # kohya SDXL LoRAs use the original SGM block names
    denoiser = "unet" if any(k.startswith(_UNET_KEYS) for k in keys) else ""
    if cross in CROSS_ATTENTION_FAMILY:
        return LoraBase(CROSS_ATTENTION_FAMILY[cross], cross, f"its {cross}-wide cross-attention", denoiser)
    return LoraBase("", cross, "", denoiser)


def _transformer_width(header: dict, keys: list[str]) -> int | None:
    """The hidden width a transformer LoRA's query projection reads (A1111/kohya or PEFT naming)."""
    for key in keys:
        if ("to_q" in key or "qkv" in key) and key.endswith(_DOWN):
            shape = header[key].get("shape") or []
            if len(shape) == 2:
                return int(shape[1])
    return None


def family_label(family: str) -> str:
    return FAMILY_LABELS.get(family, family or "an unknown family")


def check_family(lora: ResolvedLora, model_family: str, model_name: str) -> None:
    """Refuse a LoRA whose file says it was made for another family than the model's."""
    made_for = lora.base.family
    flow = model_family in FLOW_FAMILIES
    if not made_for and lora.base.denoiser and (lora.base.denoiser == "transformer") != flow:
        kind = "a transformer (SD 3.x or FLUX)" if lora.base.denoiser == "transformer" else "a UNet (SD 1.x, 2.x or XL)"
        raise InvalidParameter(
            f"The LoRA {lora.name} is for {kind} model, but {model_name} is {family_label(model_family)}.",
            f"Choose a LoRA made for {family_label(model_family)}.")
    if made_for and FAMILY_GROUP.get(made_for, made_for) != FAMILY_GROUP.get(model_family, model_family):
        raise InvalidParameter(
            f"The LoRA {lora.name} is for {family_label(made_for)} (from {lora.base.evidence}), "
            f"but {model_name} is {family_label(model_family)}.",
            f"Choose a LoRA made for {family_label(model_family)}, or load a {family_label(made_for)} model.")


def _library_lora(name: str, library: Library) -> Path | None:
    from desktop.core.models.errors import UnknownModel

    try:
        return Path(library.get(name).path)
    except UnknownModel:
        pass
    stem = next((m for m in library.models() if Path(m.path).stem == name and m.path.endswith(".safetensors")), None)
    return Path(stem.path) if stem is not None else None


def find_lora(name: str, library: Library) -> Path:
    """The file ``name`` (a path, a library model, or a stem in ``<models dir>/loras``) stands for."""
    from desktop.core import paths

    path = Path(name).expanduser()
    if path.is_file():
        return path
    looks_like_path = any(sep in name for sep in ("/", "\\")) or path.suffix.lower() in (".safetensors", ".pt", ".ckpt")
    if not looks_like_path:
        found = _library_lora(name, library)
        if found is not None and found.is_file():
            return found
        folder = paths.models_dir() / "loras"
        candidate = folder / f"{name}.safetensors"
        if candidate.is_file():
            return candidate
        raise ModelFileError(f"No LoRA named {name!r} in the library or in {folder}.",
                             "Give the path of the .safetensors file, or add it to the library in Models.")
    raise ModelFileError(f"The LoRA file {path} does not exist.", "Check the path.")


def recorded_file(choice: LoraChoice | EmbeddingChoice, library: Library, kind: str) -> Path:
    """A recorded LoRA's or embedding's file (``kind`` names it in the message): the recorded path if
    its bytes still match, else the library's copy."""
    from desktop.core.models import hashing

    path = Path(choice.path)
    if path.is_file() and hashing.model_sha256(path) == choice.sha256:
        return path
    model = library.find_by_sha256(choice.sha256)
    if model is not None and Path(model.path).is_file():
        return Path(model.path)
    raise ModelFileError(f"The {kind} {choice.name or path.name} (sha256 {choice.sha256[:12]}…) is neither at "
                         f"{path} nor in the model library.",
                         "Put that exact file back, or add it to the library in Models, then re-run.")


def resolve(name: str, path: Path, weight: float) -> ResolvedLora:
    from desktop.core.models import hashing

    refuse_pickle(path)
    if path.suffix.lower() != ".safetensors":
        raise ModelFileError(f"{path.name} is not a .safetensors LoRA.", "GenLab loads LoRAs from .safetensors files.")
    base = lora_base(path)
    return ResolvedLora(name=name, path=path.resolve(), sha256=hashing.model_sha256(path), weight=float(weight),
                        base=base)


def resolve_loras(choices: list[LoraChoice], tags: list[LoraTag], library: Library) -> list[ResolvedLora]:
    """The request's LoRAs, one per file: the prompt's tags, then the explicit choices (which win)."""
    found: dict[Path, ResolvedLora] = {}
    for tag in tags:
        lora = resolve(tag.name, find_lora(tag.name, library), tag.weight)
        found[lora.path] = lora
    for choice in choices:
        path = recorded_file(choice, library, "LoRA") if choice.sha256 else find_lora(choice.path, library)
        lora = resolve(choice.name or path.stem, path, choice.weight)
        found.pop(lora.path, None)
        found[lora.path] = lora
    return list(found.values())


def a1111_prompt(prompt: str, loras: list[ResolvedLora]) -> str:
    """The prompt as A1111 writes it: with a ``<lora:stem:weight>`` tag for each LoRA not tagged in it."""
    _, tags = split_prompt_loras(prompt)
    tagged = {t.name for t in tags}
    extra = [f"<lora:{lora.path.stem}:{lora.weight:g}>" for lora in loras
             if lora.name not in tagged and lora.path.stem not in tagged]
    return " ".join([prompt, *extra]) if extra else prompt


class LoraSlots:
    """The LoRA adapters loaded into one pipeline, named by their file's sha256.

    Lifecycle: made for a freshly loaded pipeline (the engine drops it with the
    pipeline); :meth:`apply` before each image loads the adapters it lacks,
    keeps the :data:`IDLE_ADAPTERS` most recently used of the others loaded
    but inactive (switching back to one is a ``set_adapters`` call) and
    deletes the rest, so memory stays bounded, then sets the weights.
    Nothing is fused into the base weights, and inactive adapters take no
    part in the computation.
    """

    def __init__(self, pipe: Any) -> None:
        self.pipe = pipe
        self.loaded: dict[str, ResolvedLora] = {}  # adapter name -> the LoRA, least recently used first
        self.loads = 0  # files loaded so far (switching back to a dropped LoRA loads it again)

    @staticmethod
    def adapter_name(lora: ResolvedLora) -> str:
        return f"lora_{lora.sha256[:16]}"

    def _check_width(self, lora: ResolvedLora) -> None:
        denoiser = getattr(self.pipe, "unet", None)
        want = getattr(getattr(denoiser, "config", None), "cross_attention_dim", None)
        if lora.base.cross_attention_dim and want and lora.base.cross_attention_dim != want:
            raise InvalidParameter(
                f"The LoRA {lora.name} reads {lora.base.cross_attention_dim}-wide text embeddings, "
                f"and the loaded model's are {want} wide: it was made for another model family.",
                "Choose a LoRA made for the loaded model's family.")

    def apply(self, loras: list[ResolvedLora]) -> None:
        wanted = {self.adapter_name(lora): lora for lora in loras}
        for name in wanted:
            if name in self.loaded:
                self.loaded[name] = self.loaded.pop(name)  # now the most recently used
        idle = [name for name in self.loaded if name not in wanted]
        stale = idle[:max(0, len(idle) - IDLE_ADAPTERS)]
        if stale:
            self.pipe.delete_adapters(stale)
            for name in stale:
                del self.loaded[name]
        for name, lora in wanted.items():
            if name not in self.loaded:
                self._check_width(lora)
                self._load(name, lora)
        active = [(name, lora.weight) for name, lora in wanted.items() if lora.weight != 0]
        if not active:
            if self.loaded:
                self.pipe.disable_lora()  # the bare model's layers, exactly
            return
        self.pipe.enable_lora()
        self.pipe.set_adapters([n for n, _ in active], adapter_weights=[w for _, w in active])

    def _load(self, name: str, lora: ResolvedLora) -> None:
        from diffusers.utils import logging as diffusers_logging

        before = diffusers_logging.get_verbosity()
        diffusers_logging.set_verbosity_error()  # "no LoRA keys for the text encoder" is normal, not news
        try:
            with warnings.catch_warnings():
                # PEFT warns on every adapter after the first; several adapters are what we want
                warnings.filterwarnings("ignore", message=".*multiple adapters.*", category=UserWarning)
                self.pipe.load_lora_weights(str(lora.path), adapter_name=name)
        except Exception as exc:  # any library error here means this file cannot adapt this model
            try:
                self.pipe.delete_adapters([name])  # what a half-done load left behind
            except Exception:
                log.debug("no partial adapter %s to remove", name, exc_info=True)
            first_line = f"{exc}".strip().split("\n")[0][:300]
            raise ModelFileError(f"Could not apply the LoRA {lora.name}: {type(exc).__name__}: {first_line}",
                                 "It may be made for another model, or damaged; choose another LoRA.") from exc
        finally:
            diffusers_logging.set_verbosity(before)
        self.loaded[name] = lora
        self.loads += 1
