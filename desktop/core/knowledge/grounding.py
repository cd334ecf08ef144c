"""Grounded chat: the chunks a reply is based on, found before it starts, and the request that cites them.

The flow, for the Chat workspace, ``genlab text --knowledge`` and the server::

    grounding = ground(request, GroundingOptions(("docs", "history")), knowledge, budget_for(engine))
    show(grounding.sources)          # before any token: the person sees what the reply rests on
    if grounding.generate:           # False: "stop" policy with nothing relevant, or no room for a chunk
        result = grounded_generate(engine, grounding, sink=history)
        report = parse_citations(result.text, grounding.sources)   # desktop.core.knowledge.citations

:func:`ground` searches every chosen collection with hybrid search (``k``
candidates each), re-scores all candidates with one measure so that scores
are comparable across collections (:mod:`~desktop.core.knowledge.relevance`:
cosine similarity to the question, or word overlap without an embedder),
drops those under ``threshold``, keeps the best ``k`` and packs as many as the
context holds (:mod:`~desktop.core.knowledge.packing`), numbered [1]..[n].
Its :class:`Grounding` says which of three things happened
(:class:`Outcome`) and carries the request to generate with.

:func:`grounded_generate` generates and records the reply with the person's
question and system prompt (not the packed text) and, under
``record.parameters["knowledge"]``, the collections, k, threshold and the ids
and scores of the chunks used.  :func:`reground` rebuilds that context for a
re-run from those ids (:meth:`Knowledge.chunks`), saying which chunks were
deleted since.  Qt-free; retrieval reads LanceDB and may embed, so run it on
a worker thread.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from desktop.core.jobs import CancelToken, ProgressCallback, no_progress
from desktop.core.knowledge import relevance
from desktop.core.knowledge.chunking import body_text
from desktop.core.knowledge.errors import CollectionNotFound, KnowledgeError
from desktop.core.knowledge.packing import PROMPT_FORMAT, pack
from desktop.core.knowledge.packing import grounded_request as _grounded_request
from desktop.core.knowledge.registry import HISTORY
from desktop.core.text.prompt import TextRequest

if TYPE_CHECKING:
    from desktop.core.knowledge.budget import ChatEngine, TokenBudget
    from desktop.core.knowledge.search import Hit
    from desktop.core.knowledge.store import Knowledge
    from desktop.core.records import GenerationRecord, HistorySink

R = TypeVar("R")
DEFAULT_K = 5
MAX_K = 50
DEFAULT_THRESHOLD = 0.30  # a similarity floor; see desktop.core.knowledge.relevance for why this value
ANSWER = "answer"  # nothing relevant: answer without context, and say so
STOP = "stop"  # nothing relevant: do not answer
NO_CONTEXT_POLICIES = (ANSWER, STOP)
PARAMETERS_KEY = "knowledge"  # the sub-dict of GenerationRecord.parameters a grounded reply fills
SNIPPET_CHARS = 240
HISTORY_SOURCE_CHARS = 1500  # a history record's prompt and reply, cut to about one chunk
TITLE_CHARS = 60


class Outcome(str, Enum):
    GROUNDED = "grounded"  # at least one source is in the request
    NOTHING_RELEVANT = "nothing_relevant"  # no chunk reached the threshold (or a re-run's were all deleted)
    CONTEXT_TOO_SMALL = "context_too_small"  # relevant chunks exist, but not even one fits the context


@dataclass(frozen=True)
class GroundingOptions:
    """What to ground a reply in: collection names (``"history"`` allowed), chunks, threshold, policy."""

    collections: tuple[str, ...]
    k: int = DEFAULT_K  # the most sources in one reply
    threshold: float = DEFAULT_THRESHOLD  # the lowest comparable score a source may have
    no_context: str = ANSWER  # ANSWER or STOP when nothing reaches the threshold

    def validated(self) -> GroundingOptions:
        names = tuple(dict.fromkeys(n.strip() for n in self.collections if n and n.strip()))
        if not names:
            raise KnowledgeError("No collection was chosen to answer from.",
                                 "Name one or more collections (genlab knowledge list shows them).")
        if isinstance(self.k, bool) or not isinstance(self.k, int) or not 1 <= self.k <= MAX_K:
            raise KnowledgeError(f"The number of chunks must be between 1 and {MAX_K}, not {self.k!r}.",
                                 f"{DEFAULT_K} is a good start.")
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, (int, float)) \
                or not 0.0 <= float(self.threshold) <= 1.0:
            raise KnowledgeError(f"The relevance threshold must be between 0 and 1, not {self.threshold!r}.",
                                 f"{DEFAULT_THRESHOLD} keeps chunks about the question; 0 keeps every chunk.")
        if self.no_context not in NO_CONTEXT_POLICIES:
            raise KnowledgeError(f"Unknown choice {self.no_context!r} for when nothing relevant is found.",
                                 f"Use one of: {', '.join(NO_CONTEXT_POLICIES)}.")
        return replace(self, collections=names, threshold=float(self.threshold))


@dataclass(frozen=True)
class Source:
    """One chunk in a grounded prompt, cited as ``[number]``.

    For the ``history`` collection ``chunk_id`` is the record id and ``path`` is empty;
    otherwise ``path`` is the document and ``page`` (PDF, from 1; 0 none) / ``heading`` locate it.
    """

    number: int
    collection: str
    chunk_id: str
    title: str  # the file name, or the start of a history record's prompt
    path: str
    location: str  # page or heading path as text ("" when none)
    score: float  # the comparable score (Grounding.score_kind); for a re-run, the recorded one
    snippet: str  # a short excerpt for the list shown before the reply
    text: str  # exactly what the model was given
    page: int = 0
    heading: str = ""
    char_start: int = 0
    char_end: int = 0

    @property
    def is_history(self) -> bool:
        return self.collection == HISTORY

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class MissingChunk:
    """A chunk a recorded reply used that is no longer there (its file or collection was deleted)."""

    collection: str
    chunk_id: str
    number: int


@dataclass
class Grounding:
    """What :func:`ground` / :func:`reground` found, and the request to generate with.

    ``request`` is None when the reply must not be generated (``generate`` is False):
    nothing relevant under the ``stop`` policy, or no room for even one chunk.
    ``message`` and ``hint`` say, in words for the person, what happened when it
    was not a plain success (nothing relevant, too small a context, sources left
    out for room, chunks deleted since the recorded reply).
    """

    outcome: Outcome
    question: str
    options: GroundingOptions
    sources: list[Source]
    request: TextRequest | None
    system_prompt: str = ""  # the person's own system prompt (the request's has the instruction too)
    score_kind: str = relevance.SIMILARITY
    n_ctx: int = 0
    exact_tokens: bool = False  # counted by the loaded model's tokenizer (else estimated)
    prompt_tokens: int | None = None
    candidates: int = 0  # chunks retrieved from all collections
    below_threshold: int = 0
    not_fitted: int = 0  # above the threshold but left out: no room in the context
    message: str = ""
    hint: str = ""
    missing: list[MissingChunk] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # per collection: empty, not searched semantically...

    @property
    def generate(self) -> bool:
        return self.request is not None

    def parameters(self) -> dict[str, Any]:
        """The ``record.parameters["knowledge"]`` of the reply generated from this grounding."""
        return {
            "collections": list(self.options.collections), "k": self.options.k,
            "threshold": self.options.threshold, "no_context": self.options.no_context,
            "outcome": self.outcome.value, "score_kind": self.score_kind, "format": PROMPT_FORMAT,
            "chunks": [{"collection": s.collection, "id": s.chunk_id, "score": round(s.score, 6)}
                       for s in self.sources],
        }

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON (the CLI's --json, the server's ``genlab`` response field)."""
        return {
            "outcome": self.outcome.value, "message": self.message, "hint": self.hint,
            "collections": list(self.options.collections), "k": self.options.k,
            "threshold": self.options.threshold, "score_kind": self.score_kind, "n_ctx": self.n_ctx,
            "candidates": self.candidates, "below_threshold": self.below_threshold,
            "not_fitted": self.not_fitted, "sources": [s.to_dict() for s in self.sources],
            "missing": [asdict(m) for m in self.missing], "notes": list(self.notes),
        }


