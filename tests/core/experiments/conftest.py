"""A real history store and experiment store in a temporary folder, and a counting text engine."""

from __future__ import annotations

import pytest

from tests.core.experiments.engines import CountingTextEngine


@pytest.fixture
def experiments(history):
    from desktop.core.experiments.store import ExperimentStore

    return ExperimentStore.beside(history)


@pytest.fixture
def counting():
    """Builds CountingTextEngines for run_experiment; ``counting.engines`` are the ones it made."""

    class Factory:
        def __init__(self) -> None:
            self.engines: list[CountingTextEngine] = []

        def __call__(self, sink):
            engine = CountingTextEngine(sink)
            self.engines.append(engine)
            return engine

        @property
        def loads(self) -> int:
            return sum(e.loads for e in self.engines)

        @property
        def generations(self) -> int:
            return sum(e.generations for e in self.engines)

    return Factory()
