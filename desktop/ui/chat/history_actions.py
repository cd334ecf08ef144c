"""The Chat workspace's actions on history records: continue a conversation, re-run a reply exactly.

:class:`ChatFromHistory` is a collaborator the workspace owns: it gets the
runner, the services and a :class:`ChatHost`, the few things of the
workspace it uses (open a thread with a record's settings, load a model,
reply, say something).  A record's earlier turns are read from the history
on the io lane; the model loads on the engine lane first when it is not the
loaded one.

An exact re-run says before it runs when it may not give the recorded reply
(another device or library version than recorded, earlier turns missing:
the host asks "Run anyway"), and after it whether it did (the host shows
the differences when not).
"""

from __future__ import annotations

import functools
from typing import Callable, Protocol

from desktop.core.history.chat_replay import RecordChain, read_chain_job, rerun_request, thread_from_chain
from desktop.core.history.rerun import TextReplay
from desktop.core.jobs import Job
from desktop.core.records import GenerationRecord
from desktop.core.text.engine import TextEngine, TextResult
from desktop.core.text.prompt import TextRequest
from desktop.core.text.thread import ChatThread, Turn
from desktop.ui.chat.jobs import submit_connected


class ChatHost(Protocol):
    """What :class:`ChatFromHistory` needs of the Chat workspace."""

    @property
    def busy(self) -> bool: ...  # a load or a reply runs

    @property
    def replying(self) -> bool: ...  # a reply streams: the thread on screen must not change

    @property
    def thread(self) -> ChatThread: ...  # the thread on screen

    @property
    def keep_partial(self) -> bool: ...

    def open_thread(self, thread: ChatThread, replay: TextReplay) -> None: ...  # show it, with these settings

    def select_model(self, path: str) -> None: ...

    def load_model(self, path: str, then: Callable[[], None] | None = None) -> None: ...

    def reply_to(self, user: Turn, request: TextRequest, *, rerender: bool,
                 then: Callable[[TextResult], None] | None = None) -> None: ...  # then(result) once it came

    def confirm_rerun(self, warnings: list[str], run: Callable[[], None]) -> None: ...  # ask; run() if yes

    def show_rerun_diff(self, recorded: str, new: str) -> None: ...

    def set_status(self, message: str) -> None: ...

    def show_banner(self, message: str) -> None: ...


