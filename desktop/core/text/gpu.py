"""How many layers of a GGUF model to offload to the GPU, and why.

:func:`plan_gpu_layers` is pure arithmetic over the memory the model needs
and the free VRAM, so it is tested without a GPU.  The need is
:func:`desktop.core.models.memory.text_memory`, the estimate the Catalog's
fit verdict uses too, so "fits on GPU" there means all layers here.
:func:`detect_gpu`
asks llama.cpp whether this build can offload at all and the hardware module
how much VRAM is free.  The engine shows the plan's ``reason`` next to the
model card, and the user can override it with an explicit layer count.
"""

from __future__ import annotations

from dataclasses import dataclass

from desktop.core.hardware import fmt_bytes
from desktop.core.models.memory import text_memory
from desktop.core.text.gguf import GgufInfo

AUTO = -2  # settings.text.n_gpu_layers: -2 automatic, -1 all, N exactly N
ALL = -1


@dataclass(frozen=True)
class GpuCapability:
    offload_supported: bool  # llama.cpp was built with CUDA / Metal / Vulkan...
    backend: str  # "cuda" | "mps" | "cpu"
    name: str
    vram_free: int


@dataclass(frozen=True)
class GpuPlan:
    n_gpu_layers: int  # what is passed to llama.cpp (-1 = all)
    reason: str

    @property
    def device(self) -> str:
        return "cpu" if self.n_gpu_layers == 0 else "gpu"


def detect_gpu() -> GpuCapability:
    """What this process can offload to (cheap: no torch import)."""
    import llama_cpp

    from desktop.core.hardware import machine_info

    supported = bool(llama_cpp.llama_supports_gpu_offload())
    info = machine_info()
    if not info.gpus:
        return GpuCapability(supported, "cpu", "", 0)
    gpu = info.gpus[0]
    return GpuCapability(supported, gpu.backend, gpu.name, gpu.free_bytes)


def plan_gpu_layers(info: GgufInfo, gpu: GpuCapability, *, n_ctx: int, requested: int = AUTO) -> GpuPlan:
    """Choose ``n_gpu_layers``: all when the model fits, a share when not, 0 without a GPU."""
    layers = max(info.layer_count, 1)
    if not gpu.offload_supported:
        why = "this llama.cpp build runs on the CPU only"
        if requested not in (AUTO, 0):
            return GpuPlan(0, f"CPU: you asked for {requested} GPU layers, but {why}.")
        return GpuPlan(0, f"CPU: {why}.")
    if requested == ALL:
        return GpuPlan(ALL, f"GPU: all {layers} layers, as you set.")
    if requested >= 0:
        where = "CPU" if requested == 0 else "GPU"
        return GpuPlan(min(requested, layers + 1), f"{where}: {requested} of {layers} layers, as you set.")
    if gpu.backend == "cpu" or gpu.vram_free <= 0:
        return GpuPlan(0, "CPU: no GPU was found.")
    memory = text_memory(info.file_size, n_ctx, info.kv_shape)
    needed = memory.total
    if needed <= gpu.vram_free:
        return GpuPlan(ALL, f"GPU: all {layers} layers fit ({fmt_bytes(needed)} needed, "
                            f"{fmt_bytes(gpu.vram_free)} free on {gpu.name or gpu.backend}).")
    # Output and embedding weights are about one more layer's worth.
    per_layer = info.file_size / (layers + 1)
    budget = gpu.vram_free - memory.overhead - memory.kv_cache
    fit = max(0, min(layers, int(budget // per_layer))) if per_layer > 0 else 0
    if fit == 0:
        return GpuPlan(0, f"CPU: not even one layer fits in {fmt_bytes(gpu.vram_free)} of free VRAM.")
    return GpuPlan(fit, f"GPU: {fit} of {layers} layers ({fmt_bytes(needed)} would be needed for all, "
                        f"{fmt_bytes(gpu.vram_free)} free); the rest run on the CPU.")
