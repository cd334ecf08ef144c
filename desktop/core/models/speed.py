"""How fast will a text model generate here?  Tokens per second, measured or estimated.

Generating one token with llama.cpp reads every weight once, so on a CPU
the speed is bounded by memory bandwidth: ``bandwidth / weights`` tokens per
second, of which llama.cpp reaches roughly ``CPU_EFFICIENCY``; a fixed
``TOKEN_OVERHEAD_S`` per token (sampling, the graph, Python) keeps a tiny
model from promising millions.  The bandwidth is measured once with a numpy
copy (:func:`measure_bandwidth`, a fraction of a second) and cached in the
data root (``bandwidth.json``) for this machine's CPU count and RAM size.

GenLab's own history is better evidence: :func:`history_speeds` reads the
``tokens_per_s`` timings of the text records per model (by sha256 and by file
name), and :func:`estimate_speed` prefers their median to the estimate.

Pure functions and plain data; no Qt.  The Catalog shows
:attr:`SpeedEstimate.summary` ("~24 tok/s on CPU") and its ``detail``.
"""

from __future__ import annotations

import json
import logging
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from desktop.core import paths
from desktop.core.hardware import MachineInfo, fmt_bytes

log = logging.getLogger(__name__)

CPU_EFFICIENCY = 0.6  # share of the copy bandwidth llama.cpp's CPU decode reaches (typical, 0.5-0.8)
TOKEN_OVERHEAD_S = 0.001
BENCH_BYTES = 64 * 1024 * 1024
BENCH_REPEATS = 5
CACHE_NAME = "bandwidth.json"
# Words for the reader: under SLOW it is a wait, from FAST on it reads as fast as one reads.
SLOW_TOKENS_PER_S = 3.0
FAST_TOKENS_PER_S = 10.0


@dataclass(frozen=True)
class SpeedEstimate:
    tokens_per_s: float
    measured: bool  # from GenLab's own records of this model, not from the bandwidth
    detail: str

    @property
    def summary(self) -> str:
        rate = _rate_text(self.tokens_per_s)
        return f"{rate} tok/s measured" if self.measured else f"~{rate} tok/s on CPU"

    @property
    def pace(self) -> str:
        """"fast", "usable" or "slow": how it reads to a person waiting for the reply."""
        if self.tokens_per_s >= FAST_TOKENS_PER_S:
            return "fast"
        return "usable" if self.tokens_per_s >= SLOW_TOKENS_PER_S else "slow"


def _rate_text(rate: float) -> str:
    if rate >= 1000:
        return f"{rate / 1000:.0f}k"
    return f"{rate:.0f}" if rate >= 10 else f"{rate:.1f}"


def measure_bandwidth(nbytes: int = BENCH_BYTES, repeats: int = BENCH_REPEATS) -> float:
    """Memory bandwidth in bytes/s: the best of ``repeats`` copies of ``nbytes`` (read + write)."""
    import numpy as np

    src = np.ones(max(nbytes // 8, 1), dtype=np.float64)
    dst = np.empty_like(src)
    np.copyto(dst, src)  # touch the pages before timing
    best = float("inf")
    for _ in range(max(repeats, 1)):
        start = time.perf_counter()
        np.copyto(dst, src)
        best = min(best, time.perf_counter() - start)
    return 2 * src.nbytes / max(best, 1e-9)


def _machine_key(machine: MachineInfo) -> str:
    return f"{machine.cpu_count} cpus, {machine.ram_total} bytes RAM"


def machine_bandwidth(machine: MachineInfo, cache: Path | None = None) -> float:
    """This machine's bandwidth: from the cache when it was measured on the same machine, else measured now."""
    cache = cache or paths.data_root() / CACHE_NAME
    key = _machine_key(machine)
    try:
        saved = json.loads(cache.read_text(encoding="utf-8"))
        if saved.get("machine") == key and float(saved["bytes_per_s"]) > 0:
            return float(saved["bytes_per_s"])
    except (OSError, ValueError, KeyError, TypeError):
        pass  # not measured yet, or an unreadable cache: measure again
    bandwidth = measure_bandwidth()
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(f"{cache.name}.{time.monotonic_ns()}.tmp")
        tmp.write_text(json.dumps({"machine": key, "bytes_per_s": bandwidth, "measured_at": time.time()}),
                       encoding="utf-8")
        tmp.replace(cache)
    except OSError as exc:  # a read-only data root only costs a new measurement next time
        log.warning("could not cache the memory bandwidth in %s: %s", cache, exc)
    return bandwidth


def cpu_tokens_per_s(weights: int, bandwidth: float) -> float:
    """Estimated decode speed on the CPU of a model whose weights take ``weights`` bytes."""
    per_token = max(weights, 1) / (bandwidth * CPU_EFFICIENCY) + TOKEN_OVERHEAD_S
    return 1.0 / per_token


def history_speeds(rows: Iterable[tuple[str, str, dict]]) -> dict[str, float]:
    """Median ``tokens_per_s`` per model from (model sha256, model file, timings) of text records.

    Keys are the sha256 and the lower-case file name, so a catalog variant
    matches by either."""
    seen: dict[str, list[float]] = {}
    for sha256, file, timings in rows:
        rate = timings.get("tokens_per_s") if isinstance(timings, dict) else None
        if not isinstance(rate, (int, float)) or isinstance(rate, bool) or rate <= 0:
            continue
        for key in (sha256.lower(), Path(file).name.lower()):
            if key:
                seen.setdefault(key, []).append(float(rate))
    return {key: statistics.median(rates) for key, rates in seen.items()}


def store_speeds(store) -> dict[str, float]:
    """:func:`history_speeds` of a history store's text records (call off the GUI thread)."""
    table = store.scan(columns=["model_sha256", "model_file", "timings_json"], where="kind = 'text'")
    rows = []
    columns = (table.column(name).to_pylist() for name in ("model_sha256", "model_file", "timings_json"))
    for sha256, file, timings in zip(*columns):
        try:
            rows.append((sha256 or "", file or "", json.loads(timings or "{}")))
        except ValueError:
            continue
    return history_speeds(rows)


def estimate_speed(weights: int, *, bandwidth: float | None, sha256: str = "", file: str = "",
                   measured: dict[str, float] | None = None) -> SpeedEstimate | None:
    """GenLab's own measurement of this model when there is one, else the CPU estimate (None: no bandwidth)."""
    measured = measured or {}
    for key in (sha256.lower(), Path(file).name.lower()):
        if key and key in measured:
            rate = measured[key]
            return SpeedEstimate(rate, True, f"{rate:.1f} tokens/s: the median of this model's replies "
                                             "in your history.")
    if not bandwidth:
        return None
    rate = cpu_tokens_per_s(weights, bandwidth)
    return SpeedEstimate(rate, False, (
        f"About {rate:.1f} tokens/s on this CPU: each token reads the {fmt_bytes(weights)} of weights once, at "
        f"~{CPU_EFFICIENCY:.0%} of this machine's measured memory bandwidth ({fmt_bytes(bandwidth)}/s). "
        "A GPU is much faster; your first replies will show the real speed."))
