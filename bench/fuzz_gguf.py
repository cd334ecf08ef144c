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
import sys
import tempfile
from pathlib import Path

from tests.support.gguf_fuzz import probe_crashed, run_mutations


def main(argv: list[str]) -> int:
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
