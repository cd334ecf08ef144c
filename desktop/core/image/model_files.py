"""Inspecting an image model on disk before anything is loaded.

Two layouts are accepted: a diffusers folder (``model_index.json`` plus one
sub-folder per component) and a single ``.safetensors`` checkpoint.  Pickle
checkpoints (``.ckpt``, ``.pt``, ``.bin``...) are refused: unpickling can run
arbitrary code.  Safetensors headers are read and checked against the file
size by the model library's one reader
(:func:`desktop.core.models.headers.read_safetensors_header`), so a truncated
download or a random file gives a clear message instead of a library
traceback.  A FLUX or SD 3.x folder's transformer may be one GGUF file
instead of safetensors (quantized, as city96's; loaded with diffusers' GGUF
support by :func:`desktop.core.image.pipeline.load_pipeline`), checked here
to be a transformer of the folder's family.  The family (SD 1.x, SD 2.x,
SDXL, their Turbo variants, SD 3.x, FLUX.1 dev and schnell) comes from the
folder's ``model_index.json`` class and configs, or from the checkpoint's
tensor names; a checkpoint whose tensors match no family is refused naming
what it holds.

Nothing here imports torch or diffusers: inspecting is cheap and safe on the
GUI thread.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from desktop.core.errors import ModelFileError
from desktop.core.image.params import FAMILY_LABELS, FLUX, FLUX_SCHNELL, SD1, SD2, SD3, SD_TURBO, SDXL, SDXL_TURBO
from desktop.core.models.headers import (
    PICKLE_HINT,
    PICKLE_SUFFIXES,
    component_gguf,
    read_safetensors_header,
    refuse_pickle,
)

SUPPORTED_PIPELINES = {
    "StableDiffusionPipeline": "sd",
    "StableDiffusionImg2ImgPipeline": "sd",
    "StableDiffusionInpaintPipeline": "sd",  # an inpainting checkpoint: its UNet takes 9 channels
    "StableDiffusionXLPipeline": "sdxl",
    "StableDiffusionXLImg2ImgPipeline": "sdxl",
    "StableDiffusionXLInpaintPipeline": "sdxl",
    "StableDiffusion3Pipeline": "sd3",
    "StableDiffusion3Img2ImgPipeline": "sd3",
    "FluxPipeline": "flux",
    "FluxImg2ImgPipeline": "flux",
}
PIPELINE_FOR_FAMILY = {SD1: "StableDiffusionPipeline", SD2: "StableDiffusionPipeline",
                       SD_TURBO: "StableDiffusionPipeline", SDXL: "StableDiffusionXLPipeline",
                       SDXL_TURBO: "StableDiffusionXLPipeline", SD3: "StableDiffusion3Pipeline",
                       FLUX: "FluxPipeline", FLUX_SCHNELL: "FluxPipeline"}
# Components we load ourselves; optional ones (safety checker...) are dropped.
REQUIRED = {"sd": ("unet", "vae", "text_encoder", "tokenizer", "scheduler"),
            "sdxl": ("unet", "vae", "text_encoder", "text_encoder_2", "tokenizer", "tokenizer_2", "scheduler"),
            "sd3": ("transformer", "vae", "text_encoder", "text_encoder_2", "text_encoder_3", "tokenizer",
                    "tokenizer_2", "tokenizer_3", "scheduler"),
            "flux": ("transformer", "vae", "text_encoder", "text_encoder_2", "tokenizer", "tokenizer_2", "scheduler")}
WEIGHT_COMPONENTS = {"unet", "transformer", "vae", "text_encoder", "text_encoder_2", "text_encoder_3"}


@dataclass
class ModelInfo:
    """What a model is, found without loading it.

    ``files`` are the paths (relative to ``path`` for a folder) whose bytes
    define the model; their combined sha256 is the model's identity.
    """

    path: Path
    layout: str  # "folder" | "single_file"
    family: str
    lcm: bool = False
    pipeline_class: str = ""
    variant: str | None = None  # "fp16" when only fp16 weights are present
    files: list[str] = field(default_factory=list)
    size: int = 0
    transformer_gguf: str = ""  # a folder's transformer as a GGUF file (relative path), else ""
    gguf_quantization: str = ""  # its weights' type ("Q8_0", "F16")

    @property
    def quantization(self) -> str:
        """What the records and the model card say about the weights' precision ("GGUF Q8_0", "fp16", "")."""
        if self.transformer_gguf:
            return f"GGUF {self.gguf_quantization}".strip()
        return self.variant or ""

    @property
    def name(self) -> str:
        return self.path.stem if self.layout == "single_file" else self.path.name

    @property
    def family_label(self) -> str:
        return FAMILY_LABELS.get(self.family, self.family) + (" (LCM)" if self.lcm else "")

    @property
    def is_xl(self) -> bool:
        return self.family in (SDXL, SDXL_TURBO)


