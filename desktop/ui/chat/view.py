"""The Chat workspace: chat with GGUF models on llama.cpp, streaming and stoppable.

Every model load and every reply is a job on the runner's engine lane; the
workspace never touches the ``Llama`` object.  Streamed text arrives as the
runner's coalesced ``progressed`` batches (about 30 per second) and is
appended to the transcript; the reply is rendered as Markdown once it is
complete.

Lifecycle of a reply: ``generate()`` adds the user's turn and an empty
assistant turn to the thread, submits the job and streams into the
transcript; ``finished`` fills the turn (text, stats, history record id);
a conversation that no longer fits the context comes back as an
:class:`Overflow` and the banner offers to drop the oldest turns.  A reply
cut by Max tokens says so on its card, with a Continue button that
generates on from the same reply (``continue_reply()``).

Threads are kept: at start (or as soon as the app has opened the history)
the recent threads are rebuilt from the history's text records, branches
and all, newest first (:mod:`desktop.ui.chat.threads`); names and pins live
in ``chat_threads.json``.  Deleting a thread deletes its records.  The last
used model loads again at start when ``TextSettings.chat_reload_last_model``
is on.

From the History workspace (:class:`~desktop.ui.chat.history_actions.ChatFromHistory`,
a collaborator this workspace owns): ``continue_from_record`` opens a new
thread seeded with a record's conversation and ``rerun_record`` regenerates a
record exactly, as a new branch beside its reply; when another device or
library version may change it, a question asks first, and the status says
after whether it matched (a dialog shows the differing words when not).

A file that fails to open leaves the model picker and is said once (the
model bar's ``report_failure``); the jobs here say their own failures, so
the window does not repeat them.

A model without a chat template says so once, on the model card, not
under every reply.

A thread can answer from document collections and the history (the bar
above the input; :class:`~desktop.ui.chat.grounding.ChatGrounding`, a
collaborator this workspace owns): its replies show their sources before
the first token, and their [n] citations open the chunk.

Signals:
    reply_finished(object): a TextResult, after the transcript shows it.
    model_changed(object): the LoadedModel now loaded, or None.
    status_message(str): a one-line status or error message.
    record_opened(object): a ChatThread seeded from a history record is on screen.
    open_models_requested(): the model bar's hint asked for the Models workspace (to get a model).
    threads_restored(int): the saved threads were read from the history and listed (how many).
"""

from __future__ import annotations

import functools
import logging
from dataclasses import replace
from pathlib import Path
from typing import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from desktop.core.errors import GenLabError
from desktop.core.history.rerun import TextReplay
from desktop.core.history.thread_labels import ThreadLabels
from desktop.core.jobs import Job
from desktop.core.records import GenerationRecord
from desktop.core.text.engine import TextResult
from desktop.core.text.prompt import TextRequest
from desktop.core.text.stream import StreamChunk
from desktop.core.text.thread import ChatThread, Turn
from desktop.core.units import format_duration
from desktop.ui.chat.grounding import ChatGrounding, NotAnswered
from desktop.ui.chat.history_actions import ChatFromHistory
from desktop.ui.chat.input import ChatInput
from desktop.ui.chat.jobs import (
    ChatThreads,
    LoadOutcome,
    Overflow,
    chat_threads_job,
    generate_job,
    load_job,
    read_info_job,
    submit_connected,
)
from desktop.ui.chat.model_bar import ChatModelBar, model_title
from desktop.ui.chat.rerun_diff import RerunDiffDialog
from desktop.ui.chat.settings import ChatSettingsPanel
from desktop.ui.chat.stats import live_line, stats_line
from desktop.ui.chat.threads import ThreadList
from desktop.ui.chat.transcript import ChatTranscript

log = logging.getLogger(__name__)

SAVED_THREADS = 200  # threads read back at start; older ones stay in the History workspace
WAITING_FOR_QUEUE = "Waiting for the running job"


