"""History records as Chat threads: "Continue in Chat", "Re-run exactly" and the chat list at start.

Kept apart from the widgets like :mod:`desktop.ui.chat.jobs`: a job that reads
a record's conversation from the history, the functions that turn that
conversation into a :class:`ChatThread` and a re-run into a :class:`TextRequest`,
and :func:`read_threads_job`, which rebuilds every recent chat thread (with its
branches) from the text records sharing a ``session_id``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

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
        reply = thread.add("assistant", "", user.id)
        _fill_reply(reply, record)
        reply.note = "from the history"
        parent = reply.id
    assert user is not None  # a chain holds at least the record itself
    return thread, user


def _fill_reply(reply: Turn, record: GenerationRecord) -> None:
    reply.content = record.output_text
    reply.record_id = record.id
    reply.finish_reason = str(record.parameters.get("finish_reason", ""))
    reply.stats = {k: record.timings[k] for k in STAT_KEYS if k in record.timings}
    for key in ("n_ctx", "max_tokens"):  # the context line, and the "stopped at the N-token limit" note
        if key in record.parameters:
            reply.stats[key] = record.parameters[key]


@dataclass
class SavedThread:
    """A chat thread rebuilt from the history, with when it began and was last used."""

    thread: ChatThread
    first_at: datetime
    last_at: datetime


def thread_from_records(session_id: str, records: list[GenerationRecord]) -> SavedThread:
    """The thread of one session's text records, every branch kept.

    Each record is a user turn (its prompt) and the reply; ``parent_id`` names
    the reply it followed.  Records with the same parent and prompt are
    alternative replies to one message (regenerate, re-run); a different
    prompt under the same parent is an edited message.  A record that
    continued a reply cut by Max tokens (``parameters["continues"]``) replaces
    that reply's text.  The branch on screen is the newest record's.
    """
    records = sorted(records, key=lambda r: r.created_at)
    thread = ChatThread(thread_id=session_id)
    reply_of: dict[str, Turn] = {}
    newest: Turn | None = None
    for record in records:
        continued = reply_of.get(str(record.parameters.get("continues", "")))
        if continued is not None:
            _fill_reply(continued, record)
            reply_of[record.id] = newest = continued
            continue
        parent = reply_of.get(record.parent_id)
        parent_id = parent.id if parent is not None else None  # a missing parent: start at the top
        user = next((t for t in thread.children(parent_id) if t.role == "user" and t.content == record.prompt),
                    None) or thread.add("user", record.prompt, parent_id)
        reply = thread.add("assistant", "", user.id)
        _fill_reply(reply, record)
        reply_of[record.id] = newest = reply
    turn = newest
    while turn is not None:  # show the newest record's branch
        thread.select_sibling(turn.id, 0)
        turn = thread.turns.get(turn.parent) if turn.parent else None
    return SavedThread(thread, records[0].created_at, records[-1].created_at)


THREAD_COLUMNS = ["session_id", "created_at"]


def read_threads_job(store, limit: int = 200, *, cancel, progress) -> list[SavedThread]:
    """The ``limit`` most recently used chat threads in the history, newest first (an io job).

    A thread is the text records of one non-empty ``session_id``; the records
    are read only for those threads.
    """
    from desktop.core.history.store import sql_str

    store.flush(timeout=30)
    rows = store.scan(THREAD_COLUMNS, "kind = 'text' AND session_id != ''").to_pylist()
    last: dict[str, datetime] = {}
    for row in rows:
        sid = row["session_id"]
        if sid not in last or row["created_at"] > last[sid]:
            last[sid] = row["created_at"]
    recent = sorted(last, key=last.__getitem__, reverse=True)[:limit]
    by_session: dict[str, list[GenerationRecord]] = {sid: [] for sid in recent}
    for start in range(0, len(recent), 100):
        cancel.raise_if_cancelled()
        chunk = recent[start:start + 100]
        where = "kind = 'text' AND session_id IN (" + ", ".join(sql_str(s) for s in chunk) + ")"
        for record in store.iter_records(where):
            by_session[record.session_id].append(record)
    return [thread_from_records(sid, by_session[sid]) for sid in recent if by_session[sid]]


def rerun_request(thread: ChatThread, user: Turn, record: GenerationRecord, replay: TextReplay,
                  keep_partial: bool = True) -> TextRequest:
    """The request that regenerates ``record`` beside its reply: same prompt, history,
    system prompt, mode, sampling and seed, and the same parent in the history."""
    return TextRequest(prompt=record.prompt, history=thread.messages_before(user.id),
                       system_prompt=replay.system_prompt, mode=replay.mode,
                       sampling=replace(replay.sampling, stop=list(replay.sampling.stop)),
                       thread_id=thread.id, parent_id=record.parent_id, keep_partial=keep_partial,
                       drop_oldest_turns=replay.drop_oldest_turns, fresh_context=True)
