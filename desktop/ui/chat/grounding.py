"""Grounded replies in Chat: the thread's collections, the sources before the answer, [n] links after it.

A collaborator the Chat workspace owns (as it owns ChatFromHistory).  It
holds the :class:`~desktop.ui.chat.knowledge_bar.KnowledgeBar` and each
thread's choice (:class:`~desktop.ui.chat.grounding_choices.GroundingChoices`).
When the thread on screen answers from a collection, :meth:`reply_job`
gives the workspace the job to submit instead of a plain reply:
:func:`grounded_reply_job` retrieves the sources
(:func:`~desktop.core.knowledge.grounding.ground`), reports them at once as
a :class:`SourcesFound` progress payload, so the card above the reply shows
them before the first token, then generates and records the reply with
the chunk ids (:func:`~desktop.core.knowledge.grounding.grounded_generate`).
When it must not answer (nothing relevant under the "stop" policy, or no
room for even one chunk) the job returns :class:`NotAnswered` and the
workspace says why.

Every assistant card whose turn was grounded gets a
:class:`~desktop.ui.chat.sources_card.SourcesCard` above its text, and the
[n] in its text become links; a link or a source line opens the chunk in a
:class:`~desktop.ui.knowledge.chunk_popup.ChunkPopup` (its text, and a
button that opens the document; a history record shows its prompt and reply).
A reply of an earlier session gets the same once its record's chunks are
read back by id (:func:`recorded_sources`, on an ``io`` job).

Signals:
    sources_shown(object): the Grounding of the reply being generated, now on screen.
    citation_opened(object): the ChunkPopup just opened for a source.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from PySide6.QtCore import QObject, QUrl, Signal

from desktop.core.history.errors import RecordNotFound
from desktop.core.jobs import Job, Progress
from desktop.core.knowledge.budget import EstimatedBudget, budget_for
from desktop.core.knowledge.grounding import (
    Grounding,
    Source,
    ground,
    grounded_generate,
    recorded_knowledge,
    reground,
)
from desktop.core.knowledge.search import Hit
from desktop.core.records import GenerationRecord
from desktop.core.text.prompt import ContextOverflow, TextRequest
from desktop.ui.chat.grounding_choices import GroundingChoices, ThreadGrounding
from desktop.ui.chat.jobs import Overflow
from desktop.ui.chat.knowledge_bar import KnowledgeBar
from desktop.ui.chat.message_card import MessageCard
from desktop.ui.chat.message_text import RichText
from desktop.ui.chat.sources_card import CITE_SCHEME, SourcesCard, link_citations
from desktop.ui.knowledge.chunk_popup import ChunkPopup
from desktop.ui.knowledge.loader import CollectionsLoader

if TYPE_CHECKING:
    from desktop.core.knowledge.budget import TokenBudget
    from desktop.core.knowledge.store import Knowledge


READ_BACK_CONTEXT = 1_000_000  # reading a recorded reply's sources back is no fit check


@dataclass(frozen=True)
class SourcesFound:
    """The progress payload a grounded reply job reports before generating."""

    grounding: Grounding


@dataclass(frozen=True)
class NotAnswered:
    """A grounded reply job's result when it must not generate; ``grounding.message`` says why."""

    grounding: Grounding


def grounded_reply_job(engine, knowledge_of: Callable, history_of: Callable, request: TextRequest,
                       find: Callable[[Knowledge, TokenBudget], Grounding], *, cancel, progress):
    """Find the sources (``find``: :func:`ground` for a new reply, :func:`reground` for a re-run), report
    them, then generate (a TextResult), or say why not (NotAnswered)."""
    progress(Progress(None, "Looking for sources…"))
    grounding = find(knowledge_of(), budget_for(engine))
    found = len(grounding.sources)
    progress(Progress(None, f"{found} source{'s' if found != 1 else ''} found; waiting for the first token…"
                      if found else "No sources found.", payload=SourcesFound(grounding)))
    if not grounding.generate:
        return NotAnswered(grounding)
    cancel.raise_if_cancelled()
    try:
        return grounded_generate(engine, grounding, sink=history_of(), cancel=cancel, progress=progress)
    except ContextOverflow as exc:
        return Overflow(exc, request)


