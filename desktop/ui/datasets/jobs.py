"""The export dialog's job: one plain function writing an SFT or preference set from the app's history.

The same selection as ``genlab dataset export`` (rating, model, tag, experiment,
search, near-duplicate threshold), built from an :class:`ExportRequest`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desktop.core.jobs import CancelToken, ProgressCallback

SFT, PREFERENCE = "sft", "preference"


@dataclass(frozen=True)
class ExportRequest:
    format: str  # SFT or PREFERENCE
    path: Path
    filters: dict[str, Any] = field(default_factory=dict)  # history search filters: rating, model, tag
    experiment: str = ""  # a name (or the start of an id); empty: any
    search: str = ""
    mode: str = "hybrid"
    near_duplicates: float | None = None


@dataclass(frozen=True)
class ExportOutcome:
    """A written set (``result``), or why nothing matched (``nothing``: NothingToExport's message)."""

    result: Any = None  # desktop.core.datasets.result.DatasetResult
    nothing: str = ""


def export(services, request: ExportRequest, *, cancel: CancelToken, progress: ProgressCallback) -> ExportOutcome:
    """Write the set (an io job).  A selection that leaves no row is an outcome, not a failure; bad input
    (a filter, an unknown experiment, a file that cannot be written) raises its GenLabError."""
    from desktop.core.datasets.errors import NothingToExport

    try:
        return ExportOutcome(result=_write(services, request, cancel=cancel, progress=progress))
    except NothingToExport as exc:
        return ExportOutcome(nothing=str(exc))


def _write(services, request: ExportRequest, *, cancel: CancelToken, progress: ProgressCallback):
    from desktop.core.arena.votes import VoteStore
    from desktop.core.datasets.experiment import experiment_prompts, experiment_sessions
    from desktop.core.datasets.preference import PreferenceSelection, export_preference
    from desktop.core.datasets.sft import SftSelection, export_sft, text_filters

    store = services.history_store
    embed = _embedder(store) if request.near_duplicates is not None else None
    if request.format == SFT:
        filters = text_filters(request.filters)
        if request.experiment.strip():
            filters["sessions"] = experiment_sessions(store, request.experiment)
        selection = SftSelection(filters=filters, search=request.search, mode=request.mode,
                                 near_duplicates=request.near_duplicates)
        return export_sft(store, request.path, selection, embed=embed, cancel=cancel, progress=progress)
    prompts = experiment_prompts(store, request.experiment) if request.experiment.strip() else None
    chosen = PreferenceSelection(filters=dict(request.filters), search=request.search, mode=request.mode,
                                 prompts=prompts, experiment=request.experiment.strip(),
                                 near_duplicates=request.near_duplicates)
    return export_preference(store, VoteStore.beside(store), request.path, chosen, embed=embed, cancel=cancel,
                             progress=progress)


def _embedder(store):
    """Embeds the rows with no stored vector, when the history has an embedder; None: they are counted."""
    embedder = store.embedder
    if embedder is None:
        return None

    def embed(texts):
        embedder.load()
        return embedder.encode(texts)

    return embed
