"""Job plumbing of the Chat workspace: the job functions and a race-free submit.

Kept apart from the widgets so the workspace module stays about layout and
user actions.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from desktop.core.history.chat_replay import read_threads_job
from desktop.core.jobs import Job
from desktop.core.text.engine import LoadedModel, LoadOptions, TextEngine
from desktop.core.text.gguf import read_gguf_info
from desktop.core.text.prompt import ContextOverflow, TextRequest


@dataclass
class Overflow:
    """A generation job's answer when the conversation does not fit the context."""

    error: ContextOverflow
    request: TextRequest


@dataclass
class LoadOutcome:
    """A load job's answer: the model, the wall-clock seconds the whole load took
    (reading, hashing, the test load and llama.cpp's), and whether it was loaded already."""

    model: LoadedModel
    seconds: float
    already_loaded: bool


def load_job(engine: TextEngine, path: str, options: LoadOptions, *, cancel, progress) -> LoadOutcome:
    before = engine.loaded
    start = time.perf_counter()
    model = engine.load(path, options, cancel=cancel, progress=progress)
    return LoadOutcome(model, time.perf_counter() - start, model is before)


def read_info_job(path: str, *, cancel, progress):
    return read_gguf_info(Path(path))


def generate_job(engine: TextEngine, request: TextRequest, *, cancel, progress):
    try:
        return engine.generate(request, cancel=cancel, progress=progress)
    except ContextOverflow as exc:
        return Overflow(exc, request)


# An experiment's text cells share a session id (the experiment's) but are no chat.
EXPERIMENT_CELLS = "kind = 'text' AND parameters_json LIKE '%\"experiment\": {%'"


@dataclass(frozen=True)
class ChatThreads:
    """The saved chat threads to list, and how many threads were read before sweeps were left out."""

    threads: list  # SavedThread
    read: int


def chat_threads_job(store, limit: int, *, cancel, progress) -> ChatThreads:
    """The ``limit`` most recent threads of the history, without the sessions of experiments."""
    saved = read_threads_job(store, limit, cancel=cancel, progress=progress)
    sweeps = set(store.scan(["session_id"], EXPERIMENT_CELLS).column("session_id").to_pylist())
    return ChatThreads([s for s in saved if s.thread.id not in sweeps], len(saved))


def submit_connected(runner, job: Job, connect) -> "object":
    """Submit ``job`` and run ``connect(handle)`` before the job may start.

    No gate is needed: :meth:`JobRunner.submit` hands a job to a worker only
    once control is back in the event loop, so ``connect`` always runs first
    (tests/ui/test_runner.py proves it for both lanes).
    """
    handle = runner.submit(job)
    connect(handle)
    return handle