def recorded_sources(record: GenerationRecord, knowledge: Knowledge) -> Grounding | None:
    """The sources a recorded grounded reply used, read back by id (None: the reply was not grounded)."""
    if recorded_knowledge(record) is None:
        return None
    request = TextRequest(prompt=record.prompt, system_prompt=record.system_prompt)
    grounding = reground(record, request, knowledge, EstimatedBudget(n_ctx=READ_BACK_CONTEXT))
    gone = len(grounding.missing)
    grounding.message = (f"{gone} of the chunks this reply used {'has' if gone == 1 else 'have'} been deleted "
                         "since, so its numbers may not match the list." if gone else "")
    grounding.hint = ""
    return grounding


def source_hit(source: Source) -> Hit:
    """A source as the chunk it came from (what a ChunkPopup shows)."""
    return Hit(source.chunk_id, source.collection, source.path, source.location, source.char_start,
               source.char_end, source.score, source.text, source.page, source.heading)


class ChatGrounding(QObject):
    sources_shown = Signal(object)
    citation_opened = Signal(object)

    def __init__(self, services, runner, transcript, *, thread_id: Callable[[], str],
                 say: Callable[[str], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.runner = runner
        self.transcript = transcript
        self._thread_id = thread_id
        self._say = say
        self.bar = KnowledgeBar()
        self.choices = GroundingChoices()
        self.loader = CollectionsLoader(services, runner, self)
        self.popup: ChunkPopup | None = None
        self._by_turn: dict[str, Grounding] = {}  # assistant turn id -> the grounding of its reply
        self._pending_turn = ""
        self._rerun: GenerationRecord | None = None  # a grounded record whose re-run is on its way
        self._looked_up: set[str] = set()  # records whose sources were read back (or are being read)
        self.loader.loaded.connect(self.bar.set_available)
        self.loader.failed.connect(say)
        self.bar.menu_opened.connect(self.loader.load)
        self.bar.changed.connect(self._changed)
        transcript.add_card_decorator(self.decorate)
        self.loader.load()

    # --- the thread's choice ------------------------------------------------------------------
    def show_thread(self, thread_id: str) -> None:
        self.bar.show_choice(self.choices.get(thread_id))

    def _changed(self, choice: ThreadGrounding) -> None:
        try:
            self.choices.set(self._thread_id(), choice)
        except OSError as exc:
            self._say(f"Could not save this chat's collections to {self.choices.path}: {exc.strerror or exc}.")

    def forget(self, thread_ids) -> None:
        try:
            self.choices.forget(thread_ids)
        except OSError as exc:
            self._say(f"Could not update {self.choices.path}: {exc.strerror or exc}.")

    # --- replies ---------------------------------------------------------------------------
    def expect_rerun(self, record: GenerationRecord) -> None:
        """The next reply may be the re-run of ``record``: if it was grounded, the re-run uses the same chunks."""
        self._rerun = record if recorded_knowledge(record) is not None else None

    def reply_job(self, request: TextRequest, engine) -> Job | None:
        """The job that answers ``request`` from the thread's collections (or, for the re-run of a grounded
        record, from the chunks it used); None when it answers from none.

        Raises GenLabError when the bar's settings are refused (the workspace says it).
        """
        rerun, self._rerun = self._rerun, None
        services = self.services
        if rerun is not None and request.fresh_context and request.prompt == rerun.prompt:
            def find_again(knowledge, budget):
                return reground(rerun, request, knowledge, budget)

            find = find_again
        else:
            choice = self.bar.choice()
            if not choice.active:
                return None
            options = choice.options().validated()

            def find_new(knowledge, budget):
                return ground(request, options, knowledge, budget)

            find = find_new
        fn = functools.partial(grounded_reply_job, engine, lambda: services.knowledge, lambda: services.history,
                               request, find)
        return Job("Chat reply (grounded)", fn, kind="engine", reports_failure=True)

    def watch(self, handle, turn_id: str) -> None:
        """Follow the reply job for ``turn_id``: its sources go above it as soon as they are found."""
        self._pending_turn = turn_id
        handle.progressed.connect(self._on_progress)

    def _on_progress(self, batch: list) -> None:
        found = next((p.payload for p in batch if isinstance(p.payload, SourcesFound)), None)
        if found is None or not self._pending_turn:
            return
        self._by_turn[self._pending_turn] = found.grounding
        cards = self.transcript.cards()
        if cards and cards[-1].turn.id == self._pending_turn:
            self.decorate(cards[-1])
        self.sources_shown.emit(found.grounding)

    def grounding_of(self, turn_id: str) -> Grounding | None:
        return self._by_turn.get(turn_id)

    @staticmethod
    def not_answered_message(result: NotAnswered) -> str:
        g = result.grounding
        return " ".join(p for p in (g.message, g.hint) if p) or "There is nothing to answer from."

    # --- cards -------------------------------------------------------------------------------
    def decorate(self, card: MessageCard) -> None:
        """Put the sources above a grounded reply's text and link its [n] (the transcript calls this
        for every card it adds)."""
        grounding = self._by_turn.get(card.turn.id)
        if card.turn.role != "assistant":
            return
        if grounding is None:
            self._read_back(card.turn.id, card.turn.record_id)
            return
        old = card.findChild(SourcesCard)
        if old is not None and old.grounding is grounding:
            return
        if old is not None:
            old.deleteLater()
        sources = SourcesCard(grounding)
        sources.source_activated.connect(lambda n, turn=card.turn.id: self.open_citation(turn, n))
        layout = card.layout()
        layout.insertWidget(layout.indexOf(card.body), sources)  # above the reply's text
        if card.streaming:
            return
        numbers = {s.number for s in grounding.sources}
        for view in card.body.views():
            if isinstance(view, RichText):
                view.set_html(link_citations(view.source_html, numbers))
                view.anchorClicked.connect(lambda url, turn=card.turn.id: self._on_link(turn, url))

    def _read_back(self, turn_id: str, record_id: str) -> None:
        """A reply of an earlier session (its thread rebuilt from the history): if its record was grounded,
        read its chunks back by id, on an ``io`` job, and decorate its card when they come."""
        store = self.services.opened_history_store
        if not record_id or record_id in self._looked_up or store is None:
            return
        self._looked_up.add(record_id)
        services = self.services

        def work(*, cancel, progress):
            try:
                record = store.get(record_id)
            except RecordNotFound:  # a plain reply of this session, not written yet (grounded ones are known)
                return None
            return recorded_sources(record, services.knowledge)

        handle = self.runner.submit(Job("Read a reply's sources", work, kind="io", reports_failure=True))
        handle.finished.connect(lambda grounding: self._read_back_done(turn_id, grounding))

    def _read_back_done(self, turn_id: str, grounding: Grounding | None) -> None:
        if grounding is None:
            return
        self._by_turn.setdefault(turn_id, grounding)
        for card in self.transcript.cards():
            if card.turn.id == turn_id:
                self.decorate(card)

    def _on_link(self, turn_id: str, url: QUrl) -> None:
        if url.scheme() == CITE_SCHEME and url.path().isdigit():
            self.open_citation(turn_id, int(url.path()))

    def open_citation(self, turn_id: str, number: int) -> ChunkPopup | None:
        """Show source ``number`` of the reply ``turn_id`` in a popup; None when it has no such source."""
        grounding = self._by_turn.get(turn_id)
        source = next((s for s in grounding.sources if s.number == number), None) if grounding else None
        if source is None:
            self._say(f"This reply has no source [{number}].")
            return None
        if self.popup is not None:
            self.popup.close()
        self.popup = ChunkPopup(source_hit(source), self.transcript.window(), title=f"[{number}] {source.title}")
        self.popup.show()
        self.citation_opened.emit(self.popup)
        return self.popup
