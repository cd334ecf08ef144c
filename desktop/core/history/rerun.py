"""What an exact re-run or a continuation of a history record needs.

* the same model, found in the library by sha256 (:func:`model_for_rerun`,
  :func:`rerun_model_path`, :func:`find_model_path`);
* for a text record, the conversation that led to it, rebuilt by following
  ``parent_id`` (:func:`record_chain`), and the system prompt, mode and
  sampling parameters the engine recorded (:func:`text_replay`), as one
  request (:func:`text_rerun_request`); for an image record, its parameters
  (:func:`image_rerun_params`);
* what could make the re-run differ, said before it runs
  (:func:`exactness_warnings`: another device, GenLab or library version),
  and whether it did, after (:func:`compare_text`, :func:`compare_images`).

The GUI and ``genlab history rerun`` take these as they are; this module only reads.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from desktop.core.errors import ModelFileError
from desktop.core.records import GenerationRecord
from desktop.core.text.params import SamplingParams
from desktop.core.text.prompt import ChatMessage, TextRequest

if TYPE_CHECKING:
    from desktop.core.image.params import ImageParams
    from desktop.core.models.library import Library, LibraryModel

MAX_CHAIN = 500  # a guard against a parent_id loop in a damaged or imported history


def model_for_rerun(record: GenerationRecord, library: Library | None = None) -> LibraryModel:
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


def rerun_model_path(record: GenerationRecord, library: Library | None = None) -> str:
    """The library path of the record's exact model; raises ModelFileError when it is not there."""
    return model_for_rerun(record, library).path


def find_model_path(record: GenerationRecord, library: Library | None = None) -> str | None:
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
    mode = str(params["mode"]) if params.get("mode") in ("chat", "completion") else "auto"
    history = params.get("history_messages")
    return TextReplay(system_prompt=record.system_prompt or "", mode=mode, sampling=sampling,
                      drop_oldest_turns=bool(params.get("dropped_turns")),
                      history_messages=int(history) + int(params.get("dropped_turns") or 0)
                      if isinstance(history, int) else None)


def text_rerun_request(chain: list[GenerationRecord], *, keep_partial: bool = False) -> TextRequest:
    """The request that regenerates ``chain[-1]`` exactly: its prompt after the earlier
    records' prompts and replies, its system prompt, mode, sampling and seed.

    ``fresh_context``: the whole prompt is evaluated anew, whatever the model
    held before, so the reply is the recorded one on the same model and device.
    """
    record = chain[-1]
    replay = text_replay(record)
    history: list[ChatMessage] = []
    for earlier in chain[:-1]:
        history += [ChatMessage("user", earlier.prompt), ChatMessage("assistant", earlier.output_text)]
    return TextRequest(prompt=record.prompt, history=history, system_prompt=replay.system_prompt,
                       mode=replay.mode, sampling=replay.sampling, thread_id=record.session_id,
                       parent_id=record.parent_id, keep_partial=keep_partial,
                       drop_oldest_turns=replay.drop_oldest_turns, fresh_context=True)


def image_rerun_params(record: GenerationRecord) -> ImageParams:
    """An image record's parameters, prompt and seed, for one image exactly like it."""
    from desktop.core.image.params import ImageParams

    params = ImageParams.from_dict(record.parameters)
    params.prompt, params.negative_prompt = record.prompt, record.negative_prompt
    if record.seed is not None:
        params.seed = int(record.seed)
    params.batch_count = 1
    return params


def exactness_warnings(record: GenerationRecord, *, versions: dict[str, str], device: str | None) -> list[str]:
    """Why a re-run of ``record`` here may not give the recorded output, one sentence each.

    ``versions`` are this process's (the engine's ``versions()``); ``device``
    is where the model runs now, or None while that is not known yet.  A
    record that does not say a version or device is not warned about it.
    """
    warnings = []
    if device is not None and record.device and record.device != device:
        warnings.append(f"It was made on {record.device} and runs on {device} now, so the output may differ.")
    for name, now in sorted(versions.items()):
        then = (record.versions or {}).get(name)
        if then and then != now:
            warnings.append(f"It was made with {name} {then} and this is {now}, so the output may differ.")
    return warnings


@dataclass
class OutputCheck:
    """Whether a re-run gave the recorded output; ``diff`` says how it differs when not."""

    matches: bool
    diff: str = ""


def compare_text(recorded: str, new: str) -> OutputCheck:
    """Byte for byte; a unified diff (recorded → re-run) when they differ."""
    if recorded == new:
        return OutputCheck(True)
    lines = difflib.unified_diff(recorded.splitlines(keepends=True), new.splitlines(keepends=True),
                                 fromfile="recorded", tofile="re-run")
    return OutputCheck(False, "".join(line if line.endswith("\n") else line + "\n" for line in lines))


def compare_images(recorded: Path | str, new: Path | str) -> OutputCheck:
    """Pixel for pixel (the files' metadata may differ); says how many pixels differ when not."""
    import numpy as np
    from PIL import Image

    if not Path(recorded).is_file():
        return OutputCheck(False, f"The recorded image {recorded} is missing, so there is nothing to compare.")
    with Image.open(recorded) as a, Image.open(new) as b:
        old, now = np.asarray(a.convert("RGB")), np.asarray(b.convert("RGB"))
    if old.shape != now.shape:
        return OutputCheck(False, f"The recorded image is {old.shape[1]}×{old.shape[0]}, "
                                  f"the re-run {now.shape[1]}×{now.shape[0]}.")
    differing = int(np.any(old != now, axis=-1).sum())
    if differing == 0:
        return OutputCheck(True)
    largest = int(np.abs(old.astype(int) - now.astype(int)).max())
    return OutputCheck(False, f"{differing:,} of {old.shape[0] * old.shape[1]:,} pixels differ "
                              f"(by up to {largest} of 255).")