def ground(request: TextRequest, options: GroundingOptions, knowledge: Knowledge,
           budget: TokenBudget) -> Grounding:
    """Retrieve, threshold and pack the sources for ``request.prompt`` (see the module docstring).

    Raises KnowledgeError for an unknown collection, one never indexed, or the
    history when it is not open; an indexed collection with no chunks is a note.
    """
    options = options.validated()
    request.validated()
    question = request.prompt.strip()
    for name in options.collections:  # every name checked before any search
        knowledge.get(name)
    candidates, score_kind, notes = _retrieve(question, options, knowledge)
    relevant = [c for c in candidates if c.score >= options.threshold]
    base = Grounding(Outcome.NOTHING_RELEVANT, question, options, [], None, request.system_prompt, score_kind,
                     budget.n_ctx, budget.exact, candidates=len(candidates),
                     below_threshold=len(candidates) - len(relevant), notes=notes)
    if not relevant:
        return _nothing_relevant(base, request, budget)
    best = relevant[:options.k]
    sources, tokens = pack(request, best, budget)
    if not sources:
        return _too_small(base, request, best[0], budget)
    base.outcome, base.sources, base.prompt_tokens = Outcome.GROUNDED, sources, tokens
    base.request = _grounded_request(request, sources)
    base.not_fitted = len(best) - len(sources)
    if base.not_fitted:
        base.message = (f"{base.not_fitted} of the {len(best)} relevant chunks were left out: the context of "
                        f"{budget.n_ctx:,} tokens has no room for them.")
        base.hint = "Load the model with a larger context, or lower max tokens, to give the reply more sources."
    return base


