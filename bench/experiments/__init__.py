"""``python -m bench experiments``: what running and showing an experiment costs.

    python -m bench experiments [--part text|image|grid|all] [--rounds 5] [--tokens 16] [--runs 7]

- ``text`` (``text.py``): a 2-model x 3-temperature x 4-prompt sweep on the
  real GGUF models against the same generations done bare with the text
  engine in a loop; model loads = distinct models, asserted.
- ``image`` (``image.py``): a 16-cell sweep (4 seeds x 4 guidances) on the
  tiny pipeline against the same images made bare with the image engine in
  a loop; model loads = 1, asserted.
- ``grid`` (``grid.py``): GUI-thread time to open a 400-cell image
  experiment in the results view (offscreen Qt).

Every part runs in a fresh temporary GenLab home.
"""

from __future__ import annotations

import argparse
import importlib
import os
import tempfile
from pathlib import Path

PARTS = ("text", "image", "grid")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench experiments")
    parser.add_argument("--part", choices=(*PARTS, "all"), default="all")
    parser.add_argument("--rounds", type=int, default=5, help="counted rounds of the text and image halves")
    parser.add_argument("--tokens", type=int, default=16, help="max tokens per text cell")
    parser.add_argument("--steps", type=int, default=20,
                        help="denoising steps per image cell (20, as bench image; at 4 the fixed per-run cost shows)")
    parser.add_argument("--runs", type=int, default=7, help="times the grid is opened")
    parser.add_argument("--cells", type=int, default=400, help="image cells of the grid (a square number)")
    args = parser.parse_args(argv)
    home = Path(tempfile.mkdtemp(prefix="genlab-bench-experiments-"))
    os.environ["GENLAB_HOME"] = str(home)
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    status = 0
    for part in PARTS if args.part == "all" else (args.part,):
        print(f"--- {part}", flush=True)
        module = importlib.import_module(f"bench.experiments.{part}")
        status = module.run(args, home) or status
    return status
