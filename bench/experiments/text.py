"""The text half: per-cell overhead of a text sweep against the same generations done bare.

    python -m bench experiments --part text [--tokens 16] [--rounds 5]

A 2-model x 3-temperature x 4-prompt text sweep (SmolLM2-135M-Instruct Q4_1
and stories260K, completion mode, a fixed seed) in one process, alternating:

(a) ``run_experiment`` on a new experiment: plan, resume check, one load per
    model, every cell a tagged history record, the experiment row updated;
(b) bare: one ``TextEngine``, each model loaded once and the same 12
    requests generated in a loop, records saved to the same history.

Prints the medians of each round's wall time, ``experiment_ratio`` = median
(b) / median (a) (1.0: no overhead; the goal is >= 0.95), the overhead per
cell in ms, the same ratio of the best rounds (less disturbed by other work
on a shared machine), and asserts the experiment's llama.cpp model loads == distinct
models.  A first round warms both paths up (the load probe, the page cache)
and is not counted.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

MODELS = Path(__file__).resolve().parents[3] / "shared" / "models"
MODEL_FILES = ("SmolLM2-135M-Instruct.Q4_1.gguf", "stories260K.gguf")
TEMPERATURES = (0.0, 0.5, 1.0)
PROMPTS = ("Once upon a time", "The little dog", "One day, Lily", "The sun was")


def _counting_engine_class():
    from desktop.core.text.engine import TextEngine

    class CountingTextEngine(TextEngine):
        """A real TextEngine that counts llama.cpp model constructions."""

        loads = 0

        def _construct(self, *args, **kwargs):
            CountingTextEngine.loads += 1
            return super()._construct(*args, **kwargs)

    return CountingTextEngine


def _bare(models: list[Path], tokens: int, history) -> float:
    from desktop.core.text.engine import TextEngine
    from desktop.core.text.params import SamplingParams
    from desktop.core.text.prompt import TextRequest

    class Queued:  # saves like the runner: queued on the history's writer, waited for at the end
        futures: list = []

        def save(self, record) -> None:
            self.futures.append(history.save(record))

    sink = Queued()
    start = time.perf_counter()
    engine = TextEngine(history=sink)
    try:
        for model in models:
            engine.load(model)
            for temperature in TEMPERATURES:
                for prompt in PROMPTS:
                    sampling = SamplingParams(temperature=temperature, max_tokens=tokens, seed=7)
                    engine.generate(TextRequest(prompt, mode="completion", sampling=sampling,
                                                keep_partial=False, fresh_context=True))
    finally:
        engine.close()
    for future in sink.futures:
        future.result()
    return time.perf_counter() - start


def _experiment(spec, tokens: int, history, experiments, engine_class) -> tuple[float, int, int]:
    from desktop.core.experiments.runner import run_experiment, start_experiment

    start = time.perf_counter()
    experiment = start_experiment(spec, experiments)
    before = engine_class.loads
    summary = run_experiment(experiment.id, experiments=experiments, history=history,
                             text_engine_factory=lambda sink: engine_class(history=sink))
    elapsed = time.perf_counter() - start
    assert summary.done == summary.total and not summary.failed, summary
    return elapsed, engine_class.loads - before, summary.total


def run(args: argparse.Namespace, home: Path) -> int:
    models = [MODELS / name for name in MODEL_FILES]
    missing = [m for m in models if not m.exists()]
    if missing:
        print(f"error: model not found: {missing[0]}", file=sys.stderr)
        return 2
    from desktop.core.experiments.spec import parse_spec
    from desktop.core.experiments.store import ExperimentStore
    from desktop.core.history.store import HistoryStore

    spec = parse_spec({"name": "bench", "kind": "text",
                       "fixed": {"max_tokens": args.tokens, "seed": 7, "mode": "completion"},
                       "axes": {"model": [str(m) for m in models], "temperature": list(TEMPERATURES),
                                "prompt": list(PROMPTS)}})
    history = HistoryStore(home / "text-history", embedder=None)
    experiments = ExperimentStore.beside(history)
    engine_class = _counting_engine_class()
    bare_times: list[float] = []
    experiment_times: list[float] = []
    try:
        for round_ in range(args.rounds + 1):
            bare = _bare(models, args.tokens, history)
            elapsed, loads, cells = _experiment(spec, args.tokens, history, experiments, engine_class)
            assert loads == len(models), f"{loads} model loads for {len(models)} models"
            if round_:  # the first round warms up
                bare_times.append(bare)
                experiment_times.append(elapsed)
            print(f"round {round_}{' (warm-up)' if not round_ else ''}: bare {bare:.3f} s, "
                  f"experiment {elapsed:.3f} s, {loads} model loads", file=sys.stderr)
    finally:
        history.close()
    bare_median, experiment_median = statistics.median(bare_times), statistics.median(experiment_times)
    print(f"cells={cells} models={len(models)} model_loads={len(models)} max_tokens={args.tokens}")
    print(f"bare_median_s={bare_median:.3f} experiment_median_s={experiment_median:.3f}")
    print(f"experiment_ratio={bare_median / experiment_median:.3f} (goal >= 0.95)")
    print(f"overhead_per_cell_ms={(experiment_median - bare_median) / cells * 1000:.1f}")
    # On a shared machine a round can be slowed by other work; the best rounds show the code's cost.
    print(f"best_ratio={min(bare_times) / min(experiment_times):.3f} "
          f"(best bare {min(bare_times):.3f} s, best experiment {min(experiment_times):.3f} s)")
    return 0