def _name_flags(name: str) -> tuple[bool, bool]:
    lowered = name.lower()
    return "turbo" in lowered, "lcm" in lowered


def _tensor_summary(keys: list[str]) -> str:
    """What a checkpoint holds, for a refusal: its most common key prefixes and the tensor count."""
    prefixes = Counter(".".join(k.split(".")[:2]) + "." if k.count(".") > 1 else k for k in keys)
    top = ", ".join(f"{p}*" for p, _ in prefixes.most_common(4))
    return f"{len(keys)} tensors, mostly {top}" if keys else "no tensors"


def _family_from_single_file(keys: list[str], name: str) -> str:
    # MM-DiT checkpoints first: they also use the model.diffusion_model. prefix of SD 1.x files.
    if any(".joint_blocks." in k or k.startswith("joint_blocks.") for k in keys):
        return SD3
    if any(".double_blocks." in k or k.startswith("double_blocks.") for k in keys):
        # FLUX.1-dev embeds the guidance scale; schnell (timestep-distilled) has no guidance_in.
        return FLUX if any("guidance_in." in k for k in keys) else FLUX_SCHNELL
    if any(k.startswith("conditioner.embedders.1") for k in keys):
        family = SDXL
    elif any(k.startswith("cond_stage_model.model.") for k in keys):
        family = SD2
    elif any(k.startswith("model.diffusion_model.") for k in keys):
        family = SD1
    elif any(k.startswith(("lora_unet_", "lora_te", "lora_transformer_")) or ".lora_A." in k or ".lora_down." in k
             for k in keys):
        raise ModelFileError(f"{name} is a LoRA, not a model.",
                             "Load a model of its family, then apply the LoRA with --lora or "
                             "<lora:name:weight> in the prompt.")
    else:
        raise ModelFileError(f"{name} matches no image model family GenLab knows: it holds {_tensor_summary(keys)}, "
                             "and no UNet (model.diffusion_model.*) or MM-DiT (joint_blocks, double_blocks) tensors.",
                             "GenLab supports SD 1.x, SD 2.x, SDXL and their Turbo variants, SD 3.x and FLUX.1 "
                             "checkpoints, and diffusers folders of them.")
    turbo, _ = _name_flags(name)
    if turbo:
        family = SDXL_TURBO if family == SDXL else SD_TURBO
    return family


def _read_json(path: Path, what: str) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ModelFileError(f"The model folder is missing {what} ({path.name}).",
                             "Download the complete model folder again.") from exc
    except (OSError, ValueError) as exc:
        raise ModelFileError(f"{path} is not valid JSON: {exc}.", "Download the model folder again.") from exc
    if not isinstance(data, dict):
        raise ModelFileError(f"{path} is not a JSON object.", "Download the model folder again.")
    return data


def _component_weights(folder: Path, component: str) -> tuple[list[Path], str | None]:
    comp = folder / component
    safes = sorted(p for p in comp.glob("*.safetensors"))
    if not safes:
        pickles = [p for p in comp.iterdir() if p.suffix.lower() in PICKLE_SUFFIXES] if comp.is_dir() else []
        if pickles:
            raise ModelFileError(f"The {component} of {folder.name} only has pickle weights ({pickles[0].name}).",
                                 PICKLE_HINT)
        raise ModelFileError(f"The model folder {folder.name} has no weights for its {component}.",
                             "Download the complete model folder again.")
    full = [p for p in safes if ".fp16." not in p.name]
    if full:
        return full, None
    return safes, "fp16"


# Tensor names that tell a transformer GGUF's family: the original (BFL / Stability) names or diffusers'.
GGUF_TRANSFORMER_KEYS = {"flux": ("double_blocks.", "single_blocks.", "single_transformer_blocks."),
                         "sd3": ("joint_blocks.", "transformer_blocks.")}


def _check_gguf_transformer(path: Path, folder: Path, kind: str) -> str:
    """The quantization of the GGUF transformer at ``path``; raises if it is no transformer of ``kind``."""
    from desktop.core.models.gguf import read_gguf_file

    parsed = read_gguf_file(path)
    names = [t.name for t in parsed.tensors]
    flux = any(k.startswith(GGUF_TRANSFORMER_KEYS["flux"]) or ".double_blocks." in k for k in names)
    fits = flux if kind == "flux" else (not flux and any(k.startswith(GGUF_TRANSFORMER_KEYS["sd3"]) for k in names))
    if not fits:
        label = "FLUX.1" if kind == "flux" else "Stable Diffusion 3.x"
        arch = f" ({parsed.architecture})" if parsed.architecture else ""
        raise ModelFileError(f"{path.name} in {folder.name}/transformer is not a {label} transformer{arch}: "
                             f"it holds {_tensor_summary(names)}.",
                             f"Put a {label} transformer GGUF there, or the transformer's .safetensors weights.")
    return parsed.quantization