def _retrieve(question: str, options: GroundingOptions,
              knowledge: Knowledge) -> tuple[list[Source], str, list[str]]:
    """Every collection's ``k`` best by hybrid search, re-scored comparably, best first."""
    hits: list[tuple[int, int, Hit]] = []  # (collection order, rank in it, hit)
    notes: list[str] = []
    for order, name in enumerate(options.collections):
        collection = knowledge.get(name)
        if not collection.is_history and collection.state.complete and collection.state.chunks == 0:
            notes.append(f"The collection {name!r} has no chunks: its folders hold no readable documents.")
            continue
        found = knowledge.search(name, question, options.k)
        if not found:
            notes.append(f"Nothing in {name!r} matched the question.")
        hits += [(order, rank, hit) for rank, hit in enumerate(found)]
    scores, kind = relevance.score(question, [_source_text(h) for _, _, h in hits], knowledge.embedder)
    if kind == relevance.WORD_OVERLAP and knowledge.embedder is not None:
        notes.append("The embedding model is not available, so relevance is the share of the question's "
                     "words found in each chunk.")
    ranked = sorted(zip(scores, hits), key=lambda sh: (-sh[0], sh[1][1], sh[1][0]))
    return [_source(0, hit, s, question) for s, (_, _, hit) in ranked], kind, notes


def _nothing_relevant(base: Grounding, request: TextRequest, budget: TokenBudget) -> Grounding:
    names = ", ".join(repr(n) for n in base.options.collections)
    what = f"no chunk reached the relevance threshold of {base.options.threshold:.2f}" if base.candidates \
        else "nothing matched"
    if base.options.no_context == ANSWER:
        base.request = request
        base.prompt_tokens = budget.prompt_tokens(request)
        base.message = f"Nothing relevant was found in {names} ({what}); answering without them."
        base.hint = "Lower the threshold or choose other collections to answer from your documents."
    else:
        base.message = f"Nothing relevant was found in {names} ({what}), so there is no answer."
        base.hint = "Lower the threshold, choose other collections, or allow answering without context."
    return base


def _too_small(base: Grounding, request: TextRequest, first: Source, budget: TokenBudget) -> Grounding:
    base.outcome = Outcome.CONTEXT_TOO_SMALL
    alone = budget.prompt_tokens(request)
    room = f"; the question alone takes {alone:,}" if alone is not None else ""
    base.message = (f"The model's context of {budget.n_ctx:,} tokens is too small for even one relevant chunk "
                    f"(the best, from {first.title}, does not fit with the question and up to "
                    f"{request.sampling.max_tokens:,} tokens of reply{room}).")
    base.hint = ("Load the model with a larger context (Context in Chat, --ctx in genlab text), "
                 "or lower max tokens.")
    return base


def _source_text(hit: Hit) -> str:
    return hit.text[:HISTORY_SOURCE_CHARS] if hit.collection == HISTORY else hit.text


def _title(hit: Hit) -> str:
    if hit.collection != HISTORY:
        return Path(hit.path).name or hit.path
    first = hit.text.strip().splitlines()[0] if hit.text.strip() else "a history record"
    return first if len(first) <= TITLE_CHARS else first[:TITLE_CHARS - 1].rstrip() + "…"


