"""History records as Chat threads: the pieces behind "Continue in Chat" and "Re-run exactly".

Kept apart from the widgets like :mod:`desktop.ui.chat.jobs`: a job that reads
a record's conversation from the history, and the functions that turn that
conversation into a :class:`ChatThread` and a re-run into a :class:`TextRequest`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from desktop.core.history.rerun import TextReplay, chain_lookup, record_chain
from desktop.core.records import GenerationRecord
from desktop.core.text.prompt import TextRequest
from desktop.core.text.thread import ChatThread, Turn

STAT_KEYS = ("ttft_s", "tokens_per_s", "prompt_tokens", "completion_tokens")


@dataclass
class RecordChain:
    """The records of a thread up to the chosen one, oldest first."""

    records: list[GenerationRecord]
    complete: bool  # False: an earlier record is missing from the history

    @property
    def last(self) -> GenerationRecord:
        return self.records[-1]


def read_chain_job(record: GenerationRecord, store, pending: list[GenerationRecord], *, cancel,
                   progress) -> RecordChain:
    """Follow ``parent_id`` from ``record`` back to the thread's first record (an io job)."""
    if store is not None:
        store.flush(timeout=30)  # a reply saved a moment ago may still be queued
    lookup = chain_lookup(store, pending)

    def checked(record_id: str):
        cancel.raise_if_cancelled()
        return lookup(record_id)

    records, complete = record_chain(record, checked)
    return RecordChain(records, complete)


def thread_from_chain(chain: RecordChain) -> tuple[ChatThread, Turn]:
    """A thread holding each record as a user turn and its reply; returns (thread, last user turn).

    The thread id is the record's ``session_id``, so replies sent in it join
    the same history thread.
    """
    last = chain.last
    thread = ChatThread(thread_id=last.session_id or None)
    parent: str | None = None
    user = None
    for record in chain.records:
        user = thread.add("user", record.prompt, parent)
        reply = thread.add("assistant", record.output_text, user.id)
        reply.record_id = record.id
        reply.finish_reason = str(record.parameters.get("finish_reason", ""))
        reply.stats = {k: record.timings[k] for k in STAT_KEYS if k in record.timings}
        if "n_ctx" in record.parameters:
            reply.stats["n_ctx"] = record.parameters["n_ctx"]
        reply.note = "from the history"
        parent = reply.id
    return thread, user


def rerun_request(thread: ChatThread, user: Turn, record: GenerationRecord, replay: TextReplay,
                  keep_partial: bool = True) -> TextRequest:
    """The request that regenerates ``record`` beside its reply: same prompt, history,
    system prompt, mode, sampling and seed, and the same parent in the history."""
    return TextRequest(prompt=record.prompt, history=thread.messages_before(user.id),
                       system_prompt=replay.system_prompt, mode=replay.mode,
                       sampling=replace(replay.sampling, stop=list(replay.sampling.stop)),
                       thread_id=thread.id, parent_id=record.parent_id, keep_partial=keep_partial,
                       drop_oldest_turns=replay.drop_oldest_turns, fresh_context=True)
