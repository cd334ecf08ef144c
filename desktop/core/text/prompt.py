"""What is sent to the model: a request, and the prompt it becomes.

A :class:`TextRequest` is the new user message plus the earlier turns of the
thread, a system prompt and sampling parameters.  :class:`PromptBuilder`
turns it into prompt tokens: through the model's own Jinja chat template
(rendered exactly as llama-cpp-python renders ``tokenizer.chat_template``)
in chat mode, or as plain text in completion mode, which is also the
fallback, with a note, for models without a template.  It then checks the
context budget and either drops the oldest turns (when asked) or raises
:class:`ContextOverflow`: a conversation is never silently truncated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from desktop.core.errors import GenLabError, InvalidParameter
from desktop.core.text.params import SamplingParams

MODES = ("auto", "chat", "completion")
NO_TEMPLATE_NOTE = "This model has no chat template, so the text is sent as a plain completion."


class ContextOverflow(GenLabError):
    """The prompt plus the reply budget do not fit the model's context.

    ``can_drop_turns`` says whether dropping the oldest turns would make room.
    """

    def __init__(self, message: str, hint: str, *, prompt_tokens: int, n_ctx: int,
                 max_tokens: int, can_drop_turns: bool) -> None:
        super().__init__(message, hint)
        self.prompt_tokens = prompt_tokens
        self.n_ctx = n_ctx
        self.max_tokens = max_tokens
        self.can_drop_turns = can_drop_turns


@dataclass
class ChatMessage:
    role: str  # "user" | "assistant"
    content: str


@dataclass
class TextRequest:
    """One generation: ``prompt`` is the new user message (chat) or the text to continue."""

    prompt: str
    history: list[ChatMessage] = field(default_factory=list)
    system_prompt: str = ""
    mode: str = "auto"
    sampling: SamplingParams = field(default_factory=SamplingParams)
    thread_id: str = ""
    parent_id: str = ""
    keep_partial: bool = True  # on stop: return (and record) what was generated so far
    drop_oldest_turns: bool = False  # on overflow: drop old turns instead of refusing
    # Continue a reply that Max tokens cut: the reply so far is put after the prompt (the
    # assistant's turn already begun), and its history record is the one continued.
    reply_so_far: str = ""
    continues_record: str = ""
    # Evaluate the whole prompt anew, keeping nothing the model holds: an exact re-run asks for
    # it, so its reply cannot depend on the cache (the engine's reuse rule keeps it equal anyway).
    fresh_context: bool = False

    def validated(self) -> "TextRequest":
        if not isinstance(self.prompt, str) or not self.prompt.strip():
            raise InvalidParameter("The prompt is empty.", "Type a message before sending.")
        if self.mode not in MODES:
            raise InvalidParameter(f"Unknown mode {self.mode!r}.", f"Use one of: {', '.join(MODES)}.")
        self.sampling.validated()
        return self


@dataclass
class PromptPlan:
    mode: str  # the mode actually used: "chat" | "completion"
    tokens: list[int]
    stop: list[str]
    mode_note: str = ""  # why the mode differs from the one asked for (the model has no chat template)
    fit_note: str = ""  # what was left out to fit the context
    dropped_turns: int = 0
    history: list[ChatMessage] = field(default_factory=list)  # what was actually sent

    @property
    def note(self) -> str:
        return " ".join(n for n in (self.mode_note, self.fit_note) if n)


def completion_text(request: TextRequest, history: list[ChatMessage]) -> str:
    """Plain text for completion mode: the system prompt, earlier turns, then the prompt.

    Each reply continues the text before it, so turns are joined without labels.
    """
    parts = []
    if request.system_prompt.strip():
        parts.append(request.system_prompt.rstrip() + "\n\n")
    for message in history:
        parts.append(message.content)
        if message.role == "assistant":
            parts.append("\n")
    parts.append(request.prompt)
    return "".join(parts)


class PromptBuilder:
    """Builds prompt tokens for one loaded model.

    ``tokenize(bytes, add_bos, special)`` is the model's tokenizer;
    ``formatter`` is a llama-cpp-python ``Jinja2ChatFormatter`` or None.
    """

    def __init__(self, tokenize: Callable[[bytes, bool, bool], list[int]], n_ctx: int,
                 formatter: Any | None, template_note: str = "") -> None:
        self._tokenize = tokenize
        self.n_ctx = n_ctx
        self.formatter = formatter
        self.template_note = template_note or NO_TEMPLATE_NOTE

    @property
    def has_chat(self) -> bool:
        return self.formatter is not None

    def resolve_mode(self, requested: str) -> tuple[str, str]:
        """(mode used, note): chat falls back to completion when there is no template."""
        if requested == "completion":
            return "completion", ""
        if self.formatter is None:
            return "completion", self.template_note
        return "chat", ""

    def _tokens(self, request: TextRequest, mode: str, history: list[ChatMessage]) -> tuple[list[int], list[str]]:
        stop = list(request.sampling.stop)
        if mode == "completion":
            text = completion_text(request, history) + request.reply_so_far
            return self._tokenize(text.encode("utf-8"), True, True), stop
        messages = []
        if request.system_prompt.strip():
            messages.append({"role": "system", "content": request.system_prompt})
        messages += [{"role": m.role, "content": m.content} for m in history]
        messages.append({"role": "user", "content": request.prompt})
        formatter = self.formatter
        assert formatter is not None  # resolve_mode chose chat, which needs the template
        try:
            result = formatter(messages=messages)
        except Exception as exc:  # the template's raise_exception() or a Jinja error
            raise InvalidParameter(f"The model's chat template refused this conversation: {exc}",
                                   "Remove the system prompt or use completion mode.") from exc
        prompt = result.prompt + request.reply_so_far  # the template opened the assistant's turn
        tokens = self._tokenize(prompt.encode("utf-8"), not result.added_special, True)
        rstop = result.stop if isinstance(result.stop, list) else [result.stop] if result.stop else []
        return tokens, stop + [s for s in rstop if s]

    def build(self, request: TextRequest) -> PromptPlan:
        """Prompt tokens that leave room for ``max_tokens``; raises ContextOverflow otherwise."""
        mode, mode_note = self.resolve_mode(request.mode)
        history = list(request.history)
        max_tokens = request.sampling.max_tokens
        tokens, stop = self._tokens(request, mode, history)
        dropped = 0
        while len(tokens) + max_tokens > self.n_ctx and request.drop_oldest_turns and history:
            # Drop a whole exchange (user + reply) at a time, oldest first.
            cut = 2 if len(history) >= 2 and history[1].role == "assistant" else 1
            history = history[cut:]
            dropped += cut
            tokens, stop = self._tokens(request, mode, history)
        if len(tokens) + max_tokens > self.n_ctx:
            raise self._overflow(len(tokens), max_tokens, bool(history))
        fit_note = (f"Dropped the {dropped} oldest messages to fit the context of {self.n_ctx:,} tokens."
                    if dropped else "")
        return PromptPlan(mode, tokens, stop, mode_note, fit_note, dropped, history)

    def _overflow(self, prompt_tokens: int, max_tokens: int, has_history: bool) -> ContextOverflow:
        what = "conversation" if has_history else "prompt"
        if prompt_tokens >= self.n_ctx:
            message = (f"The {what} is {prompt_tokens:,} tokens, more than the model's context of "
                       f"{self.n_ctx:,} tokens.")
        else:
            message = (f"The {what} needs {prompt_tokens + max_tokens:,} tokens ({prompt_tokens:,} of prompt "
                       f"+ up to {max_tokens:,} of reply) but the context holds {self.n_ctx:,}.")
        hints = ["drop the oldest turns"] if has_history else []
        if prompt_tokens < self.n_ctx:
            hints.append(f"lower max tokens to {self.n_ctx - prompt_tokens:,} or less")
        hints += ["shorten the prompt", "load the model with a larger context size"]
        hint = "You can " + ", ".join(hints[:-1]) + " or " + hints[-1] + "."
        return ContextOverflow(message, hint, prompt_tokens=prompt_tokens, n_ctx=self.n_ctx,
                               max_tokens=max_tokens, can_drop_turns=has_history)
