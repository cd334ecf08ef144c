"""Does a model fit this machine?  Verdicts with the numbers behind them.

Text (llama.cpp): :func:`desktop.core.models.memory.text_memory`, the same
estimate the loader's GPU layer plan uses: the GGUF file (weights are mapped
as stored) + the KV cache for the chosen context (2 × layers × kv_heads ×
head_dim × 2 bytes per token, f16) + a fixed runtime overhead.  Without the
architecture (a hub file), the KV cache is estimated from the file size.

Image (diffusers): on a GPU, the fp16 weights + activations for the
resolution; on CPU the weights are upcast to fp32 (twice the size).  A
pipeline whose parts are known (a catalog variant's folders) that does not
fit whole may still fit with model CPU offload, the Images workspace's
policy when VRAM is short: only one part is on the GPU at a time, so the GPU
needs the larger of the biggest part and the denoiser (UNet or transformer)
with its activations, and the RAM holds the weights.

The verdict is "fits on GPU" when the free VRAM holds it all, "fits on GPU
with CPU offload" when it holds the largest part (image), "runs on CPU
(slow)" when the available RAM holds it all, else "won't fit".

A hub search result has no file sizes, only what the hub says about the
model: the parameter count of its GGUF (``gguf.total``) or of its root
safetensors (``safetensors.total``).  :func:`fit_parameters` turns that into
a size (a Q4_K_M file for GGUF, fp16 weights for an image model) and says
so in the verdict's ``basis``; the exact verdict comes with a chosen file.
"""

from __future__ import annotations

from dataclasses import dataclass

from desktop.core.hardware import MachineInfo, fmt_bytes
from desktop.core.models.catalog import CatalogEntry, CatalogVariant
from desktop.core.models.memory import KvShape, text_memory

FITS_GPU = "fits on GPU"
FITS_OFFLOAD = "fits on GPU with CPU offload"
RUNS_CPU = "runs on CPU (slow)"
WONT_FIT = "won't fit"


@dataclass
class FitVerdict:
    verdict: str
    need_bytes: int
    ram_available: int
    vram_free: int
    weights: int
    working: int  # KV cache (text) or activations (image)
    overhead: int
    device: str  # where it would run: "gpu" | "cpu" | ""
    working_label: str = "KV cache"
    basis: str = ""  # what the numbers were estimated from, when not an exact file size

    @property
    def detail(self) -> str:
        have = (f"{fmt_bytes(self.vram_free)} free VRAM, " if self.vram_free else "no GPU, ") + \
            f"{fmt_bytes(self.ram_available)} free RAM"
        basis = f"{self.basis}: " if self.basis else ""
        return (f"{basis}needs ~{fmt_bytes(self.need_bytes)} (weights {fmt_bytes(self.weights)} + "
                f"{self.working_label} "
                f"{fmt_bytes(self.working)} + overhead {fmt_bytes(self.overhead)}); this machine has {have}")

    @property
    def summary(self) -> str:
        """The verdict and the two numbers it rests on, short enough for a table cell."""
        if self.device == "gpu":
            room = f"{fmt_bytes(self.vram_free)} free VRAM"
        else:
            room = f"{fmt_bytes(self.ram_available)} free RAM"
        return f"{self.verdict}: needs ~{fmt_bytes(self.need_bytes)}, {room}"

    def __str__(self) -> str:
        return f"{self.verdict}: {self.detail}"


def _verdict(need_gpu: int, need_cpu: int, machine: MachineInfo, weights: int, working: int,
             overhead: int, label: str = "KV cache") -> FitVerdict:
    cpu_weights = need_cpu - working - overhead
    if machine.gpus and machine.vram_free >= need_gpu:
        return FitVerdict(FITS_GPU, need_gpu, machine.ram_available, machine.vram_free, weights, working, overhead,
                          "gpu", label)
    if machine.ram_available >= need_cpu:
        return FitVerdict(RUNS_CPU, need_cpu, machine.ram_available, machine.vram_free, cpu_weights, working,
                          overhead, "cpu", label)
    return FitVerdict(WONT_FIT, need_cpu, machine.ram_available, machine.vram_free, cpu_weights, working, overhead,
                      "", label)


