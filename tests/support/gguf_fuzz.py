"""Mutated copies of a GGUF file, loaded through the engine in worker processes.

Shared by ``python -m bench fuzz_gguf`` and the fuzz test.  Each mutation
(truncation, bit flips in the header, the metadata or the tensor data, wrong
tensor shapes, types, offsets or counts) goes through the engine's own path
(GGUF validation, then llama.cpp) in a worker process (``python -m
tests.support.gguf_fuzz --worker ...``), and where it loads it is asked for
8 tokens.  A worker that dies (llama.cpp's native asserts abort the process)
is restarted after the mutation that killed it.
"""

from __future__ import annotations

import json
import os
import random
import struct
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

KINDS = ("truncate", "header", "metadata", "tensor_data", "shape", "count", "dtype", "ndims", "offset", "vocab")


@dataclass
class Layout:
    """Where things are in the source file."""

    data: bytes
    data_offset: int
    tensor_infos: list[int]  # offset of each tensor-info record
    token_strings: list[tuple[int, int]]  # (offset, length) of each vocabulary string


def layout_of(path: Path) -> Layout:
    from gguf import GGUFReader

    reader = GGUFReader(path)
    infos = [int(t.field.offset) for t in reader.tensors]
    offset = int(reader.data_offset)
    del reader
    data = Path(path).read_bytes()
    key = b"tokenizer.ggml.tokens"
    p = data.index(key) + len(key) + 4 + 4  # value type (array), item type (string)
    count = struct.unpack_from("<Q", data, p)[0]
    p += 8
    strings = []
    for _ in range(count):
        n = struct.unpack_from("<Q", data, p)[0]
        strings.append((p + 8, n))
        p += 8 + n
    return Layout(data, offset, infos, strings)


def mutate(layout: Layout, index: int, seed: int) -> tuple[str, bytes]:
    """Mutation ``index`` (deterministic for a seed); returns (kind, bytes)."""
    rng = random.Random(seed * 1_000_003 + index)
    kind = KINDS[index % len(KINDS)]
    b = bytearray(layout.data)
    doff = layout.data_offset

    def flip(lo: int, hi: int, n: int) -> None:
        for _ in range(n):
            p = rng.randrange(lo, hi)
            b[p] ^= 1 << rng.randrange(8)

    def info_field(skip_dims: bool) -> int:
        off = rng.choice(layout.tensor_infos)
        name_len = struct.unpack_from("<Q", b, off)[0]
        p = off + 8 + name_len  # -> n_dims
        if skip_dims:
            p += 4 + 8 * struct.unpack_from("<I", b, p)[0]  # -> type
        return p

    if kind == "truncate":
        b = b[: rng.randrange(0, len(b))]
    elif kind == "header":
        flip(0, 24, rng.randint(1, 3))
    elif kind == "metadata":
        flip(24, doff, rng.randint(1, 6))
    elif kind == "tensor_data":
        flip(doff, len(b), rng.randint(1, 64))
    elif kind == "shape":
        p = info_field(False) + 4 + 8 * rng.randrange(0, 2)
        struct.pack_into("<Q", b, p, rng.choice([0, 1, 3, 63, 65, 127, 4096, 2**31]))
    elif kind == "count":
        struct.pack_into("<Q", b, 8, rng.choice([0, 1, 5, 20, 22, 40, 2**20]))
    elif kind == "dtype":
        struct.pack_into("<I", b, info_field(True), rng.choice([1, 2, 3, 8, 10, 12, 14, 16, 20, 30, 39, 41, 255]))
    elif kind == "ndims":
        struct.pack_into("<I", b, info_field(False), rng.choice([0, 3, 4, 5, 100]))
    elif kind == "offset":
        struct.pack_into("<Q", b, info_field(True) + 4, rng.choice([0, 32, 12345, 1 << 20, 1 << 40]))
    else:  # vocab: a damaged token string, often turning it into a duplicate of another
        off, n = rng.choice([t for t in layout.token_strings if t[1] > 0])
        same = [t for t in layout.token_strings if t[1] == n and t[0] != off]
        if same and rng.random() < 0.5:
            src = rng.choice(same)[0]
            b[off:off + n] = layout.data[src:src + n]
        else:
            flip(off, off + n, 1)
    return kind, bytes(b)


# --- worker (child process) ---------------------------------------------------------

def _raw_load(path: Path) -> str:
    """llama.cpp alone, without GenLab's GGUF validation (for comparison)."""
    import llama_cpp

    llm = llama_cpp.Llama(model_path=str(path), n_ctx=256, verbose=False)
    try:
        out = llm.create_completion("Once upon a time", max_tokens=8, temperature=0)
        return f"{out['usage']['completion_tokens']} tokens"
    finally:
        llm.close()


