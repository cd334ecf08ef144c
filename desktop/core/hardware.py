"""What this machine can run: RAM, GPUs and their free memory, disk.

Cheap facts (RAM, disk) come from psutil/shutil.  GPU facts come from torch
when it is already imported or when ``probe_torch=True`` (importing torch
costs a second or more, so the startup path never does it), and from
``nvidia-smi`` otherwise.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class GpuInfo:
    index: int
    name: str
    backend: str  # "cuda" | "mps"
    total_bytes: int = 0
    free_bytes: int = 0


@dataclass
class MachineInfo:
    ram_total: int
    ram_available: int
    cpu_count: int
    gpus: list[GpuInfo] = field(default_factory=list)

    @property
    def device(self) -> str:
        """The compute device generation will use: cuda, mps or cpu."""
        return self.gpus[0].backend if self.gpus else "cpu"

    @property
    def vram_free(self) -> int:
        return max((g.free_bytes for g in self.gpus), default=0)

    def describe_device(self) -> str:
        if not self.gpus:
            return "CPU"
        g = self.gpus[0]
        if g.backend == "mps":
            return f"Apple GPU (MPS): {g.name}"
        return f"CUDA: {g.name}, {fmt_bytes(g.free_bytes)} free of {fmt_bytes(g.total_bytes)}"


def fmt_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


def _gpus_from_torch() -> list[GpuInfo]:
    import torch

    gpus: list[GpuInfo] = []
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            free, total = torch.cuda.mem_get_info(i)
            gpus.append(GpuInfo(i, torch.cuda.get_device_name(i), "cuda", int(total), int(free)))
    elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        import psutil

        # MPS shares system memory; what is available to the process is the limit.
        vm = psutil.virtual_memory()
        gpus.append(GpuInfo(0, "Apple Silicon", "mps", int(vm.total), int(vm.available)))
    return gpus


@functools.lru_cache(maxsize=1)
def _nvidia_smi_path() -> str | None:
    return shutil.which("nvidia-smi")


def _gpus_from_nvidia_smi() -> list[GpuInfo]:
    exe = _nvidia_smi_path()
    if not exe:
        return []
    try:
        out = subprocess.run(
            [exe, "--query-gpu=index,name,memory.total,memory.free", "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    gpus = []
    for line in out.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 4:
            idx, name, total, free = parts
            mib = 1024 * 1024
            gpus.append(GpuInfo(int(idx), name, "cuda", int(float(total)) * mib, int(float(free)) * mib))
    return gpus


def machine_info(probe_torch: bool = False) -> MachineInfo:
    import psutil

    vm = psutil.virtual_memory()
    if probe_torch or "torch" in sys.modules:
        gpus = _gpus_from_torch()
    else:
        gpus = _gpus_from_nvidia_smi()
    return MachineInfo(int(vm.total), int(vm.available), psutil.cpu_count() or 1, gpus)


def disk_free(path: Path) -> int:
    """Free bytes on the filesystem holding ``path`` (or its nearest existing parent)."""
    path = Path(path)
    while not path.exists() and path != path.parent:
        path = path.parent
    return shutil.disk_usage(path).free