def fit_text(file_size: int, machine: MachineInfo, context: int = 4096, shape: KvShape | None = None) -> FitVerdict:
    memory = text_memory(file_size, context, shape)
    return _verdict(memory.total, memory.total, machine, memory.weights, memory.kv_cache, memory.overhead)


def image_activations(resolution: int) -> int:
    # Measured orders of magnitude for fp16 UNet inference with attention slicing off.
    return int(1.5 * 1024 ** 3 * (max(resolution, 256) / 512) ** 2)


DENOISERS = ("transformer", "unet")


def fit_image(weights_size: int, machine: MachineInfo, resolution: int = 512,
              parts: dict[str, int] | None = None) -> FitVerdict:
    """``parts``: bytes per pipeline component (folder name), when known, for the offload verdict."""
    act = image_activations(resolution)
    overhead = 512 * 1024 * 1024
    verdict = _verdict(weights_size + act + overhead, 2 * weights_size + act + overhead, machine, weights_size, act,
                       overhead, "activations")
    if verdict.device == "gpu" or not parts or len(parts) < 2 or not machine.gpus:
        return verdict
    denoiser = max((parts.get(name, 0) for name in DENOISERS), default=0)
    largest_name, largest = max(parts.items(), key=lambda item: item[1])
    resident = max(largest, denoiser + act)
    if machine.vram_free >= resident + overhead and machine.ram_available >= weights_size + overhead:
        working = act if denoiser + act >= largest else 0
        part = next(name for name in DENOISERS if parts.get(name, 0) == denoiser) if working else largest_name
        return FitVerdict(FITS_OFFLOAD, resident + overhead, machine.ram_available, machine.vram_free,
                          resident - working, working, overhead, "gpu", "activations",
                          f"with model CPU offload (one part on the GPU at a time, the largest being the {part}; "
                          f"all {fmt_bytes(weights_size)} of weights in RAM)")
    return verdict


def fit_model(kind: str, size: int, machine: MachineInfo, *, context: int = 4096, shape: KvShape | None = None,
              resolution: int = 512) -> FitVerdict:
    """Verdict for any model: catalog entry, hub file or installed model."""
    if kind == "image":
        return fit_image(size, machine, resolution or 512)
    if kind == "embedding":
        need = int(size * 1.2) + 128 * 1024 * 1024
        return _verdict(need, need, machine, size, int(size * 0.2), 128 * 1024 * 1024, "working memory")
    return fit_text(size, machine, context, shape)


def fit_catalog_variant(entry: CatalogEntry, variant: CatalogVariant, machine: MachineInfo,
                        context: int = 4096) -> FitVerdict:
    if entry.kind == "image":
        return fit_image(variant.size, machine, entry.resolution or 512, variant.parts())
    return fit_model(entry.kind, variant.size, machine, context=min(context, entry.context_length or context),
                     shape=KvShape.from_arch(entry.arch), resolution=entry.resolution)


# Bits per weight of a Q4_K_M GGUF (llama.cpp's table: 4.89 for 7-8B models), the usual default download.
Q4_K_M_BITS = 4.89


def fmt_params(count: int) -> str:
    for unit, scale in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if count >= scale:
            return f"{count / scale:.1f}{unit}"
    return str(count)


def fit_parameters(kind: str, params: int, machine: MachineInfo, *, context: int = 4096,
                   context_length: int = 0) -> FitVerdict:
    """Estimated verdict from a parameter count alone (a hub search result)."""
    if kind == "image":
        verdict = fit_image(2 * params, machine)
        verdict.basis = f"estimate for {fmt_params(params)} parameters as fp16 weights"
        return verdict
    size = int(params * Q4_K_M_BITS / 8)
    verdict = fit_text(size, machine, min(context, context_length or context))
    verdict.basis = f"estimate for a Q4_K_M file of {fmt_params(params)} parameters (~{fmt_bytes(size)})"
    return verdict
