"""Finding experiments by what a person types: a name, or the start of an id.

History's ``experiment:NAME`` search term and ``genlab history search
--experiment NAME`` both come here; the history core knows only session ids
(a cell's record has ``session_id`` = its experiment's id), so the caller
turns the name into ids and hands those to the search as the ``sessions``
filter.
"""

from __future__ import annotations

from desktop.core.experiments.errors import ExperimentNotFound

ID_PREFIX_MIN = 6  # as ExperimentStore.get: shorter prefixes match too much by chance


def matching_ids(experiments, name: str) -> list[str]:
    """Ids of the experiments named ``name`` (case and surrounding spaces ignored), else of those whose
    id starts with it (6 characters or more); raises ExperimentNotFound when none matches."""
    wanted = name.strip()
    if not wanted:
        raise ExperimentNotFound("The experiment filter names no experiment.",
                                 'Write experiment:NAME, or experiment:"two words" for a name with spaces.')
    listed = experiments.list()
    ids = [e.id for e in listed if e.name.strip().casefold() == wanted.casefold()]
    if not ids and len(wanted) >= ID_PREFIX_MIN:
        ids = [e.id for e in listed if e.id.startswith(wanted.lower())]
    if not ids:
        raise ExperimentNotFound(f"No experiment is named {wanted!r}.",
                                 "The Experiments workspace (Ctrl+5) and `genlab experiment list` list them.")
    return ids