def _snippet(text: str, question: str) -> str:
    flat = re.sub(r"\s+", " ", text).strip()
    words = relevance.content_words(question)
    start = 0
    for m in re.finditer(r"\w+", flat):
        if m.group().lower() in words:
            start = max(0, m.start() - SNIPPET_CHARS // 4)
            break
    if start:
        space = flat.find(" ", start)
        start = space + 1 if 0 <= space < start + 20 else start
    piece = flat[start:start + SNIPPET_CHARS]
    return ("…" if start else "") + piece + ("…" if start + SNIPPET_CHARS < len(flat) else "")


def _source(number: int, hit: Hit, score: float, question: str) -> Source:
    text = _source_text(hit)
    shown = text if hit.collection == HISTORY else body_text(text, hit.heading)
    return Source(number, hit.collection, hit.chunk_id, _title(hit), hit.path, hit.location, float(score),
                  _snippet(shown, question), text, hit.page, hit.heading, hit.char_start, hit.char_end)


# --- recorded replies --------------------------------------------------------------------

def recorded_knowledge(record: GenerationRecord) -> dict[str, Any] | None:
    """The ``knowledge`` parameters of a grounded reply's record, or None for an ordinary one."""
    found = (record.parameters or {}).get(PARAMETERS_KEY)
    return found if isinstance(found, dict) else None


def reground(record: GenerationRecord, request: TextRequest, knowledge: Knowledge,
             budget: TokenBudget) -> Grounding:
    """The grounding a re-run of ``record`` uses: the same chunks, fetched by id, in the same order.

    ``request`` is the re-run's plain request (the record's question and system
    prompt).  Chunks deleted since are left out and listed in ``missing``,
    with a ``message`` saying so; the re-run then cannot match the record.
    """
    params = recorded_knowledge(record)
    if params is None:
        raise KnowledgeError("This reply was not grounded in any collection.")
    chunks = [c for c in params.get("chunks") or [] if isinstance(c, dict)]
    options = GroundingOptions(tuple(params.get("collections") or ()) or (HISTORY,), int(params.get("k") or DEFAULT_K),
                               float(params.get("threshold", DEFAULT_THRESHOLD)),
                               str(params.get("no_context") or ANSWER))
    found: dict[tuple[str, str], Hit] = {}
    for name in dict.fromkeys(str(c.get("collection", "")) for c in chunks):
        ids = [str(c.get("id", "")) for c in chunks if c.get("collection") == name]
        try:
            found.update({(name, h.chunk_id): h for h in knowledge.chunks(name, ids)})
        except CollectionNotFound:
            continue
    sources: list[Source] = []
    missing: list[MissingChunk] = []
    for number, chunk in enumerate(chunks, start=1):
        key = (str(chunk.get("collection", "")), str(chunk.get("id", "")))
        hit = found.get(key)
        if hit is None:
            missing.append(MissingChunk(key[0], key[1], number))
        else:
            sources.append(_source(len(sources) + 1, hit, float(chunk.get("score") or 0.0), request.prompt))
    grounding = Grounding(Outcome.GROUNDED if sources else Outcome.NOTHING_RELEVANT, request.prompt.strip(),
                          options, sources, _grounded_request(request, sources), request.system_prompt,
                          str(params.get("score_kind") or relevance.SIMILARITY), budget.n_ctx, budget.exact,
                          candidates=len(chunks), missing=missing)
    grounding.prompt_tokens = budget.prompt_tokens(grounding.request) if grounding.request else None
    if missing:
        gone = ", ".join(f"[{m.number}] {m.chunk_id[:12]} in {m.collection!r}" for m in missing)
        grounding.message = (f"{len(missing)} of the {len(chunks)} chunks this reply was based on "
                             f"{'has' if len(missing) == 1 else 'have'} been deleted since ({gone}), so the "
                             "re-run has less context and will likely differ.")
        grounding.hint = "Re-index or restore the documents to re-run it exactly."
    if sources and grounding.prompt_tokens is None:
        grounding.outcome, grounding.request = Outcome.CONTEXT_TOO_SMALL, None
        grounding.message = (f"The recorded sources no longer fit the model's context of {budget.n_ctx:,} tokens."
                             + (f" {grounding.message}" if grounding.message else ""))
        grounding.hint = "Load the model with the context size the record was made with."
    return grounding


# --- generating --------------------------------------------------------------------------

class GroundedSink:
    """Records a grounded reply as the person asked it: their question and system prompt, with the
    chunk ids under ``parameters["knowledge"]``, then hands it on to ``inner``."""

    def __init__(self, inner: HistorySink, grounding: Grounding) -> None:
        self.inner = inner
        self.grounding = grounding

    def save(self, record: GenerationRecord) -> None:
        annotate_record(record, self.grounding)
        self.inner.save(record)


def annotate_record(record: GenerationRecord, grounding: Grounding) -> GenerationRecord:
    """Put ``record`` (made from ``grounding.request``) back in the person's words, with the chunk ids."""
    record.prompt = grounding.question
    record.system_prompt = grounding.system_prompt
    record.parameters = {**(record.parameters or {}), PARAMETERS_KEY: grounding.parameters()}
    return record


def grounded_generate(engine: ChatEngine[R], grounding: Grounding, *, sink: HistorySink,
                      cancel: CancelToken | None = None, progress: ProgressCallback = no_progress) -> R:
    """Generate the reply of a grounding whose ``generate`` is True; a job function (progress: StreamChunks).

    ``engine``: the text engine (its TextResult is returned).

    ``sink``: where the record goes (the app's history, a command's store); it
    is recorded through :class:`GroundedSink`.  Raises KnowledgeError with the
    grounding's message when it must not generate.
    """
    if grounding.request is None:
        raise KnowledgeError(grounding.message or "There is nothing to answer from.", grounding.hint)
    return engine.generate(grounding.request, cancel=cancel, progress=progress, sink=GroundedSink(sink, grounding))
