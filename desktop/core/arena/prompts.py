"""Where the arena's prompts come from: a file, an experiment's prompts, or a history search.

Each source returns the prompts in their first-seen order, without blanks
or repeats, so one prompt makes one match per pair of contenders.  A source
that gives no prompt (an empty file, an experiment none of whose cells has
run, a search that finds nothing) is an :class:`ArenaError` naming the source.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from desktop.core.arena.errors import ArenaError

SEARCH_LIMIT = 50  # prompts a history search gives the arena by default
TYPED, FILE, EXPERIMENT, SEARCH = "typed", "file", "experiment", "search"
SOURCES = (TYPED, FILE, EXPERIMENT, SEARCH)


@dataclass(frozen=True)
class PromptSource:
    """Where a run's prompts come from: ``text`` is the typed prompts, the file's path, the experiment's
    name (or id) or the search query, by ``source``; ``mode`` is the search's."""

    source: str
    text: str
    mode: str = "keyword"


def read_prompts(source: PromptSource, *, history, kind: str) -> list[str]:
    """The prompts of ``source`` (ArenaError naming the source when it gives none)."""
    if source.source == TYPED:
        return typed_prompts(source.text)
    if source.source == FILE:
        if not source.text.strip():
            raise ArenaError("No prompts file is chosen.", "Choose a UTF-8 text file with one prompt a line.")
        return prompts_from_file(Path(source.text.strip()).expanduser())
    if source.source == EXPERIMENT:
        return prompts_from_experiment_named(history, source.text)
    if source.source == SEARCH:
        return prompts_from_search(history, source.text, kind=kind, mode=source.mode)
    raise ArenaError(f"{source.source!r} is not a prompt source.", f"Use one of {', '.join(SOURCES)}.")


def typed_prompts(text: str) -> list[str]:
    """The prompts typed one a line (the Arena workspace's box)."""
    prompts = unique_prompts(text.splitlines())
    if not prompts:
        raise ArenaError("No prompt is typed.", "Type one prompt a line, or choose another prompt source.")
    return prompts


def unique_prompts(prompts: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for prompt in prompts:
        text = prompt.strip()
        if text:
            seen.setdefault(text, None)
    return list(seen)


def prompts_from_file(path: Path) -> list[str]:
    """One prompt a line of a UTF-8 text file."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ArenaError(f"Cannot read the prompts file {path}: {reason}.",
                         "Give a UTF-8 text file with one prompt a line.") from exc
    prompts = unique_prompts(lines)
    if not prompts:
        raise ArenaError(f"The prompts file {path} has no prompts: every line is empty.",
                         "Write one prompt a line into it, or choose another file.")
    return prompts


def prompts_from_experiment(experiments, history, experiment_id: str) -> list[str]:
    """The prompts of an experiment's cells (its records), in cell order."""
    from desktop.core.experiments.records import experiment_records

    experiment = experiments.get(experiment_id)
    prompts = unique_prompts(r.prompt for r in experiment_records(history, experiment.id))
    if not prompts:
        raise ArenaError(f"The experiment {experiment.name!r} has no prompts yet: none of its cells has run.",
                         "Run the experiment first (Experiments, Ctrl+5), or choose another prompt source.")
    return prompts


def prompts_from_experiment_named(history, name: str) -> list[str]:
    """The prompts of the experiments named ``name`` (or whose id starts with it), in cell order."""
    from desktop.core.experiments.lookup import matching_ids
    from desktop.core.experiments.store import ExperimentStore

    if not name.strip():
        raise ArenaError("No experiment is named.", "Give the name of an experiment (Experiments, Ctrl+5).")
    experiments = ExperimentStore.beside(history)
    prompts: list[str] = []
    for experiment_id in matching_ids(experiments, name):
        prompts += prompts_from_experiment(experiments, history, experiment_id)
    return unique_prompts(prompts)


def prompts_from_search(history, query: str, *, kind: str, mode: str = "hybrid",
                        limit: int = SEARCH_LIMIT) -> list[str]:
    """The prompts of the ``kind`` records a history search finds, best match first."""
    from desktop.core.history.search import SearchQuery

    if not query.strip():
        raise ArenaError("The prompt search is empty.", "Give some words to search the history for.")
    found = history.search(SearchQuery(text=query, mode=mode, filters={"kind": kind}, limit=limit))
    prompts = unique_prompts(hit.record.prompt for hit in found.hits)
    if not prompts:
        raise ArenaError(f"No {kind} record of the history matches the search {query.strip()!r}, "
                         "so it gives the arena no prompts.", "Try other words, or choose another prompt source.")
    return prompts
