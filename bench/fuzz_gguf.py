"""Crash-proof loading: load 200 mutated copies of the tiny GGUF and count the outcomes.

    python -m bench fuzz_gguf [--count 200] [--seed 0]

Each mutation (truncation, bit flips in the header, the metadata or the
tensor data, wrong tensor shapes, types, offsets or counts) goes through the
engine's own path (GGUF validation, then llama.cpp) in a worker process, and
where it loads it is asked for 8 tokens.  A worker that dies (llama.cpp's
native asserts abort the process) is restarted after the mutation that
killed it.  Those mutations are then loaded with the engine's child-process
probe switched on, in this process, which must refuse them cleanly.

Prints ``fuzz_loaded=``, ``fuzz_refused=``, ``fuzz_crashed_unprobed=``,
``fuzz_refused_by_probe=`` and ``fuzz_unclear=`` (failures that were not a
clear GenLabError; should be 0).
"""

from __future__ import annotations

import argparse
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
    from desktop.core.text_chat import TextRequest
    from desktop.core.text_engine import TextEngine
    from desktop.core.text_params import SamplingParams

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
                [sys.executable, "-m", "bench.fuzz_gguf", "--worker", str(source), str(seed), str(start),
                 str(count), str(out), str(tmp), "raw" if raw else "engine"],
                cwd=Path(__file__).resolve().parents[1], env=env, timeout=timeout,
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
    from desktop.core.text_engine import TextEngine
    from desktop.core.text_probe import run_probe

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


def main(argv: list[str]) -> int:
    if argv and argv[0] == "--worker":
        source, seed, start, stop, out, tmp, mode = argv[1:8]
        _worker(Path(source), int(seed), int(start), int(stop), Path(out), Path(tmp), raw=mode == "raw")
        return 0
    parser = argparse.ArgumentParser(prog="python -m bench fuzz_gguf")
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--raw", action="store_true",
                        help="load with bare llama.cpp, without GenLab's GGUF validation (for comparison)")
    args = parser.parse_args(argv)
    from desktop.core.tiny_models import write_tiny_gguf

    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("GENLAB_HOME", str(Path(tmp) / "home"))
        source = write_tiny_gguf(Path(tmp) / "tiny.gguf")
        report = run_mutations(source, count=args.count, seed=args.seed, raw=args.raw)
        probed = probe_crashed(source, report, args.seed)
    by_kind: dict[str, dict[str, int]] = {}
    for o in report.outcomes.values():
        by_kind.setdefault(o["kind"], {}).setdefault(o["outcome"], 0)
        by_kind[o["kind"]][o["outcome"]] += 1
    print(f"fuzz_mode={'raw llama.cpp' if args.raw else 'engine'} fuzz_seed={args.seed}")
    print(f"fuzz_mutations={len(report.outcomes)}")
    print(f"fuzz_loaded={report.count('loaded')}")
    print(f"fuzz_refused={report.count('refused')}")
    print(f"fuzz_crashed_unprobed={len(report.crashed)}")
    print(f"fuzz_refused_by_probe={sum(1 for m in probed.values() if m != 'LOADED')}")
    print(f"fuzz_unclear={report.count('unclear')}")
    print(f"fuzz_by_kind={json.dumps(by_kind, sort_keys=True)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
