"""Read and validate model headers before a file is accepted.

- GGUF: the bounded reader of :mod:`desktop.core.models.gguf` (magic,
  version, metadata, tensor table, data inside the file), then the facts the
  library lists (architecture, name, file type, context length).
- safetensors: :func:`read_safetensors_header`, the one reader of that format
  (the Images workspace uses it too): the 8-byte header length, a JSON header
  of tensors and their data inside the file.  Pickle checkpoints are refused
  (:func:`refuse_pickle`): unpickling can run arbitrary code.
- diffusers: a folder with a ``model_index.json`` naming the pipeline class,
  a folder per component, and for each component that needs weights (unet,
  vae, transformer, text encoders) ``.safetensors`` files whose headers parse
  and match their sizes.

Each reader returns :class:`ModelFacts` or raises :class:`ImportRejected`
saying what is wrong with the file.
"""

from __future__ import annotations

import json
import re
import struct
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from desktop.core.errors import ModelFileError
from desktop.core.models.errors import ImportRejected
from desktop.core.models.gguf import read_gguf_file

MAX_SAFETENSORS_HEADER = 100 * 1024 * 1024
PICKLE_SUFFIXES = {".ckpt", ".pt", ".pth", ".bin", ".pkl", ".pickle"}
PICKLE_HINT = ("Pickle files can run arbitrary code when they are loaded, so GenLab only loads "
               ".safetensors weights. Download the .safetensors version of this model.")
WEIGHT_COMPONENTS = ("unet", "vae", "transformer", "prior", "decoder")  # and every text_encoder*
_QUANT = re.compile(r"(?<![A-Za-z0-9])(I?Q\d(?:_K)?(?:_[A-Z0-9]+)?|BF16|F16|F32|FP16|FP32)(?![A-Za-z0-9])",
                    re.IGNORECASE)


@dataclass
class ModelFacts:
    format: str  # gguf | safetensors | diffusers
    kind: str  # text | image | embedding | other
    family: str = ""
    name: str = ""
    quantization: str = ""
    context_length: int = 0
    architecture: str = ""


def quantization_from_name(name: str) -> str:
    """``Qwen2.5-7B-Instruct-Q4_K_M.gguf`` → ``Q4_K_M`` ("" when none)."""
    match = _QUANT.search(Path(name).stem.replace(".", "-"))
    return match.group(1).upper() if match else ""


def read_model_facts(path: Path) -> ModelFacts:
    path = Path(path)
    if not path.exists():
        raise ImportRejected(f"{path} does not exist.")
    if path.is_dir():
        return read_diffusers_folder(path)
    suffix = path.suffix.lower()
    if suffix == ".gguf":
        return read_gguf(path)
    if suffix == ".safetensors":
        return read_safetensors(path)
    raise ImportRejected(f"{path.name} is not a model file GenLab can use.",
                         "Import a .gguf file, a .safetensors file or a diffusers folder (with model_index.json).")


# general.architecture of the image-model transformers that GGUF converters (city96's, for ComfyUI-GGUF and
# diffusers' GGUF loading) write: parts of a pipeline, never language models.
DIFFUSION_GGUF_ARCHES = {"flux": "FLUX.1", "sd3": "Stable Diffusion 3.x", "sdxl": "SDXL", "sd1": "Stable Diffusion 1.x",
                         "aura": "AuraFlow", "ltxv": "LTX-Video", "hyvid": "HunyuanVideo", "wan": "Wan",
                         "lumina2": "Lumina 2", "hidream": "HiDream", "cosmos": "Cosmos", "chroma": "Chroma"}


def read_gguf(path: Path) -> ModelFacts:
    try:
        parsed = read_gguf_file(path)
    except ModelFileError as exc:
        raise ImportRejected(exc.message, exc.hint) from exc
    arch, name = parsed.architecture, parsed.text("general.name")
    if arch in DIFFUSION_GGUF_ARCHES:
        raise ImportRejected(
            f"{path.name} is the {DIFFUSION_GGUF_ARCHES[arch]} transformer of an image model in GGUF, "
            "not a model on its own.",
            "Put it in the transformer folder of that model's diffusers folder, in place of the transformer's "
            ".safetensors files, and add the folder; or download the model's GGUF variant from the Catalog.")
    quant = quantization_from_name(path.name) or parsed.quantization
    kind = "embedding" if arch in ("bert", "nomic-bert", "jina-bert-v2") else "text"
    return ModelFacts("gguf", kind, _family(arch, name), name or path.stem, quant,
                      parsed.integer(f"{arch}.context_length") if arch else 0, arch)


