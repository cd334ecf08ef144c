"""An export's experiment filter: the experiments a name means, as the sessions (SFT) or the prompts (preference).

An SFT export keeps the experiment's own cells (their records' ``session_id`` is
the experiment's id).  Arena answers belong to arena sessions, never to an
experiment, so a preference export keeps the votes on the experiment's prompts
(an arena run on "an experiment's prompts" makes exactly those).
"""

from __future__ import annotations


def experiment_sessions(history, name: str) -> list[str]:
    """The ids of the experiments named ``name`` (or whose id starts with it); ExperimentNotFound when none."""
    from desktop.core.experiments.lookup import matching_ids
    from desktop.core.experiments.store import ExperimentStore

    return matching_ids(ExperimentStore.beside(history), name)


def experiment_prompts(history, name: str) -> frozenset[str]:
    """The prompts of the cells of the experiments named ``name``."""
    from desktop.core.arena.prompts import unique_prompts
    from desktop.core.experiments.records import experiment_records

    prompts: list[str] = []
    for experiment_id in experiment_sessions(history, name):
        prompts += (r.prompt for r in experiment_records(history, experiment_id))
    return frozenset(unique_prompts(prompts))
