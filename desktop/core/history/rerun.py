"""What an exact re-run or a continuation of a history record needs.

* the same model, found in the library by sha256 (:func:`model_for_rerun`,
  :func:`rerun_model_path`, :func:`find_model_path`);
* for a text record, the conversation that led to it, rebuilt by following
  ``parent_id`` (:func:`record_chain`), and the system prompt, mode and
  sampling parameters the engine recorded (:func:`text_replay`).

The engines' workspaces take these as they are; this module only reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from desktop.core.errors import ModelFileError
from desktop.core.records import GenerationRecord
from desktop.core.text.params import SamplingParams

MAX_CHAIN = 500  # a guard against a parent_id loop in a damaged or imported history


def model_for_rerun(record: GenerationRecord, library=None):
    """The :class:`~desktop.core.models.library.LibraryModel` whose sha256 matches the record's model."""
    name = record.model.name or record.model.file or "the model"
    if not record.model.sha256:
        raise ModelFileError(f"This record does not say which exact file {name} was (no sha256),"
                             " so it cannot be re-run exactly.", "Reuse its parameters with a model you choose.")
    if library is None:
        from desktop.core.models.library import Library

        library = Library()
    model = library.find_by_sha256(record.model.sha256)
    if model is None:
        raise ModelFileError(f"{name} (sha256 {record.model.sha256[:12]}…) is not in the model library.",
                             "Download or import that exact file in Models, then re-run.")
    return model


def rerun_model_path(record: GenerationRecord, library=None) -> str:
    """The library path of the record's exact model; raises ModelFileError when it is not there."""
    return model_for_rerun(record, library).path


def find_model_path(record: GenerationRecord, library=None) -> str | None:
    """Like :func:`rerun_model_path`, but None when the model is unknown or not in the library."""
    try:
        return rerun_model_path(record, library)
    except ModelFileError:
        return None


def record_chain(record: GenerationRecord,
                 lookup: Callable[[str], GenerationRecord | None]) -> tuple[list[GenerationRecord], bool]:
    """(records from the first turn of the thread up to ``record``, complete).

    ``lookup(id)`` returns a record or None.  ``complete`` is False when a
    parent could not be found (deleted, or a history that is not open): the
    chain then starts at the oldest record that was found.
    """
    chain = [record]
    seen = {record.id}
    parent = record.parent_id
    while parent and len(chain) < MAX_CHAIN:
        if parent in seen:
            return list(reversed(chain)), False
        found = lookup(parent)
        if found is None:
            return list(reversed(chain)), False
        chain.append(found)
        seen.add(found.id)
        parent = found.parent_id
    return list(reversed(chain)), not parent


def chain_lookup(store=None, pending: list[GenerationRecord] | tuple = ()) -> Callable[[str], GenerationRecord | None]:
    """A ``lookup(id)`` for :func:`record_chain`: the history store, then records not yet in it.

    ``pending`` holds records kept in memory (a ListSink before the store opened).
    Reading the store is I/O: call the lookup off the GUI thread.
    """
    by_id = {r.id: r for r in pending}

    def lookup(record_id: str) -> GenerationRecord | None:
        if record_id in by_id:
            return by_id[record_id]
        if store is None:
            return None
        from desktop.core.history.errors import RecordNotFound

        try:
            return store.get(record_id)
        except RecordNotFound:
            return None

    return lookup


@dataclass
class TextReplay:
    """How the text engine made a record, in the form a new request takes."""

    system_prompt: str
    mode: str  # the mode the engine used: "chat" | "completion" ("auto" for records that do not say)
    sampling: SamplingParams  # with the record's concrete seed
    drop_oldest_turns: bool  # the engine had to drop old turns to fit
    history_messages: int | None  # earlier messages in the thread then (sent or dropped), when recorded


def text_replay(record: GenerationRecord) -> TextReplay:
    """The system prompt, mode and sampling parameters of a text record (see TextEngine._record)."""
    params = record.parameters or {}
    sampling = SamplingParams.from_dict(params)
    sampling.stop = list(sampling.stop or [])
    if record.seed is not None:
        sampling.seed = int(record.seed)
    mode = params.get("mode") if params.get("mode") in ("chat", "completion") else "auto"
    history = params.get("history_messages")
    return TextReplay(system_prompt=record.system_prompt or "", mode=mode, sampling=sampling,
                      drop_oldest_turns=bool(params.get("dropped_turns")),
                      history_messages=int(history) + int(params.get("dropped_turns") or 0)
                      if isinstance(history, int) else None)