def refuse_pickle(path: Path) -> None:
    if path.suffix.lower() in PICKLE_SUFFIXES:
        raise ModelFileError(f"{path.name} is a pickle checkpoint ({path.suffix}), which GenLab refuses to load.",
                             PICKLE_HINT)


def read_safetensors_header(path: Path) -> dict:
    """The JSON header of a safetensors file, after checking it matches the file size.

    Raises :class:`~desktop.core.errors.ModelFileError` naming the file and
    what is wrong: too short, a header length past the end or over
    :data:`MAX_SAFETENSORS_HEADER`, a header that is not a JSON table of
    tensors with offsets, or tensor data that runs past the end of the file.
    """
    hint = "The file is damaged or incomplete; download it again."
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(8)
            if len(head) < 8:
                raise ModelFileError(f"{path.name} is too short to be a safetensors file ({size} bytes).", hint)
            (n,) = struct.unpack("<Q", head)
            if n <= 1 or n > MAX_SAFETENSORS_HEADER or 8 + n > size:
                raise ModelFileError(f"{path.name} is not a valid safetensors file (bad header length).", hint)
            header = json.loads(fh.read(n).decode("utf-8"))
    except OSError as exc:
        raise ModelFileError(f"Cannot read {path}: {exc.strerror or exc}.") from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise ModelFileError(f"{path.name} is not a valid safetensors file (unreadable header).", hint) from exc
    if not isinstance(header, dict):
        raise ModelFileError(f"{path.name} is not a valid safetensors file (header is not a table).", hint)
    end = 0
    for key, entry in header.items():
        if key == "__metadata__":
            continue
        entry = entry if isinstance(entry, dict) else {}
        offsets = entry.get("data_offsets")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(o, int) for o in offsets)):
            raise ModelFileError(f"{path.name} is not a valid safetensors file (tensor {key!r} has no offsets).", hint)
        if not isinstance(entry.get("dtype"), str):
            raise ModelFileError(f"{path.name} is not a valid safetensors file (tensor {key!r} has no dtype).", hint)
        end = max(end, offsets[1])
    if 8 + n + end > size:
        missing = 8 + n + end - size
        raise ModelFileError(f"{path.name} is truncated: {missing} bytes of tensor data are missing.", hint)
    return header


def read_safetensors(path: Path) -> ModelFacts:
    try:
        header = read_safetensors_header(path)
    except ModelFileError as exc:
        raise ImportRejected(exc.message, exc.hint) from exc
    tensors = {k: v for k, v in header.items() if k != "__metadata__"}
    if not tensors:
        raise ImportRejected(f"{path.name} holds no tensors.")
    dtypes = Counter(v["dtype"] for v in tensors.values())
    keys = " ".join(list(tensors)[:2000])
    if "model.diffusion_model." in keys or "down_blocks." in keys:
        kind, family = "image", ("SDXL" if "label_emb" in keys or "add_embedding" in keys else "Stable Diffusion")
    elif "encoder.layer." in keys or "embeddings.word_embeddings" in keys:
        kind, family = "embedding", "BERT"
    elif "layers." in keys and ("self_attn" in keys or "attention" in keys):
        kind, family = "text", ""
    else:
        kind, family = "other", ""
    return ModelFacts("safetensors", kind, family, path.stem, dtypes.most_common(1)[0][0])


OPTIONAL_COMPONENTS = {"safety_checker", "feature_extractor", "image_encoder"}
# Components whose weights may be one GGUF file instead of safetensors (diffusers' GGUF loading of
# FLUX and SD 3 transformers, the files city96 and others publish).
GGUF_COMPONENTS = ("transformer",)


def component_gguf(folder: Path, component: str) -> Path | None:
    """The GGUF file that holds ``component``'s weights, when it has no safetensors and exactly one GGUF."""
    comp = folder / component
    if component not in GGUF_COMPONENTS or not comp.is_dir() or any(comp.glob("*.safetensors")):
        return None
    ggufs = sorted(comp.glob("*.gguf"))
    if len(ggufs) > 1:
        raise ModelFileError(f"The {component} folder of {folder.name} holds {len(ggufs)} GGUF files "
                             f"({', '.join(g.name for g in ggufs)}), so which one to load is unclear.",
                             "Keep one GGUF file in it.")
    return ggufs[0] if ggufs else None