def inspect_folder(folder: Path) -> ModelInfo:
    index = _read_json(folder / "model_index.json", "model_index.json")
    cls = str(index.get("_class_name", ""))
    kind = SUPPORTED_PIPELINES.get(cls)
    if kind is None:
        raise ModelFileError(f"{folder.name} is a {cls or 'unknown'} model, which the Images workspace does not support.",
                             "Use a Stable Diffusion 1.x, 2.x, SDXL, Turbo, SD 3.x or FLUX.1 model.")
    files: list[str] = ["model_index.json"]
    variant = None
    gguf, gguf_quant = "", ""
    for component in REQUIRED[kind]:
        entry = index.get(component)
        if not (isinstance(entry, list) and len(entry) == 2 and entry[0]):
            raise ModelFileError(f"{folder.name}/model_index.json does not declare a {component}.",
                                 "This folder is not a complete Stable Diffusion pipeline.")
        comp = folder / component
        if not comp.is_dir():
            raise ModelFileError(f"The model folder {folder.name} is missing its {component} folder.",
                                 "Download the complete model folder again.")
        configs = sorted(p for p in comp.iterdir() if p.suffix in (".json", ".txt", ".model"))  # .model: T5 spiece
        if not configs:
            raise ModelFileError(f"The {component} folder of {folder.name} has no configuration files.",
                                 "Download the complete model folder again.")
        files += [str(p.relative_to(folder)) for p in configs]
        quantized = component_gguf(folder, component) if kind in ("flux", "sd3") else None
        if quantized is not None:
            gguf_quant = _check_gguf_transformer(quantized, folder, kind)
            gguf = str(quantized.relative_to(folder))
            files.append(gguf)
        elif component in WEIGHT_COMPONENTS:
            weights, comp_variant = _component_weights(folder, component)
            variant = variant or comp_variant
            for w in weights:
                read_safetensors_header(w)
            files += [str(p.relative_to(folder)) for p in weights]
    scheduler_cfg = _read_json(folder / "scheduler" / "scheduler_config.json", "the scheduler config")
    turbo, lcm = _name_flags(folder.name)
    lcm = lcm or scheduler_cfg.get("_class_name") == "LCMScheduler"
    if kind == "sd3":
        family = SD3
    elif kind == "flux":
        transformer_cfg = _read_json(folder / "transformer" / "config.json", "the transformer config")
        family = FLUX if transformer_cfg.get("guidance_embeds", True) else FLUX_SCHNELL
    elif kind == "sdxl":
        family = SDXL_TURBO if turbo else SDXL
    else:
        unet_cfg = _read_json(folder / "unet" / "config.json", "the UNet config")
        family = SD2 if unet_cfg.get("cross_attention_dim") == 1024 else SD1
        if turbo:
            family = SD_TURBO
    size = sum((folder / f).stat().st_size for f in files)
    return ModelInfo(folder, "folder", family, lcm=lcm, pipeline_class=cls, variant=variant,
                     files=sorted(files), size=size, transformer_gguf=gguf, gguf_quantization=gguf_quant)


def inspect_single_file(path: Path) -> ModelInfo:
    refuse_pickle(path)
    if path.suffix.lower() != ".safetensors":
        raise ModelFileError(f"{path.name} is not a .safetensors checkpoint or a diffusers folder.",
                             "Choose a model folder (with model_index.json) or a .safetensors file.")
    header = read_safetensors_header(path)
    family = _family_from_single_file([k for k in header if k != "__metadata__"], path.name)
    _, lcm = _name_flags(path.name)
    cls = PIPELINE_FOR_FAMILY[family]
    return ModelInfo(path, "single_file", family, lcm=lcm, pipeline_class=cls,
                     files=[path.name], size=path.stat().st_size)


def inspect_model(path: Path) -> ModelInfo:
    """Identify the model at ``path`` or raise ModelFileError saying what is wrong."""
    path = Path(path).expanduser()
    if not path.exists():
        raise ModelFileError(f"No model at {path}.", "Check the path, or pick a model in the library.")
    if path.is_dir():
        if not (path / "model_index.json").exists():
            raise ModelFileError(f"{path.name} is not a diffusers model folder (no model_index.json).",
                                 "Choose the folder that contains model_index.json, or a .safetensors file.")
        return inspect_folder(path)
    return inspect_single_file(path)
