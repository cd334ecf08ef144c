"""Loading a diffusers pipeline: device, dtype, memory policy, identity.

- Device: CUDA, else Apple MPS, else CPU; fp16 on a GPU, fp32 on the CPU.
- Memory: :func:`plan_memory` decides model CPU offload, attention slicing
  and VAE tiling from free VRAM and the model size, and says why; the
  ``offload`` setting (auto | none | model | sequential) overrides it.
- Loading never reaches the hub: ``local_files_only=True`` and
  ``HF_HUB_OFFLINE=1`` are set, and single-file checkpoints take their
  configs from a local folder: the user's, else the ones GenLab ships in
  ``resources/diffusers-configs`` (see :func:`single_file_config_dir`).
- Identity: the model library's (see :func:`model_identity`), so history
  records and the library agree; per-file hashes come from
  :mod:`desktop.core.models.hashing`'s cache.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desktop.core import paths
from desktop.core.errors import GenLabError, ModelFileError
from desktop.core.hardware import fmt_bytes
from desktop.core.image.model_files import PIPELINE_FOR_FAMILY, ModelInfo
from desktop.core.image.params import SD2, SD3
from desktop.core.jobs import CancelToken, Progress, ProgressCallback, no_progress
from desktop.core.models.headers import read_safetensors_header
from desktop.core.offline import hub_libraries_offline
from desktop.core.records import ModelIdentity

OFFLOAD_CHOICES = ("auto", "none", "model", "sequential")
GB = 1024**3


@dataclass
class MemoryPlan:
    offload: str = "none"  # none | model | sequential
    attention_slicing: bool = False
    vae_tiling: bool = False
    reason: str = ""


def choose_device() -> tuple[str, Any]:
    """(device, dtype): cuda/fp16, else mps/fp16, else cpu/fp32."""
    import torch

    if torch.cuda.is_available():
        return "cuda", torch.float16
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps", torch.float16
    return "cpu", torch.float32


def activation_bytes(width: int, height: int, xl: bool) -> int:
    """A rough peak for UNet activations and the VAE decode at this size."""
    pixels = width * height / (512 * 512)
    return int((0.6 if xl else 0.4) * GB * pixels)


def plan_memory(device: str, *, vram_free: int, ram_total: int, weights_bytes: int,
                width: int, height: int, xl: bool, override: str = "auto") -> MemoryPlan:
    """Pick the memory features for a load, with a reason a person can read."""
    big_image = width * height > 1024 * 1024
    if device == "cpu":
        return MemoryPlan("none", False, big_image, "Running on the CPU: everything stays in system memory.")
    if device == "mps":
        slicing = ram_total < 64 * GB  # diffusers' advice for Apple GPUs with < 64 GB
        return MemoryPlan("none", slicing, big_image,
                          "Apple GPU: attention slicing on to fit shared memory." if slicing
                          else "Apple GPU with plenty of shared memory.")
    need = weights_bytes + activation_bytes(width, height, xl)
    if override != "auto":
        return MemoryPlan(override if override in ("model", "sequential") else "none",
                          vram_free < need, big_image or vram_free < need,
                          f"Offload set to '{override}' in settings.")
    if vram_free >= need * 1.2:
        return MemoryPlan("none", False, big_image,
                          f"{fmt_bytes(vram_free)} of VRAM free; the model needs about {fmt_bytes(need)}.")
    # With model offload only the largest component (the UNet, ~70% of the weights) is resident.
    if vram_free >= weights_bytes * 0.7 + activation_bytes(width, height, xl):
        return MemoryPlan("model", False, True,
                          f"Only {fmt_bytes(vram_free)} of VRAM free for a model needing about {fmt_bytes(need)}: "
                          "model CPU offload keeps only the active part on the GPU (slower).")
    return MemoryPlan("sequential", True, True,
                      f"Only {fmt_bytes(vram_free)} of VRAM free for a model needing about {fmt_bytes(need)}: "
                      "sequential CPU offload (much slower, but it fits).")


def model_identity(info: ModelInfo, *, cancel: CancelToken | None = None,
                   progress: ProgressCallback = no_progress) -> ModelIdentity:
    """The model's identity, computed exactly as the model library computes it.

    A single file: its sha256 (what A1111's "Model hash" abbreviates).  A
    folder: the sha256 of its sorted ``relpath:sha256`` lines over every file,
    so swapping any component (another VAE) changes it, and the library's
    ``find_by_sha256`` finds the model again from a history record.
    """
    from desktop.core.models.library import model_identity as library_identity

    digest = library_identity(info.path, cancel=cancel, progress=progress)
    return ModelIdentity(name=info.name, file=info.path.name, sha256=digest, size=info.size,
                         quantization=info.quantization, files=list(info.files))


def config_folder_names(info: ModelInfo) -> list[str]:
    """Config folder names for a single-file checkpoint, most specific first.

    SD 2.x comes as 768 px v-prediction (``sd2``) and 512 px epsilon (``sd2-base``)
    models with identical tensors; only the name tells them apart (as in the
    official ``v2-1_512-ema-pruned`` / ``v2-1_768-ema-pruned`` files).
    """
    lowered = info.path.name.lower()
    if info.family == SD2 and ("512" in lowered or "base" in lowered):
        return ["sd2-base", SD2]
    return [info.family]


def bundled_config_mismatch(checkpoint: Path, config_dir: Path) -> str:
    """Why the configs in ``config_dir`` cannot describe this checkpoint's UNet, or "" if they can.

    Compares the UNet width and cross-attention size in the safetensors header with the
    config, so an unusual architecture gets a clear message instead of a shape error.
    """
    header = read_safetensors_header(checkpoint)
    unet = json.loads((config_dir / "unet" / "config.json").read_text(encoding="utf-8"))
    conv_in = header.get("model.diffusion_model.input_blocks.0.0.weight", {}).get("shape")
    if not conv_in:
        return "it has no UNet input convolution (model.diffusion_model.input_blocks.0.0.weight)"
    if conv_in[0] != unet["block_out_channels"][0]:
        return f"its UNet is {conv_in[0]} channels wide where the bundled configs expect {unet['block_out_channels'][0]}"
    if len(conv_in) > 1 and conv_in[1] != unet.get("in_channels", 4):
        kind = " (an inpainting checkpoint)" if conv_in[1] == 9 else ""
        return (f"its UNet takes {conv_in[1]} input channels{kind} where the bundled configs "
                f"expect {unet.get('in_channels', 4)}")
    to_k = next((entry["shape"] for key, entry in header.items()
                 if key.startswith("model.diffusion_model.") and key.endswith("attn2.to_k.weight")), None)
    if to_k and to_k[-1] != unet["cross_attention_dim"]:
        return (f"its UNet attends to {to_k[-1]}-wide text embeddings where the bundled configs "
                f"expect {unet['cross_attention_dim']}")
    return ""


def single_file_config_dir(info: ModelInfo) -> Path:
    """The local diffusers config folder a single-file checkpoint of this family needs.

    Looked up in ``<models dir>/configs/<name>`` (the user's, trusted as they are) then
    in the configs GenLab ships, ``resources/diffusers-configs/<name>``, used only when
    they match the checkpoint's tensor shapes.
    """
    names = config_folder_names(info)
    user = [paths.models_dir() / "configs" / name for name in names]
    for cand in user:
        if (cand / "model_index.json").is_file():
            return cand
    why_not_bundled = ""
    for name in names:
        cand = paths.resource_path("diffusers-configs", name)
        if (cand / "model_index.json").is_file():
            why_not_bundled = bundled_config_mismatch(info.path, cand)
            if not why_not_bundled:
                return cand
    detail = f" The configs GenLab ships do not fit: {why_not_bundled}." if why_not_bundled else ""
    raise ModelFileError(
        f"Loading the single-file checkpoint {info.path.name} ({info.family_label}) needs its diffusers "
        f"configs, and GenLab never downloads them while loading.{detail}",
        f"Put the model's config files (model_index.json and the component configs, no weights) in "
        f"{user[0]}, or use the diffusers folder of this model instead.")


def _offline_env() -> None:
    hub_libraries_offline()
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    # Loading bars would go to stderr of the GUI or garble the CLI output.
    diffusers_logging.disable_progress_bar()
    transformers_logging.disable_progress_bar()


def load_gguf_transformer(info: ModelInfo, dtype: Any) -> Any:
    """The folder's transformer from its GGUF file, quantized weights kept as they are and computed in
    ``dtype``; its config is the folder's ``transformer/config.json`` (never the hub)."""
    import diffusers

    cls = diffusers.SD3Transformer2DModel if info.family == SD3 else diffusers.FluxTransformer2DModel
    return cls.from_single_file(str(info.path / info.transformer_gguf), config=str(info.path), subfolder="transformer",
                                quantization_config=diffusers.GGUFQuantizationConfig(compute_dtype=dtype),
                                torch_dtype=dtype, local_files_only=True)


def load_pipeline(info: ModelInfo, dtype: Any) -> Any:
    """The text-to-image pipeline for ``info``, on the CPU, never touching the hub."""
    _offline_env()
    import diffusers

    cls_name = PIPELINE_FOR_FAMILY.get(info.family, "StableDiffusionPipeline")
    cls = getattr(diffusers, cls_name)
    extra: dict[str, Any] = {} if cls_name != "StableDiffusionPipeline" else {
        "safety_checker": None, "feature_extractor": None, "requires_safety_checker": False}
    try:
        with warnings.catch_warnings():
            # diffusers >= 0.36 renamed torch_dtype to dtype; older ones only know torch_dtype.
            warnings.filterwarnings("ignore", message=".*torch_dtype.*", category=FutureWarning)
            if info.layout == "folder":
                if info.transformer_gguf:
                    extra["transformer"] = load_gguf_transformer(info, dtype)
                return cls.from_pretrained(info.path, torch_dtype=dtype, use_safetensors=True,
                                           local_files_only=True, variant=info.variant, **extra)
            config = single_file_config_dir(info)
            return cls.from_single_file(str(info.path), config=str(config), torch_dtype=dtype,
                                        local_files_only=True, **extra)
    except GenLabError:
        raise
    except Exception as exc:  # any library error while loading means these files cannot be used
        first_line = f"{exc}".strip().split("\n")[0][:300]
        if "out of memory" in first_line.lower():
            raise GenLabError(f"Not enough memory to load {info.name}.",
                              "Set Offload to 'model' in the Images workspace or close other programs.") from exc
        raise ModelFileError(f"Could not load {info.name}: {type(exc).__name__}: {first_line}",
                             "The model files may be damaged or of an unsupported kind; "
                             "download the model again.") from exc


def apply_memory_plan(pipe: Any, device: str, plan: MemoryPlan) -> None:
    if plan.offload == "model" and device == "cuda":
        pipe.enable_model_cpu_offload()
    elif plan.offload == "sequential" and device == "cuda":
        pipe.enable_sequential_cpu_offload()
    else:
        pipe.to(device)
    if plan.attention_slicing:
        pipe.enable_attention_slicing()
    set_vae_tiling(pipe, plan.vae_tiling)


def set_vae_tiling(pipe: Any, on: bool) -> None:
    if on:
        pipe.vae.enable_tiling()
    else:
        pipe.vae.disable_tiling()


@dataclass
class LoadedModel:
    """A pipeline on its device, with everything the UI and records show about it."""

    info: ModelInfo
    identity: ModelIdentity
    pipe: Any
    device: str
    dtype: str
    plan: MemoryPlan
    load_seconds: float
    scheduler_config: Any = None  # the model's own, to rebuild schedulers from
    img2img: Any = None  # made from ``pipe`` on first use, sharing its components
    inpaint: Any = None  # likewise, the family's inpainting pipeline
    versions: dict[str, str] = field(default_factory=dict)
    plan_override: str = "auto"  # the offload setting this load was made with
    file_stamps: dict[str, tuple[int, int]] = field(default_factory=dict)
    schedulers: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.file_stamps = self._stamps()

    def _stamps(self) -> dict[str, tuple[int, int]]:
        base = self.info.path if self.info.layout == "folder" else self.info.path.parent
        stamps = {}
        for rel in self.info.files:
            try:
                st = (base / rel).stat()
                stamps[rel] = (st.st_size, st.st_mtime_ns)
            except OSError:
                stamps[rel] = (-1, -1)
        return stamps

    def files_unchanged(self) -> bool:
        return self._stamps() == self.file_stamps

    def scheduler_for(self, choice: str) -> Any:
        """The scheduler for ``choice``, built once from the model's own config and reused
        (pipelines reset a scheduler's state in ``set_timesteps`` on every call)."""
        if choice not in self.schedulers:
            from desktop.core.image.schedulers import make_scheduler

            self.schedulers[choice] = make_scheduler(choice, self.scheduler_config)
        return self.schedulers[choice]

    def img2img_pipe(self) -> Any:
        if self.img2img is None:
            from diffusers import AutoPipelineForImage2Image

            self.img2img = AutoPipelineForImage2Image.from_pipe(self.pipe)
            self.img2img.set_progress_bar_config(disable=True)
        return self.img2img

    def inpaint_pipe(self) -> Any:
        """The family's inpainting pipeline on the loaded components (no weights loaded again)."""
        if self.inpaint is None:
            from diffusers import AutoPipelineForInpainting

            self.inpaint = AutoPipelineForInpainting.from_pipe(self.pipe)
            self.inpaint.set_progress_bar_config(disable=True)
        return self.inpaint

    def describe(self) -> str:
        """A short model card."""
        quantized = f" · transformer {self.info.quantization}" if self.info.transformer_gguf else ""
        return (f"{self.info.name} · {self.info.family_label} · {self.device.upper()} {self.dtype}{quantized}"
                f" · {fmt_bytes(self.info.size)} · sha256 {self.identity.sha256[:10]}\n{self.plan.reason}")


def library_versions() -> dict[str, str]:
    """The GenLab and library versions an image record keeps (text records keep GenLab's and llama.cpp's)."""
    import diffusers
    import torch
    import transformers

    from desktop import __version__

    return {"genlab": __version__, "diffusers": diffusers.__version__, "torch": torch.__version__,
            "transformers": transformers.__version__}


def report(progress: ProgressCallback, message: str) -> None:
    progress(Progress(None, message))
