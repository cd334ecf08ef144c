"""The image half: per-cell overhead of a tiny-pipeline image sweep against the same images made bare.

    python -m bench experiments --part image [--steps 20] [--rounds 5]

16 cells (4 seeds x 4 guidances, 64x64, one torch thread) on the tiny
pipeline (``desktop.core.tiny_models``), in one process, alternating:

(a) ``run_experiment`` on a new experiment: plan, resume check, the model
    loaded once, every cell a tagged history record, the experiment row updated;
(b) bare: one ``ImageEngine``, the model loaded once and the same 16
    requests generated in a loop, records saved to the same history.

Each path gets a new engine each round, so both include the load; the
two go first in turn.  Prints
the medians, ``image_experiment_ratio`` = median (b) / median (a) (goal
>= 0.95), the overhead per cell in ms, the ratio of the best rounds and the
median per-round ratio of process CPU time (less disturbed by other
processes on a shared machine); asserts
the experiment loaded the pipeline once.  A first round warms up.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

SEEDS = (1, 2, 3, 4)
GUIDANCES = (1.0, 3.0, 5.0, 7.0)
PROMPT = "a red square on a blue field"
SIZE = 64


def _counting_engine():
    from desktop.core.image.engine import ImageEngine

    class CountingImageEngine(ImageEngine):
        """A real ImageEngine that counts pipeline loads."""

        def __init__(self) -> None:
            super().__init__()
            self.loads = 0

        def _load(self, info, cancel, progress):
            self.loads += 1
            return super()._load(info, cancel, progress)

    return CountingImageEngine()


def _bare(model: Path, steps: int, history) -> tuple[float, float]:
    from desktop.core.image.engine import ImageEngine, ImageRequest
    from desktop.core.image.params import default_params

    futures: list = []

    class Queued:  # saves like the runner: queued on the history's writer, waited for at the end
        def save(self, record) -> None:
            futures.append(history.save(record))

    cpu, start = time.process_time(), time.perf_counter()
    engine = ImageEngine(history=Queued())
    try:
        engine.load(model)
        for seed in SEEDS:
            for guidance in GUIDANCES:
                params = default_params("sd1", prompt=PROMPT, steps=steps, guidance=guidance, width=SIZE,
                                        height=SIZE, seed=seed, batch_count=1)
                engine.generate(ImageRequest(str(model), params, previews=False))
    finally:
        engine.close()
    for future in futures:
        future.result()
    return time.perf_counter() - start, time.process_time() - cpu


def _experiment(spec, history, experiments) -> tuple[float, float, int, int]:
    from desktop.core.experiments.runner import run_experiment, start_experiment

    cpu, start = time.process_time(), time.perf_counter()
    engine = _counting_engine()
    try:
        experiment = start_experiment(spec, experiments)
        summary = run_experiment(experiment.id, experiments=experiments, history=history, image_engine=engine)
    finally:
        engine.close()
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert summary.done == summary.total and not summary.failed, summary
    return elapsed, cpu, engine.loads, summary.total


def run(args: argparse.Namespace, home: Path) -> int:
    import torch

    from desktop.core.experiments.spec import parse_spec
    from desktop.core.experiments.store import ExperimentStore
    from desktop.core.history.store import HistoryStore
    from desktop.core.tiny_models import build_tiny_sd_pipeline

    torch.set_num_threads(1)  # the tiny model runs fastest on one thread
    model = build_tiny_sd_pipeline(home / "tiny-sd")
    spec = parse_spec({"name": "bench images", "kind": "image",
                       "fixed": {"model": str(model), "steps": args.steps, "size": f"{SIZE}x{SIZE}",
                                 "prompt": PROMPT},
                       "axes": {"seed": list(SEEDS), "guidance": list(GUIDANCES)}})
    history = HistoryStore(home / "image-history", embedder=None)
    experiments = ExperimentStore.beside(history)
    bare_times: list[float] = []
    experiment_times: list[float] = []
    cpu_ratios: list[float] = []
    try:
        for round_ in range(args.rounds + 1):
            if round_ % 2:  # each path goes first every other round: neither always gets the warmer caches
                elapsed, cpu, loads, cells = _experiment(spec, history, experiments)
                bare, bare_cpu = _bare(model, args.steps, history)
            else:
                bare, bare_cpu = _bare(model, args.steps, history)
                elapsed, cpu, loads, cells = _experiment(spec, history, experiments)
            assert loads == 1, f"{loads} pipeline loads for one model"
            if round_:  # the first round warms up
                bare_times.append(bare)
                experiment_times.append(elapsed)
                cpu_ratios.append(bare_cpu / cpu)
            print(f"round {round_}{' (warm-up)' if not round_ else ''}: bare {bare:.3f} s ({bare_cpu:.3f} s CPU), "
                  f"experiment {elapsed:.3f} s ({cpu:.3f} s CPU), {loads} pipeline load", file=sys.stderr)
    finally:
        history.close()
    bare_median, experiment_median = statistics.median(bare_times), statistics.median(experiment_times)
    print(f"image_cells={cells} model_loads=1 steps={args.steps} size={SIZE}x{SIZE}")
    print(f"image_bare_median_s={bare_median:.3f} image_experiment_median_s={experiment_median:.3f}")
    print(f"image_experiment_ratio={bare_median / experiment_median:.3f} (goal >= 0.95)")
    print(f"image_overhead_per_cell_ms={(experiment_median - bare_median) / cells * 1000:.1f}")
    # Process CPU time leaves out other processes' work on a shared machine.
    print(f"image_cpu_ratio={statistics.median(cpu_ratios):.3f} (median of the rounds' bare CPU s / experiment CPU s)")
    print(f"image_best_ratio={min(bare_times) / min(experiment_times):.3f} "
          f"(best bare {min(bare_times):.3f} s, best experiment {min(experiment_times):.3f} s)")
    return 0
