"""How many tokens a prompt takes, for packing sources into the model's context.

:class:`EngineBudget` asks the loaded model itself: it builds the prompt with
the engine's own :class:`~desktop.core.text.prompt.PromptBuilder` (the chat
template and the real tokenizer of the loaded Llama), so a prompt it accepts
is one the engine will accept.  :class:`EstimatedBudget` is the fallback when
no model is loaded yet (sources shown before a model is chosen, the server
before its first load) or the loaded one cannot count (a remote server's
model, which tokenizes on its own machine and reports a context of 0): a
deliberately pessimistic estimate, so what it packs still fits once the real
tokenizer counts it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from desktop.core.text.prompt import ContextOverflow, PromptPlan, TextRequest

if TYPE_CHECKING:
    from desktop.core.jobs import CancelToken, ProgressCallback
    from desktop.core.records import HistorySink

# Llama-family tokenizers average about 4 characters of English prose per token and 2.5-3 for code
# or non-Latin text; counting 2.5 overestimates nearly every prompt, which is the safe side.
CHARS_PER_TOKEN = 2.5
TEMPLATE_TOKENS_PER_MESSAGE = 8  # role markers and separators of a typical chat template
ESTIMATE_CONTEXT = 2048  # the context assumed when nothing says how large it is


R = TypeVar("R", covariant=True)


class ChatEngine(Protocol[R]):
    """What grounding needs of the text engine (:class:`desktop.core.text.engine.TextEngine`), which
    it is handed: knowledge never imports the engine."""

    @property
    def loaded(self) -> Any:
        """The loaded model (with ``n_ctx``), or None."""
        ...

    def prepare(self, request: TextRequest) -> PromptPlan: ...

    def generate(self, request: TextRequest, *, cancel: CancelToken | None = None,
                 progress: ProgressCallback = ..., sink: HistorySink | None = None) -> R: ...


class TokenBudget(Protocol):
    """Counts a request's prompt tokens against a context of ``n_ctx`` tokens."""

    @property
    def n_ctx(self) -> int: ...

    @property
    def exact(self) -> bool:
        """True when counted by the loaded model's tokenizer, False for an estimate."""
        ...

    def prompt_tokens(self, request: TextRequest) -> int | None:
        """The request's prompt tokens, or None when prompt + ``max_tokens`` do not fit ``n_ctx``."""
        ...


class EngineBudget:
    """Counts with the loaded model: exactly the tokens :meth:`TextEngine.generate` would send."""

    exact = True

    def __init__(self, engine: ChatEngine[Any]) -> None:
        loaded = engine.loaded
        if loaded is None:
            from desktop.core.errors import ModelFileError

            raise ModelFileError("No model is loaded.", "Load a GGUF model first.")
        self._engine = engine
        self._n_ctx = loaded.n_ctx

    @property
    def n_ctx(self) -> int:
        return self._n_ctx

    def prompt_tokens(self, request: TextRequest) -> int | None:
        try:
            return len(self._engine.prepare(request).tokens)
        except ContextOverflow:
            return None


@dataclass(frozen=True)
class EstimatedBudget:
    """A safe estimate when no model is loaded: characters / ``CHARS_PER_TOKEN`` plus template overhead."""

    n_ctx: int = ESTIMATE_CONTEXT
    exact: bool = False

    def prompt_tokens(self, request: TextRequest) -> int | None:
        texts = [request.system_prompt, request.prompt, request.reply_so_far, *(m.content for m in request.history)]
        messages = 2 + len(request.history)
        tokens = int(sum(len(t) for t in texts) / CHARS_PER_TOKEN) + TEMPLATE_TOKENS_PER_MESSAGE * messages
        return tokens if tokens + request.sampling.max_tokens <= self.n_ctx else None


def budget_for(engine: ChatEngine[Any] | None, n_ctx: int = ESTIMATE_CONTEXT) -> TokenBudget:
    """The engine's exact budget when its loaded model counts tokens here, else an estimate for
    ``n_ctx`` (no model loaded, or a remote one: its context is 0, unknown)."""
    loaded = engine.loaded if engine is not None else None
    if engine is not None and loaded is not None and loaded.n_ctx > 0:
        return EngineBudget(engine)
    return EstimatedBudget(n_ctx)
