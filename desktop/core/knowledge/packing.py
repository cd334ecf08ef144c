"""Putting numbered sources into a chat request, as many as the context holds.

The sources go into the user's message, before the question, each as
``[n] title (location)`` and its text; the system prompt asks the model to
answer from them and cite them as [n] (small models follow an instruction
next to the text better than one far from it, and the question stays last).
The record keeps the question and the person's own system prompt, not this
text: the chunks are kept by id (see :mod:`desktop.core.knowledge.grounding`).

Packing is greedy in score order: a source that does not fit is passed over
and a shorter one after it may still go in; sources are whole, never cut, so
a citation always points at exactly the text the model saw.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from desktop.core.text.prompt import TextRequest

if TYPE_CHECKING:
    from desktop.core.knowledge.budget import TokenBudget
    from desktop.core.knowledge.grounding import Source

PROMPT_FORMAT = 1  # recorded with a grounded reply; bump when the text below changes (re-runs compare)
SYSTEM_INSTRUCTION = (
    "Answer the question using the numbered sources given with it. After each fact you take from a "
    "source, cite it by its number in square brackets, like [1] or [2]. If the sources do not contain "
    "the answer, say that they do not.")


def source_block(number: int, title: str, location: str, text: str) -> str:
    where = f" ({location})" if location else ""
    return f"[{number}] {title}{where}\n{text.strip()}"


def grounded_request(request: TextRequest, sources: list[Source]) -> TextRequest:
    """``request`` with ``sources`` before its question and the citation instruction in its system prompt."""
    if not sources:
        return request
    blocks = "\n\n".join(source_block(s.number, s.title, s.location, s.text) for s in sources)
    system = SYSTEM_INSTRUCTION + (f"\n\n{request.system_prompt.strip()}" if request.system_prompt.strip() else "")
    prompt = f"Sources:\n\n{blocks}\n\nQuestion: {request.prompt.strip()}"
    return replace(request, prompt=prompt, system_prompt=system)


def pack(request: TextRequest, candidates: list[Source], budget: TokenBudget) -> tuple[list[Source], int | None]:
    """(the candidates that fit, renumbered 1..n in order; the prompt tokens with them).

    Prompt tokens are None when even the request without sources does not fit.
    """
    kept: list[Source] = []
    tokens = budget.prompt_tokens(grounded_request(request, []))
    if tokens is None:
        return [], None
    for candidate in candidates:
        trial = [*kept, replace(candidate, number=len(kept) + 1)]
        counted = budget.prompt_tokens(grounded_request(request, trial))
        if counted is not None:
            kept, tokens = trial, counted
    return kept, tokens
