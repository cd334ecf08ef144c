"""Generating the arena's answers through the engines it is given, one engine job at a time.

    matches = plan_matches(contenders, prompts, order_seed=1, seed=42)
    report = generate_answers(matches, history=history, cancel=token, progress=callback)  # a job function

Each contender's model loads once and answers every match it is in, through
the experiments' engine adapters (:class:`~desktop.core.experiments.cells.TextCells`,
:class:`~desktop.core.experiments.cells.ImageCells`): the same engines, fresh
context, and validation as ``genlab text`` / ``genlab image``.  Both sides of
a match get the match's seed.  Every answer is saved as a history record
(``session_id`` = the arena session, ``parameters["arena"]`` = the session
and the contender's label) before the next job starts.  A contender that
fails to load, or an answer that fails, is reported on its side of the
match (:attr:`Answer.error`) and the run goes on: the other side's answer
is kept.  A cancel stops the run with :class:`~desktop.core.jobs.JobCancelled`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from desktop.core.arena.contenders import Contender
from desktop.core.arena.pairing import Match
from desktop.core.experiments.cells import CellEngine, ImageCells, TextCells
from desktop.core.experiments.params import TEXT
from desktop.core.experiments.plan import Cell, ModelGroup
from desktop.core.jobs import CancelToken, JobCancelled, Progress, ProgressCallback, no_progress
from desktop.core.records import GenerationRecord, new_id

log = logging.getLogger(__name__)
PARAMETER_KEY = "arena"


class AnswerSink:
    """The history sink the engines get: tags each record with the arena session and keeps it.

    ``save`` waits for the record to be on disk, so a vote right after sees it.
    """

    def __init__(self, history, session_id: str) -> None:
        self.history = history
        self.session_id = session_id
        self.label = ""
        self.made: list[GenerationRecord] = []

    def save(self, record: GenerationRecord) -> None:
        record.session_id = self.session_id
        record.parameters[PARAMETER_KEY] = {"session": self.session_id, "contender": self.label}
        self.history.save(record).result(120)
        self.made.append(record)


@dataclass
class ArenaRun:
    """What :func:`generate_answers` did."""

    session_id: str
    generated: int = 0
    failed: int = 0
    load_errors: dict[str, str] = field(default_factory=dict)  # contender label -> why it did not load


def generate_answers(matches: Sequence[Match], *, history, cancel: CancelToken | None = None,
                     progress: ProgressCallback = no_progress, session_id: str = "",
                     common: dict[str, Any] | None = None,
                     text_engine_factory: Callable[[Any], Any] | None = None, image_engine=None,
                     default_load=None, image_settings=None) -> ArenaRun:
    """Fill in both answers of every match; a job function (see the module docstring).

    ``common``: values every answer gets under the contender's own (``max_tokens``,
    ``steps``...); the engines and settings are those :func:`~desktop.core.experiments.runner.run_experiment` takes.
    """
    cancel = cancel or CancelToken()
    run = ArenaRun(session_id or new_id())
    if not matches:
        return run
    sink = AnswerSink(history, run.session_id)
    kind = matches[0].kind
    engine: CellEngine
    if kind == TEXT:
        engine = TextCells(sink, engine_factory=text_engine_factory, default_load=default_load)  # type: ignore[arg-type]
    else:
        engine = ImageCells(sink, engine=image_engine, image_settings=image_settings)  # type: ignore[arg-type]
    engine.experiment_id = run.session_id
    order: list[Contender] = []
    for match in matches:
        order.extend(c for c in match.contenders() if c not in order)
    total = sum(2 for _ in matches)
    done = 0
    try:
        for contender in order:
            mine = [m for m in matches if contender in m.contenders()]
            cells = [_cell(i, contender, m, common or {}) for i, m in enumerate(mine)]
            sink.label = contender.label
            try:
                engine.load(ModelGroup(contender.model, contender.path, (), cells), cancel=cancel, progress=progress)
            except JobCancelled:
                raise
            except Exception as exc:  # a bad model fails its own answers; the other side's are kept
                log.warning("arena: could not load %s: %s", contender.label, exc)
                error = f"Could not load {contender.label} ({contender.path.name}): {exc}"
                run.load_errors[contender.label] = error
                for match in mine:
                    match.answer_of(contender).error = error
                run.failed += len(mine)
                done += len(mine)
                continue
            for match, cell in zip(mine, cells):
                cancel.raise_if_cancelled()
                answer = match.answer_of(contender)
                before = len(sink.made)
                try:
                    engine.run(cell, cancel=cancel, progress=no_progress)
                except JobCancelled:
                    raise
                except Exception as exc:  # out of memory, a value the engine refuses: on this side only
                    log.warning("arena: %s failed on match %d: %s", contender.label, match.index, exc)
                    answer.error = f"{contender.label} failed: {exc}"
                if len(sink.made) > before:
                    answer.record = sink.made[-1]
                    run.generated += 1
                elif not answer.error:
                    answer.error = f"{contender.label} made no answer."
                if answer.error:
                    run.failed += 1
                done += 1
                progress(Progress(done / total, f"Answer {done}/{total}", done, total))
    finally:
        engine.close()
    return run


def _cell(index: int, contender: Contender, match: Match, common: dict[str, Any]) -> Cell:
    values = {**common, **contender.values, "prompt": match.prompt, "seed": match.seed}
    return Cell(index, {}, 0, contender.model, values)
