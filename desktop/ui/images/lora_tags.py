"""Edits of the ``<lora:name:weight>`` tags in a prompt, for the LoRA panel (no Qt).

The tags are read with the engine's own pattern and parser
(:data:`desktop.core.image.lora.LORA_TAG`, :func:`split_prompt_loras`), so the
panel and the engine never disagree about what a prompt asks for.  Writing
follows A1111: ``<lora:stem:0.8>``, the weight with at most two decimals.
"""

from __future__ import annotations

import re

from desktop.core.image.lora import LORA_TAG, LoraTag, split_prompt_loras


def format_weight(weight: float) -> str:
    return f"{round(weight, 2):g}"


def format_tag(name: str, weight: float) -> str:
    return f"<lora:{name}:{format_weight(weight)}>"


def prompt_tags(prompt: str) -> list[LoraTag]:
    """The prompt's tags, one per name (the last one wins, as in the engine); raises on a bad weight."""
    _, tags = split_prompt_loras(prompt)
    last = {tag.name: tag for tag in tags}
    return [last[name] for name in dict.fromkeys(tag.name for tag in tags)]


def _matches(prompt: str, name: str) -> list[re.Match[str]]:
    return [m for m in LORA_TAG.finditer(prompt) if m.group(1).strip() == name]


def set_weight(prompt: str, name: str, weight: float) -> str:
    """Every tag of ``name`` with ``weight`` (its other text kept)."""
    out, end = [], 0
    for match in _matches(prompt, name):
        out += [prompt[end:match.start()], format_tag(name, weight)]
        end = match.end()
    return "".join(out) + prompt[end:]


def remove_tag(prompt: str, name: str) -> str:
    """The prompt without the tags of ``name``, and without the space each one left."""
    for match in reversed(_matches(prompt, name)):
        start, end = match.start(), match.end()
        if start > 0 and prompt[start - 1] == " ":
            start -= 1
        elif end < len(prompt) and prompt[end] == " ":
            end += 1
        prompt = prompt[:start] + prompt[end:]
    return prompt


def add_tag(prompt: str, name: str, weight: float) -> str:
    """``prompt`` with a tag for ``name`` at its end (or its existing tags set to ``weight``)."""
    if _matches(prompt, name):
        return set_weight(prompt, name, weight)
    tag = format_tag(name, weight)
    if not prompt.strip():
        return tag
    return prompt + tag if prompt.endswith((" ", "\n")) else f"{prompt} {tag}"