def read_diffusers_folder(path: Path) -> ModelFacts:
    index = path / "model_index.json"
    if not index.is_file():
        raise ImportRejected(f"The folder {path.name} has no model_index.json, so it is not a diffusers model.",
                             "Choose the pipeline's top folder (the one holding model_index.json).")
    try:
        data = json.loads(index.read_text(encoding="utf-8"))
        cls = data["_class_name"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ImportRejected(f"{path.name}/model_index.json is damaged ({exc}).") from exc
    components = [name for name, spec in data.items()
                  if not name.startswith("_") and isinstance(spec, list) and spec and spec[0]]
    # Hub repos declare a safety checker and feature extractor that GenLab never loads (image_model_files
    # drops them); downloads skip those folders, so their absence is no reason to refuse the pipeline.
    missing = [name for name in components if not (path / name).is_dir() and name not in OPTIONAL_COMPONENTS]
    if missing:
        raise ImportRejected(f"The diffusers folder {path.name} lacks its {', '.join(missing)} folder(s).",
                             "Download or copy the complete pipeline.")
    _check_component_weights(path, [name for name in components if _needs_weights(name)])
    family = "SDXL" if "XL" in cls else "SD3" if "StableDiffusion3" in cls else "Flux" if "Flux" in cls \
        else "Stable Diffusion" if "StableDiffusion" in cls else cls.replace("Pipeline", "")
    weights = [p.name for p in path.rglob("*.safetensors")]
    quant = "FP16" if weights and all(".fp16." in w for w in weights) else ""
    gguf = component_gguf(path, "transformer")
    if gguf is not None:
        quant = f"GGUF {read_gguf_file(gguf).quantization}".strip()
    return ModelFacts("diffusers", "image", family, path.name, quant, 0, cls)


def _needs_weights(component: str) -> bool:
    return component in WEIGHT_COMPONENTS or component.startswith("text_encoder")


def _check_component_weights(folder: Path, components: list[str]) -> None:
    """Every weight component has ``.safetensors`` weights whose headers parse and match their size.

    A config alone creates the component's folder, so the folder existing
    proves nothing; this is what keeps a half-copied or half-downloaded
    pipeline out of the library.  All problems are named at once.
    """
    problems, hint = [], "Download or copy the complete pipeline again."
    for component in components:
        comp = folder / component
        weights = sorted(comp.glob("*.safetensors"))
        for index in sorted(comp.glob("*.safetensors.index.json")):  # sharded weights name their shards
            try:
                shards = set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values())
            except (OSError, ValueError, KeyError, TypeError, AttributeError):
                problems.append(f"{component}/{index.name} is damaged")
                continue
            problems += [f"{component}/{shard} is missing (named in {index.name})"
                         for shard in sorted(shards) if not (comp / shard).is_file()]
        if not weights:
            try:
                gguf = component_gguf(folder, component)
                if gguf is not None:
                    read_gguf_file(gguf)
                    continue
            except ModelFileError as exc:
                problems.append(f"{component}/: {exc.message.rstrip('.')}")
                continue
            pickles = sorted(p.name for p in comp.iterdir() if p.suffix.lower() in PICKLE_SUFFIXES)
            if pickles:
                problems.append(f"the {component} has only pickle weights ({component}/{pickles[0]})")
                hint = PICKLE_HINT
            else:
                problems.append(f"the {component} has no weights (no .safetensors file in {component}/)")
            continue
        for weight in weights:
            try:
                read_safetensors_header(weight)
            except ModelFileError as exc:
                problems.append(f"{component}/{weight.name} is damaged ({exc.message.rstrip('.')})")
    if problems:
        raise ImportRejected(f"The diffusers folder {folder.name} cannot be used: {'; '.join(problems)}.", hint)


def _family(arch: str, name: str) -> str:
    text = f"{arch} {name}".lower()
    for key, label in (("qwen", "Qwen"), ("llama", "Llama"), ("phi", "Phi"), ("gemma", "Gemma"),
                       ("mistral", "Mistral"), ("smollm", "SmolLM"), ("bert", "BERT")):
        if key in text:
            return label
    return arch.capitalize()