class ChatWorkspace(QWidget):
    reply_finished = Signal(object)
    model_changed = Signal(object)
    status_message = Signal(str)
    record_opened = Signal(object)
    open_models_requested = Signal()
    threads_restored = Signal(int)

    def __init__(self, services, runner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.runner = runner
        self.engine = services.text_engine
        self.thread = ChatThread()
        self._handle = None
        self._job = ""  # "load" | "reply" while a job runs
        self._pending: Turn | None = None
        self._continuing = False  # the pending reply is an earlier one, continued
        self._max_tokens = 0  # of the reply being generated
        self._editing: Turn | None = None
        self._overflow: Overflow | None = None
        self._after_reply: Callable[[TextResult], None] | None = None  # of the reply being generated
        self._loading = ""  # the path a running load job loads
        self.rerun_question: QMessageBox | None = None  # the "Run anyway?" question of the last re-run
        self.rerun_diff: RerunDiffDialog | None = None  # the last re-run's differences
        self.labels = ThreadLabels()
        self._build()
        self.history_actions = ChatFromHistory(self, services, runner, self.engine, self.record_opened.emit)
        self.thread_panel.add(self.thread)
        self.transcript.show_thread(self.thread)
        self.model_bar.refresh_library()
        self._library_fresh = True  # just read: a show before the event loop runs again need not reread it
        QTimer.singleShot(0, self._library_may_change)
        self._update_buttons()
        self._threads_read = False
        self._watch_history()
        # Once the event loop runs, so a model asked for meanwhile (Continue in Chat) goes first.
        QTimer.singleShot(0, self, self._reload_last_model)

    # --- layout ---------------------------------------------------------------------------
    def _build(self) -> None:
        self.thread_panel = ThreadList(self.labels)
        self.thread_list = self.thread_panel.list
        self.new_chat_button = self.thread_panel.new_button

        self.model_bar = ChatModelBar(self.services.settings.text)
        self.transcript = ChatTranscript()
        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setObjectName("chatBanner")
        self.banner_action = QPushButton("Drop oldest turns and send")
        self.banner_dismiss = QPushButton("Dismiss")
        banner_row = QHBoxLayout()
        banner_row.addWidget(self.banner, 1)
        banner_row.addWidget(self.banner_action)
        banner_row.addWidget(self.banner_dismiss)
        self.input = ChatInput(lambda: self.services.settings.text.chat_send_key)
        self.input.setMaximumHeight(self.input.fontMetrics().lineSpacing() * 4 + 16)  # the conversation gets the height
        self.send_button = QPushButton("Send")
        self.stop_button = QPushButton("Stop")
        self.stats = QLabel()
        self.stats.setObjectName("chatStats")
        self.stats.setWordWrap(True)  # a long line must not widen the window
        self.status = QLabel()
        self.status.setWordWrap(True)
        # The thread's collections; its replies show their sources first and cite them.
        self.grounding = ChatGrounding(self.services, self.runner, self.transcript, thread_id=lambda: self.thread.id,
                                       say=self.set_status, parent=self)
        buttons = QVBoxLayout()
        buttons.addWidget(self.send_button)
        buttons.addWidget(self.stop_button)
        input_row = QHBoxLayout()
        input_row.addWidget(self.input, 1)
        input_row.addLayout(buttons)

        center = QWidget()
        center_layout = QVBoxLayout(center)
        center_layout.setContentsMargins(0, 0, 0, 0)
        center_layout.addWidget(self.model_bar)
        center_layout.addWidget(self.transcript, 1)
        center_layout.addLayout(banner_row)
        center_layout.addWidget(self.grounding.bar)
        center_layout.addLayout(input_row)
        center_layout.addWidget(self.stats)
        center_layout.addWidget(self.status)

        self.settings_panel = ChatSettingsPanel(self.services.settings, self._save_settings)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        for widget, stretch in ((self.thread_panel, 0), (center, 1), (self.settings_panel, 0)):
            splitter.addWidget(widget)
            splitter.setStretchFactor(splitter.count() - 1, stretch)
        splitter.setSizes([170, 600, self.settings_panel.sizeHint().width()])
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)
        self.show_banner("")

        self.thread_panel.new_requested.connect(self.new_chat)
        self.thread_panel.selected.connect(self._select_thread)
        self.thread_panel.delete_requested.connect(self.delete_thread)
        self.thread_panel.message.connect(self.set_status)
        self.model_bar.load_requested.connect(self.load_model)
        self.model_bar.selection_changed.connect(self._inspect)
        self.model_bar.unload_requested.connect(self.unload_model)
        self.transcript.action.connect(self._on_turn_action)
        self.input.textChanged.connect(self._update_buttons)
        self.input.send_requested.connect(self.generate)
        self.send_button.clicked.connect(self.generate)
        self.stop_button.clicked.connect(self.stop)
        self.transcript.continue_requested.connect(self._continue_requested)
        self.transcript.set_offer_continue(True)
        self.banner_action.clicked.connect(self.drop_oldest_and_send)
        self.banner_dismiss.clicked.connect(lambda: self.show_banner(""))
        self.settings_panel.preset_message.connect(self.set_status)
        self.model_bar.open_models_requested.connect(self.open_models_requested)

    def _library_may_change(self) -> None:
        self._library_fresh = False

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._library_fresh:  # a model may have been added in the Models workspace meanwhile
            self.model_bar.refresh_library()
        self._library_fresh = False

    def focus_search(self) -> None:
        """Ctrl+F: search the chats by title."""
        self.thread_panel.filter.setFocus()
        self.thread_panel.filter.selectAll()

    # --- state helpers (also what ChatFromHistory uses: see ChatHost) -------------------------
    @property
    def busy(self) -> bool:
        return self._handle is not None

    @property
    def replying(self) -> bool:
        return self.busy and self._job == "reply"

    @property
    def keep_partial(self) -> bool:
        return self.settings_panel.keep_partial.isChecked()

    @property
    def threads(self) -> list[ChatThread]:
        """The listed threads, in the order shown."""
        return self.thread_panel.threads()

    def _update_buttons(self) -> None:
        loaded = self.engine.loaded is not None
        self.send_button.setEnabled(loaded and not self.busy and bool(self.input.toPlainText().strip()))
        self.stop_button.setEnabled(self.busy)
        self.model_bar.load_button.setEnabled(not self.busy)
        self.model_bar.unload_button.setEnabled(loaded and not self.busy)

    def set_status(self, message: str) -> None:
        self.status.setText(message)
        self.status_message.emit(message)

    def _clear_status(self, only: str = "") -> None:
        """Clear a status line that is old news now (another chat, a new reply, a job that started);
        with ``only``, just while the line still begins with it, so a newer message stays."""
        if self.status.text() and self.status.text().startswith(only):
            self.set_status("")

    def show_banner(self, message: str, can_drop: bool = False) -> None:
        self.banner.setText(message)
        self.banner.setVisible(bool(message))
        self.banner_action.setVisible(bool(message) and can_drop)
        self.banner_dismiss.setVisible(bool(message))

    def _show_thread_state(self) -> None:
        """The stats line of the thread on screen: its last reply's, or nothing."""
        last = self.thread.last
        self.stats.setText(stats_line(last.stats) if last is not None and last.role == "assistant" else "")

    def _save_settings(self) -> None:
        try:
            self.services.save_settings()
        except GenLabError as exc:
            self.set_status(str(exc))

    # --- threads ------------------------------------------------------------------------------
    def _add_thread(self, thread: ChatThread) -> None:
        self.thread_panel.add(thread)
        self._show(thread)

    def open_thread(self, thread: ChatThread, replay: TextReplay) -> None:
        """Show ``thread`` (opened from a history record) with the record's settings."""
        panel = self.settings_panel
        panel.system_prompt.setPlainText(replay.system_prompt)
        panel.set_mode(replay.mode)
        panel.set_sampling(replay.sampling)
        if self.thread_panel.has(thread.id):  # the record's thread is listed: show the record's branch
            self.thread_panel.remove(thread.id)
        self._add_thread(thread)
        self.show_banner("")

    def new_chat(self) -> None:
        if self.replying:
            self.set_status("Stop the reply before starting a new chat.")
            return
        self._add_thread(ChatThread())
        self._clear_status()
        self.input.setFocus()

    def _select_thread(self, thread: ChatThread) -> None:
        if self.replying:
            self.thread_panel.select(self.thread)
            self.set_status("Stop the reply before switching chats.")
            return
        self._show(thread)
        self._clear_status()

    def _show(self, thread: ChatThread) -> None:
        self.thread = thread
        self._editing = None
        self.grounding.show_thread(thread.id)
        self.transcript.show_thread(thread)
        self._show_thread_state()

    def _refresh_thread_title(self) -> None:
        self.thread_panel.touch(self.thread)

    def rename_thread(self, thread_id: str, name: str) -> bool:
        return self.thread_panel.rename(thread_id, name)

    def pin_thread(self, thread_id: str, pinned: bool = True) -> bool:
        return self.thread_panel.set_pinned(thread_id, pinned)

    def delete_thread(self, thread_id: str) -> None:
        """Delete a thread and, as the History's delete does, every trace of its records."""
        if self.replying:
            self.set_status("Stop the reply before deleting a chat.")
            return
        store = self.services.opened_history_store
        pending = getattr(self.services.history, "records", None)
        if isinstance(pending, list):  # replies not yet in the store (it opens after the first paint)
            pending[:] = [r for r in pending if r.session_id != thread_id]

        def deleted(count: int) -> None:
            self.labels.forget([thread_id])
            self.grounding.forget([thread_id])
            self.thread_panel.remove(thread_id)
            if self.thread.id == thread_id:
                rest = self.thread_panel.threads()
                if rest:
                    self.thread_panel.select(rest[0])
                    self._show(rest[0])
                else:
                    self._add_thread(ChatThread())
            self.set_status(f"Deleted the chat and its {count} record{'s' if count != 1 else ''} "
                             "from the history." if count else "Deleted the chat.")

        if store is None or not thread_id:
            deleted(0)
            return

        def connect(handle) -> None:
            handle.finished.connect(deleted)
            handle.failed.connect(lambda message, _tb: self.set_status(f"The chat was not deleted: {message}"))

        job = Job("Delete chat", lambda *, cancel, progress: store.delete(session=thread_id), kind="io",
                  reports_failure=True)
        submit_connected(self.runner, job, connect)

    # --- saved threads ------------------------------------------------------------------------
    def _watch_history(self) -> None:
        store = self.services.opened_history_store
        if store is not None:
            self._read_saved_threads(store)
            return
        # The app opens the history after the first paint; read the threads as soon as it is there.
        remove = self.services.add_history_listener(self._history_installed)
        self.destroyed.connect(lambda *_: remove())
        self._stop_watching: Callable[[], None] = remove

    def _history_installed(self, _sink) -> None:
        store = self.services.opened_history_store
        if store is not None and not self._threads_read:
            self._stop_watching()
            self._read_saved_threads(store)

    def _read_saved_threads(self, store) -> None:
        self._threads_read = True

        def connect(handle) -> None:
            handle.finished.connect(self._list_saved_threads)
            handle.failed.connect(lambda message, _tb: self.set_status(f"Earlier chats could not be read: {message}"))

        job = Job("Read chats", functools.partial(chat_threads_job, store, SAVED_THREADS), kind="io",
                  reports_failure=True)
        submit_connected(self.runner, job, connect)

    def _list_saved_threads(self, saved: ChatThreads) -> None:
        for entry in saved.threads:
            if not self.thread_panel.has(entry.thread.id):
                self.thread_panel.add(entry.thread, entry.first_at, entry.last_at, select=False)
        if saved.read < SAVED_THREADS:  # every thread was read: a label without one is a deleted thread's
            listed = {t.id for t in self.thread_panel.threads()}
            self.labels.forget(self.labels.known() - listed)
        self.threads_restored.emit(len(saved.threads))

    # --- model --------------------------------------------------------------------------------
    def _reload_last_model(self) -> None:
        text = self.services.settings.text
        path = text.last_model
        if not (text.chat_reload_last_model and path and Path(path).is_file()) or self.busy \
                or self.engine.loaded is not None:
            return
        self.model_bar.select_path(path)
        self.load_model(path)

    def select_model(self, path: str) -> None:
        self.model_bar.select_path(path)

    def load_model(self, path: str, then=None) -> None:
        """Load ``path`` on the engine lane; ``then()`` runs once it is loaded (and the job has ended)."""
        if self.busy:
            self.set_status("Wait for the current job to finish or stop it first.")
            return
        options = self.settings_panel.load_options()
        text = self.services.settings.text
        text.context_size, text.threads, text.n_gpu_layers = options.n_ctx, options.n_threads, options.n_gpu_layers
        self.set_status(f"Loading {path}…")
        self._loading = path
        job = Job(f"Load {path.rsplit('/', 1)[-1]}", functools.partial(load_job, self.engine, path, options),
                  kind="engine", reports_failure=True)  # _on_failed says it, once
        if then is None:
            self._start("load", job, on_finished=self._on_loaded)
            return
        loaded: list[LoadOutcome] = []
        self._start("load", job, on_finished=lambda outcome: (self._on_loaded(outcome), loaded.append(outcome)),
                    after=lambda: loaded and then())

    def _on_loaded(self, outcome: LoadOutcome) -> None:
        loaded = outcome.model
        self.services.settings.text.last_model = str(loaded.path)
        self._save_settings()
        self.model_bar.show_card(loaded.info, loaded)
        self.transcript.set_special_tokens(loaded.info.hidden_tokens)  # kept in the record, hidden on screen
        name = f"{model_title(loaded.info)} ({loaded.info.architecture})"
        if outcome.already_loaded:
            self.set_status(f"{name} is already loaded.")
        else:  # the card's summary says when it has no chat template; the status does not repeat it
            self.set_status(f"Loaded {name} in {format_duration(outcome.seconds)}. {loaded.gpu.reason}")
        self.model_changed.emit(loaded)

    def unload_model(self) -> None:
        if self.busy:
            return
        job = Job("Unload model", lambda *, cancel, progress: self.engine.unload(), kind="engine",
                  reports_failure=True)
        self._start("load", job, on_finished=lambda _: self._on_unloaded())

    def _on_unloaded(self) -> None:
        self.model_bar.show_unloaded()
        self.set_status("Model unloaded.")
        self.model_changed.emit(None)

    # --- sending ------------------------------------------------------------------------------
    def generate(self) -> None:
        """Send the input box (Enter or Ctrl+Enter); an edit in progress becomes a new branch."""
        text = self.input.toPlainText()
        if not text.strip():
            self.set_status("Type a message before sending.")
            return
        if self.busy or self.engine.loaded is None:
            self.set_status("Load a model first." if self.engine.loaded is None else "A job is running.")
            return
        params = self.settings_panel.sampling()
        try:
            self.settings_panel.check()
            params.validated()
        except GenLabError as exc:
            self.set_status(str(exc))
            return
        branching = self._editing is not None
        parent = self._editing.parent if branching else (self.thread.last.id if self.thread.last else None)
        if parent is not None and self.thread.turns[parent].role == "user":
            parent = self.thread.turns[parent].parent  # an unanswered message: send beside it
            branching = True
        self._editing = None
        self.show_banner("")
        user = self.thread.add("user", text, parent)
        self.input.clear()
        self._refresh_thread_title()
        if not branching:
            self.transcript.append_turn(user)
        self._reply_to(user, rerender=branching)

    def _request_for(self, user: Turn) -> TextRequest:
        panel = self.settings_panel
        return TextRequest(
            prompt=user.content, history=self.thread.messages_before(user.id),
            system_prompt=panel.system_prompt.toPlainText(), mode=panel.mode.currentData(),
            sampling=panel.sampling(), thread_id=self.thread.id,
            parent_id=self.thread.previous_reply_record(user.id), keep_partial=panel.keep_partial.isChecked())

    def reply_to(self, user: Turn, request: TextRequest | None = None, *, rerender: bool = False,
                 then: Callable[[TextResult], None] | None = None) -> None:
        """Generate a reply to ``user`` (a new assistant turn under it); ``then(result)`` once it came."""
        self._reply_to(user, request, rerender)
        self._after_reply = then

    def confirm_rerun(self, warnings: list[str], run: Callable[[], None]) -> None:
        """Ask whether to re-run although the output may differ (``warnings`` say why)."""
        from desktop.ui.rerun_notice import ask_run_anyway

        self.rerun_question = ask_run_anyway(self, warnings, run,
                                             cancelled=lambda: self.set_status("Re-run cancelled."))

    def show_rerun_diff(self, recorded: str, new: str) -> None:
        """Show the recorded reply beside the re-run's, the differing words marked."""
        if self.rerun_diff is not None:
            self.rerun_diff.close()
        self.rerun_diff = RerunDiffDialog(recorded, new, self)
        self.rerun_diff.show()

    def _reply_to(self, user: Turn, request: TextRequest | None = None, rerender: bool = False) -> None:
        request = request or self._request_for(user)
        self._after_reply = None
        self._pending = self.thread.add("assistant", "", user.id)
        self._continuing = False
        if rerender:  # the selected branch changed above the reply
            self.transcript.show_thread(self.thread, streaming_last=True)
        else:
            self.transcript.append_turn(self._pending, streaming=True)
        self._submit_reply(request)

    def _submit_reply(self, request: TextRequest) -> None:
        self._clear_status()  # "stopped", a note or an error of the reply before is old news now
        self._max_tokens = request.sampling.max_tokens
        self.stats.setText("Waiting for the first token…")
        try:
            grounded = self.grounding.reply_job(request, self.engine)
        except GenLabError as exc:
            self._drop_pending(self._pending)
            self._pending = None
            self.set_status(str(exc))
            return
        job = grounded or Job("Chat reply", functools.partial(generate_job, self.engine, request), kind="engine",
                              reports_failure=True)
        handle = self._start("reply", job, on_finished=self._on_reply, on_progress=self._on_stream)
        if grounded is not None and self._pending is not None:
            self.grounding.watch(handle, self._pending.id)

    def continue_reply(self) -> None:
        """Generate on from the end of the last reply, which Max tokens cut; the text joins that reply."""
        reply = self.thread.last
        if reply is None or reply.role != "assistant" or reply.finish_reason != "length" or reply.parent is None:
            return
        if self.busy or self.engine.loaded is None:
            self.set_status("Load a model first." if self.engine.loaded is None else "A job is running.")
            return
        try:
            self.settings_panel.check()
            self.settings_panel.sampling().validated()
        except GenLabError as exc:
            self.set_status(str(exc))
            return
        user = self.thread.turns[reply.parent]
        request = replace(self._request_for(user), reply_so_far=reply.content, continues_record=reply.record_id)
        self._pending, self._continuing = reply, True
        self.transcript.show_thread(self.thread, streaming_last=True)
        self.transcript.stream(reply.content)  # the reply so far, then what comes
        self._submit_reply(request)

    def _continue_requested(self, turn_id: str) -> None:
        last = self.thread.last
        if last is not None and last.id == turn_id:
            self.continue_reply()

    def regenerate(self, turn_id: str) -> None:
        """Generate another reply for the same message; the old one stays as a branch."""
        turn = self.thread.turns.get(turn_id)
        if turn is None or self.busy or self.engine.loaded is None:
            return
        user = self.thread.turns[turn.parent] if turn.role == "assistant" else turn
        if user.role != "user":
            return
        try:
            self.settings_panel.check()
            self.settings_panel.sampling().validated()
        except GenLabError as exc:
            self.set_status(str(exc))
            return
        self._reply_to(user, rerender=True)

    def drop_oldest_and_send(self) -> None:
        """After an overflow: send again, dropping the oldest turns to fit."""
        overflow, self._overflow = self._overflow, None
        self.show_banner("")
        if overflow is None or self.busy:
            return
        user = self.thread.last
        if user is None or user.role != "user":
            return
        self._reply_to(user, replace(overflow.request, drop_oldest_turns=True))

    def stop(self) -> None:
        """Stop the running load or reply (Esc)."""
        if self._handle is not None:
            self._handle.cancel()
            self.set_status("Stopping…")

    # --- history records (ChatFromHistory) --------------------------------------------------------
    def continue_from_record(self, record: GenerationRecord, model_path: str | None = None) -> None:
        """Open a new chat seeded with ``record``'s conversation (see ChatFromHistory)."""
        self.history_actions.continue_from_record(record, model_path)

    def rerun_record(self, record: GenerationRecord, model_path: str) -> None:
        """Regenerate ``record`` exactly, as a branch beside its reply (see ChatFromHistory); a grounded
        record's re-run answers from the chunks it used."""
        self.grounding.expect_rerun(record)
        self.history_actions.rerun_record(record, model_path)

    # --- job plumbing ---------------------------------------------------------------------------
    def _start(self, kind: str, job: Job, on_finished, on_progress=None, after=None):
        """Submit ``job``; ``after()`` runs when it has ended (the workspace is no longer busy)."""
        def connect(handle) -> None:
            handle.finished.connect(on_finished)
            handle.failed.connect(self._on_failed)
            handle.cancelled.connect(self._on_cancelled)
            handle.ended.connect(self._on_ended)
            handle.started.connect(self._on_started)
            if on_progress is not None:
                handle.progressed.connect(on_progress)
            if after is not None:
                handle.ended.connect(after)  # connected after _on_ended, so it runs after it

        handle = submit_connected(self.runner, job, connect)
        self._handle, self._job = handle, kind
        if handle.state == "queued" and len(self.runner.engine_jobs()) > 1:
            self.set_status(f"{WAITING_FOR_QUEUE} (see the queue) to finish…")
        self._update_buttons()
        return handle

    def _on_started(self) -> None:
        self._clear_status(only=WAITING_FOR_QUEUE)

    # --- model card (read on the io lane) ---------------------------------------------------------
    def _inspect(self, path: str) -> None:
        def show(info) -> None:
            if self.model_bar.current_path() == path:
                loaded = self.engine.loaded
                self.model_bar.show_card(info, loaded if loaded is not None and str(loaded.path) == path else None)

        def fail(message: str, _tb: str) -> None:
            self._model_failed(path, message)

        def connect(handle) -> None:
            handle.finished.connect(show)
            handle.failed.connect(fail)

        job = Job("Read model info", functools.partial(read_info_job, path), kind="io", reports_failure=True)
        submit_connected(self.runner, job, connect)

    def _on_ended(self) -> None:
        self._handle, self._job, self._loading = None, "", ""
        self._update_buttons()

    def _on_stream(self, batch: list) -> None:
        chunks = [p.payload for p in batch if isinstance(p.payload, StreamChunk)]
        if not chunks:
            if batch[-1].message:  # "Reading the prompt (n / total tokens)"
                self.stats.setText(batch[-1].message)
            return
        self.transcript.stream("".join(c.text for c in chunks))
        line = live_line(chunks[-1])
        if line:
            self.stats.setText(line)

    def _on_reply(self, result) -> None:
        reply, self._pending = self._pending, None
        if isinstance(result, Overflow):
            self._drop_pending(reply)
            self._overflow = result
            self.show_banner(str(result.error), can_drop=result.error.can_drop_turns)
            self.set_status("The conversation does not fit the context; nothing was sent.")
            return
        if isinstance(result, NotAnswered):  # nothing relevant and "do not answer", or no room for a source
            self._drop_pending(reply)
            self.show_banner(self.grounding.not_answered_message(result))
            self.set_status("No reply: nothing to answer from.")
            return
        if not isinstance(result, TextResult):
            return
        reply.content = result.text
        reply.record_id = result.record_id
        reply.finish_reason = result.finish_reason
        reply.stats = {"ttft_s": result.ttft_s, "tokens_per_s": result.tokens_per_s,
                       "prompt_tokens": result.prompt_tokens, "completion_tokens": result.completion_tokens,
                       "n_ctx": result.n_ctx, "max_tokens": self._max_tokens}
        reply.note = self._reply_note(result)
        self._continuing = False
        self.transcript.finish_last(reply)
        self.stats.setText(stats_line(reply.stats))
        self.model_bar.show_speed(result.tokens_per_s)
        self.set_status(reply.note or "")
        self.thread_panel.touch(self.thread)
        after, self._after_reply = self._after_reply, None
        if after is not None:
            after(result)
        self.reply_finished.emit(result)

    def _reply_note(self, result: TextResult) -> str:
        """The reply's note, less the no-chat-template note (``mode_note``) the model card already shows."""
        return " ".join(n for n in (result.other_note, "stopped" if result.finish_reason == "cancelled" else "") if n)

    def _drop_pending(self, reply: Turn | None) -> None:
        """The reply did not come: remove its empty turn (a continued reply keeps its text)."""
        self._after_reply = None
        if reply is not None and not self._continuing and reply.id in self.thread.turns:
            self.thread.delete(reply.id)
        self._continuing = False
        self.transcript.show_thread(self.thread)
        self._show_thread_state()

    def _on_failed(self, message: str, _traceback: str) -> None:
        if self._job == "reply":
            self._drop_pending(self._pending)
            self._pending = None
            self.set_status(message)
            return
        if self.engine.loaded is None:  # a failed load may have freed the old model first
            self.model_bar.show_unloaded()
        if self._loading:
            self._clear_status(only="Loading ")
            self._model_failed(self._loading, message)
        else:
            self.set_status(message)

    def _model_failed(self, path: str, message: str) -> None:
        """Say once that ``path`` could not be read or loaded (see ChatModelBar.report_failure)."""
        if not self.model_bar.report_failure(path, message):
            self.set_status(message)  # a library model whose card is not on screen

    def _on_cancelled(self) -> None:
        if self._job == "reply":
            continuing = self._continuing
            self._drop_pending(self._pending)
            self._pending = None
            if continuing:
                self.set_status("Stopped; the reply is as it was before Continue.")
            else:
                self.set_status("Stopped before the reply began." if self.keep_partial
                                 else "Stopped; the partial reply was discarded.")
        else:
            self.set_status("Loading stopped; no model was loaded.")

    # --- per-turn actions --------------------------------------------------------------------------
    def _on_turn_action(self, action: str, turn_id: str) -> None:
        if turn_id not in self.thread.turns:
            return
        if action == "copy":
            QApplication.clipboard().setText(self.thread.turns[turn_id].content)
            self.set_status("Copied.")
        elif action == "edit":
            self.edit_turn(turn_id)
        elif action == "delete":
            self.delete_turn(turn_id)
        elif action == "regenerate":
            self.regenerate(turn_id)
        elif action in ("prev", "next") and not self.busy:
            self.thread.select_sibling(turn_id, -1 if action == "prev" else 1)
            self.transcript.show_thread(self.thread)
            self._show_thread_state()

    def edit_turn(self, turn_id: str) -> None:
        """Put a message back in the input; sending it creates a new branch."""
        turn = self.thread.turns[turn_id]
        if turn.role != "user":
            return
        self._editing = turn
        self.input.setPlainText(turn.content)
        self.input.setFocus()
        self.show_banner("Editing a message: sending creates a new branch and keeps the old one.")

    def delete_turn(self, turn_id: str) -> None:
        """Delete a turn and what follows it in the chat (the history keeps its records)."""
        if self.replying:
            return
        count = self.thread.delete(turn_id)
        self.transcript.show_thread(self.thread)
        self._show_thread_state()
        self.set_status(f"Deleted {count} message{'s' if count != 1 else ''} from this chat.")