def _worker(source: Path, seed: int, start: int, stop: int, out: Path, tmp: Path, raw: bool = False) -> None:
    from desktop.core.errors import GenLabError
    from desktop.core.text.engine import TextEngine
    from desktop.core.text.params import SamplingParams
    from desktop.core.text.prompt import TextRequest

    layout = layout_of(source)
    engine = TextEngine(safe_load=False)  # the raw path: what would happen without the probe
    with open(out, "a", encoding="utf-8") as log:
        for i in range(start, stop):
            kind, data = mutate(layout, i, seed)
            path = tmp / f"mutant-{i}.gguf"
            path.write_bytes(data)
            log.write(json.dumps({"i": i, "kind": kind, "stage": "start"}) + "\n")
            log.flush()
            try:
                if raw:
                    outcome, message = "loaded", _raw_load(path)
                    raise _Done()
                engine.load(path)
                result = engine.generate(TextRequest("Once upon a time", mode="completion",
                                                     sampling=SamplingParams(temperature=0, max_tokens=8)))
                outcome, message = "loaded", f"{result.completion_tokens} tokens"
            except _Done:
                pass
            except GenLabError as exc:
                outcome, message = "refused", str(exc)
            except ValueError as exc:
                if not raw:
                    raise
                outcome, message = "refused", str(exc)
            except Exception as exc:  # not a clear error: the test fails on these
                outcome, message = "unclear", f"{type(exc).__name__}: {exc}"
            finally:
                engine.unload()
            log.write(json.dumps({"i": i, "kind": kind, "outcome": outcome, "message": message}) + "\n")
            log.flush()
            path.unlink()


class _Done(Exception):
    pass


@dataclass
class FuzzReport:
    outcomes: dict[int, dict] = field(default_factory=dict)
    crashed: list[int] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for o in self.outcomes.values() if o["outcome"] == outcome)


def run_mutations(source: Path, *, count: int = 200, seed: int = 0, timeout: float = 300.0,
                  raw: bool = False) -> FuzzReport:
    """Run every mutation in worker processes, restarting after each crash."""
    report = FuzzReport()
    with tempfile.TemporaryDirectory(prefix="genlab-fuzz-") as tmp_name:
        tmp = Path(tmp_name)
        out = tmp / "results.jsonl"
        start = 0
        env = dict(os.environ, GGML_NO_BACKTRACE="1")
        while start < count:
            proc = subprocess.run(
                [sys.executable, "-m", "tests.support.gguf_fuzz", "--worker", str(source), str(seed), str(start),
                 str(count), str(out), str(tmp), "raw" if raw else "engine"],
                cwd=Path(__file__).resolve().parents[2], env=env, timeout=timeout,
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            started = set()
            for line in out.read_text(encoding="utf-8").splitlines() if out.exists() else []:
                entry = json.loads(line)
                if entry.get("stage") == "start":
                    started.add(entry["i"])
                else:
                    report.outcomes[entry["i"]] = entry
            unfinished = sorted(started - set(report.outcomes))
            if not unfinished:
                if proc.returncode != 0 or len(report.outcomes) < count:
                    raise RuntimeError(f"fuzz worker failed (exit {proc.returncode}): "
                                       f"{proc.stderr.decode(errors='replace')[-2000:]}")
                break
            crashed = unfinished[0]  # started, never finished: it took the worker down
            report.crashed.append(crashed)
            report.outcomes[crashed] = {"i": crashed, "kind": KINDS[crashed % len(KINDS)],
                                        "outcome": "crashed", "message": f"exit {proc.returncode}"}
            start = crashed + 1
    return report


def probe_crashed(source: Path, report: FuzzReport, seed: int) -> dict[int, str]:
    """Test-load each crashing mutation with the child-process probe, then with the safe engine
    (in this process); return the engine's messages ("LOADED" if one got through)."""
    from desktop.core.errors import ModelFileError
    from desktop.core.text.engine import TextEngine
    from desktop.core.text.probe import run_probe

    layout = layout_of(source)
    messages: dict[int, str] = {}
    engine = TextEngine(safe_load=True)
    with tempfile.TemporaryDirectory(prefix="genlab-fuzz-probe-") as tmp:
        for i in report.crashed:
            path = Path(tmp) / f"mutant-{i}.gguf"
            path.write_bytes(mutate(layout, i, seed)[1])
            if run_probe(path).ok:
                messages[i] = "LOADED"  # the child survived what killed the worker: unexpected
                continue
            try:
                engine.load(path)
                messages[i] = "LOADED"  # the probe let it through: a failure
            except ModelFileError as exc:
                messages[i] = str(exc)
            engine.unload()
    return messages


if __name__ == "__main__":
    source, seed, start, stop, out, tmp, mode = sys.argv[2:9]
    _worker(Path(source), int(seed), int(start), int(stop), Path(out), Path(tmp), raw=mode == "raw")