class ChatFromHistory:
    """Opening history records as chat threads (see the module docstring).

    ``opened(thread)`` is called once a record's thread is on screen.
    """

    def __init__(self, host: ChatHost, services, runner, engine: TextEngine,
                 opened: Callable[[ChatThread], None]) -> None:
        self.host = host
        self.services = services
        self.runner = runner
        self.engine = engine
        self._opened = opened

    def continue_from_record(self, record: GenerationRecord, model_path: str | None = None) -> None:
        """Open a new chat seeded with ``record``'s conversation, ready for the next message.

        The turns are the record's ``parent_id`` chain up to the record (read
        from the history store when it is open, else from the in-memory
        history), each record a user turn and its reply.  The system prompt,
        mode and sampling parameters become the record's.  The thread keeps
        the record's ``session_id``, so the next reply joins the same history
        thread with the record as its parent.  The model at ``model_path`` (by
        default the library's file with the record's sha256) is loaded unless
        it is the loaded one; when there is none the thread still opens and
        the banner asks for a model.
        """
        if not self._can_open(record):
            return
        if model_path is None:
            from desktop.core.history.rerun import find_model_path

            model_path = find_model_path(record)

        def opened(chain: RecordChain) -> None:
            thread, _user = self._open_chain(chain)
            if thread is None:
                return
            if model_path is None:
                name = record.model.name or record.model.file or "The model of this conversation"
                self.host.show_banner(f"{name} is not in the model library: choose a model above and Load it "
                                  "to continue this conversation.")
            elif not self._has_model(record, model_path):
                self.host.select_model(model_path)
                self.host.load_model(model_path)
            self._opened(thread)

        self._read_chain(record, opened)

    def rerun_record(self, record: GenerationRecord, model_path: str) -> None:
        """Generate ``record`` again, exactly: the same prompt, earlier turns, system prompt,
        mode, sampling parameters and seed, on the model at ``model_path``.

        The re-run is a new branch, not a fresh thread: the record's conversation
        opens as a new chat (as in :meth:`continue_from_record`) and the new reply
        is a sibling of the recorded one (‹ 1/2 ›), so the two can be compared.
        It needs the earlier turns, which only the branch has, and it is saved to
        the same history thread with the same parent, like "regenerate".  With a
        greedy or seeded sampler on the same model and device the text is the
        same; a reply that was stopped early comes back whole.
        """
        if not self._can_open(record):
            return
        from desktop.core.history.rerun import text_replay

        replay = text_replay(record)

        def opened(chain: RecordChain) -> None:
            thread, user = self._open_chain(chain)
            if thread is None:
                return
            missing = not chain.complete or (replay.history_messages is not None
                                             and replay.history_messages != 2 * (len(chain.records) - 1))
            self.host.show_banner("")
            self._opened(thread)

            def regenerate() -> None:
                if self.host.busy or self.host.thread is not thread or user.id not in thread.turns:
                    self.host.set_status("The re-run did not start: the chat changed while the model loaded.")
                    return
                request = rerun_request(thread, user, record, replay, self.host.keep_partial)
                self.host.reply_to(user, request, rerender=True, then=lambda result: self._check(record, result))

            def ask_then_regenerate() -> None:
                # The device is known once the model is loaded, so this asks after a load, before generating.
                warnings = self._exactness_warnings(record)
                if missing:
                    warnings.insert(0, "Some earlier turns of this conversation are no longer in the history, "
                                       "so the output may differ.")
                if warnings:
                    self.host.confirm_rerun(warnings, regenerate)
                else:
                    regenerate()

            if self._has_model(record, model_path):
                ask_then_regenerate()
            else:
                self.host.select_model(model_path)
                self.host.load_model(model_path, then=ask_then_regenerate)

        self._read_chain(record, opened)

    def _exactness_warnings(self, record: GenerationRecord) -> list[str]:
        from desktop.core.history.rerun import exactness_warnings
        from desktop.core.text.engine import versions

        loaded = self.engine.loaded
        return exactness_warnings(record, versions=versions(), device=loaded.device if loaded else None)

    def _check(self, record: GenerationRecord, result: TextResult) -> None:
        """Say whether the re-run gave the recorded reply; show the differences when not."""
        from desktop.core.history.rerun import compare_text

        if result.finish_reason == "cancelled":
            self.host.set_status("The re-run was stopped, so it was not compared with the recorded reply.")
        elif compare_text(record.output_text, result.text).matches:
            self.host.set_status("The re-run matches the recorded reply exactly.")
        else:
            self.host.set_status("The re-run differs from the recorded reply (the differences are shown).")
            self.host.show_rerun_diff(record.output_text, result.text)

    def _can_open(self, record: GenerationRecord) -> bool:
        if record.kind != "text":
            self.host.set_status("Only text records can be continued or re-run in Chat.")
            return False
        if self.host.busy:
            self.host.set_status("Wait for the current job to finish or stop it first.")
            return False
        return True

    def _has_model(self, record: GenerationRecord, path: str) -> bool:
        loaded = self.engine.loaded
        if loaded is None:
            return False
        same_file = bool(record.model.sha256) and loaded.sha256 == record.model.sha256
        return same_file or self.engine.is_loaded(path)

    def _read_chain(self, record: GenerationRecord, then) -> None:
        """Call ``then(RecordChain)``: at once for a first turn, else after reading the history (io lane)."""
        if not record.parent_id:
            then(RecordChain([record], True))
            return
        store = self.services.opened_history_store
        pending = list(getattr(self.services.history, "records", []))

        def connect(handle) -> None:
            handle.finished.connect(then)
            handle.failed.connect(lambda message, _tb: self.host.set_status(message))

        self.host.set_status("Reading the conversation from the history…")
        job = Job("Read conversation", functools.partial(read_chain_job, record, store, pending), kind="io")
        submit_connected(self.runner, job, connect)

    def _open_chain(self, chain: RecordChain):
        """Show ``chain`` as a new thread with the record's settings; (None, None) while a reply runs."""
        if self.host.replying:
            self.host.set_status("Stop the reply before opening a record from the history.")
            return None, None
        from desktop.core.history.rerun import text_replay

        thread, user = thread_from_chain(chain)
        self.host.open_thread(thread, text_replay(chain.last))
        self.host.set_status("" if chain.complete else "Some earlier turns are no longer in the history.")
        return thread, user
