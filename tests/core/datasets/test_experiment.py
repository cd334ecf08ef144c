"""An export's experiment filter: its sessions (SFT) and its cells' prompts (preference)."""

from __future__ import annotations

from dataclasses import asdict

import pytest

from desktop.core.datasets.experiment import experiment_prompts, experiment_sessions
from desktop.core.experiments.errors import ExperimentNotFound
from desktop.core.experiments.records import PARAMETER_KEY, CellTag
from desktop.core.experiments.spec import parse_spec
from desktop.core.experiments.store import ExperimentStore
from desktop.core.records import GenerationRecord


def test_an_experiment_name_gives_its_ids_and_its_cells_prompts(store):
    experiments = ExperimentStore.beside(store)
    spec = parse_spec({"kind": "text", "fixed": {"model": "m.gguf"}, "axes": {"prompt": ["first", "second"]}},
                      check_models=False)
    experiment = experiments.create(spec)
    for n, prompt in enumerate(["first", "second", "first"]):
        tag = CellTag(experiment.id, experiment.name, n, 0, {"prompt": prompt})
        store.save(GenerationRecord("text", prompt, session_id=experiment.id, parameters={PARAMETER_KEY: asdict(tag)}))
    store.save(GenerationRecord("text", "not a cell", session_id="chat"))
    assert experiment_sessions(store, experiment.name) == [experiment.id]
    assert experiment_prompts(store, experiment.name) == frozenset({"first", "second"})
    with pytest.raises(ExperimentNotFound, match="No experiment is named 'elsewhere'"):
        experiment_prompts(store, "elsewhere")
