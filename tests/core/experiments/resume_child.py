"""The child process of the kill -9 resume test: runs an experiment until it is killed.

    python -m tests.core.experiments.resume_child HISTORY_ROOT EXPERIMENT_ID CALLS_FILE

Every generation the real text engine starts is logged to CALLS_FILE first
(:class:`~tests.core.experiments.engines.CountingTextEngine`).
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    from desktop.core.experiments.runner import run_experiment
    from desktop.core.experiments.store import ExperimentStore
    from desktop.core.history.store import HistoryStore
    from tests.core.experiments.engines import CountingTextEngine

    root, experiment_id, calls = argv
    history = HistoryStore(root, embedder=None)
    run_experiment(experiment_id, experiments=ExperimentStore.beside(history), history=history,
                   text_engine_factory=lambda sink: CountingTextEngine(sink, calls_file=calls))
    history.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
