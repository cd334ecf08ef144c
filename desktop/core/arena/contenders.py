"""Who competes: a model, or a preset of one (text sampling values; an image scheduler or step count).

A contender's values use the ``genlab text`` / ``genlab image`` option names
and are checked like a sweep's (:func:`~desktop.core.experiments.params.check_type`),
so the arena refuses what the commands refuse.  The model is resolved by the
one rule of the commands and sweeps (:func:`~desktop.core.experiments.resolve.resolve_model_ref`),
which also takes a remote server's model (``remote:<source>/<model>``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from desktop.core.arena.errors import ArenaError
from desktop.core.experiments.params import KINDS, PARAMS, canonical_name, check_type
from desktop.core.experiments.resolve import resolve_model_ref
from desktop.core.models.remote import REMOTE_BADGE, display_name, is_remote_ref

# Values a preset may not set: the arena gives both sides the same prompt and seed.
NOT_PRESET = ("model", "prompt", "seed")
_NEXT_SETTING = re.compile(r"[,;\n]\s*(?=[A-Za-z_][\w-]*\s*=)")  # a comma that starts another KEY=


def preset_value(text: str) -> Any:
    """A preset value: JSON (numbers, lists) where it parses, else the text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_preset(text: str) -> dict[str, Any]:
    """``temperature=0.2, top_p=0.9`` (commas, semicolons or new lines between settings) as a dict; a comma
    inside a value (``stop=["a", "b"]``, ``system=Be brief, please``) stays in it.  Empty text: no preset."""
    values: dict[str, Any] = {}
    for item in _NEXT_SETTING.split(text.strip()) if text.strip() else []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ArenaError(f"A preset setting needs KEY=VALUE, not {item.strip()!r}.",
                             "For example: temperature=0.2, top_p=0.9")
        values[key.strip()] = preset_value(value.strip())
    return values


@dataclass(frozen=True, eq=False)
class Contender:
    """One side of the arena: ``label`` names it on the leaderboard.

    Compared by identity (a match holds two of the run's contenders); :attr:`key` says whether
    two are the same model and preset.
    """

    kind: str
    model: str  # as given (a path or a library name)
    path: Path
    values: dict[str, Any] = field(default_factory=dict)
    label: str = ""

    @property
    def key(self) -> tuple[str, str]:
        """What makes two contenders the same one: the model file (or remote reference) and the preset."""
        where = self.model if is_remote_ref(self.model) else str(self.path.expanduser().resolve())
        return where, json.dumps(self.values, sort_keys=True)


def default_label(path: Path, values: dict[str, Any]) -> str:
    """The model's file or folder name, plus the preset: ``SmolLM2 (temperature=0.2)``; a remote
    model's id, server and badge: ``llama3 @ gpu-box [remote]``."""
    if is_remote_ref(path):
        name = f"{display_name(path)} {REMOTE_BADGE}"
    else:
        name = path.stem if path.suffix else path.name
    if not values:
        return name
    return f"{name} ({', '.join(f'{k}={v}' for k, v in sorted(values.items()))})"


def make_contender(kind: str, model: str, values: dict[str, Any] | None = None, *, label: str = "",
                   resolve: Callable[[str], Path] = resolve_model_ref) -> Contender:
    """A checked contender of ``kind`` ("text" or "image"); raises ArenaError / InvalidParameter."""
    if kind not in KINDS:
        raise ArenaError(f"{kind!r} is not a kind of arena.", f"Use one of {', '.join(KINDS)}.")
    if not model.strip():
        raise ArenaError("A contender has no model.", "Name a model file or a model of the library.")
    checked: dict[str, Any] = {}
    for name, value in (values or {}).items():
        option = canonical_name(name)
        if option in NOT_PRESET or option not in PARAMS[kind]:
            allowed = ", ".join(n for n in PARAMS[kind] if n not in NOT_PRESET)
            raise ArenaError(f"{name!r} cannot be part of a {kind} contender's preset.", f"Use {allowed}.")
        check_type(kind, option, value)
        checked[option] = value
    path = resolve(model.strip())
    return Contender(kind, model.strip(), path, checked, label.strip() or default_label(path, checked))


def check_contenders(contenders: Sequence[Contender]) -> None:
    """Refuse fewer than two contenders, two of different kinds, two identical ones or two of one label."""
    if len(contenders) < 2:
        only = f" ({contenders[0].label})" if contenders else ""
        raise ArenaError(f"The arena needs two contenders; it got {len(contenders)}{only}.",
                         "Add a second model, or a preset of the same model with other values.")
    kinds = {c.kind for c in contenders}
    if len(kinds) > 1:
        raise ArenaError("Text and image contenders cannot meet in one arena.", "Pick contenders of one kind.")
    seen: dict[tuple[str, str], Contender] = {}
    labels: dict[str, Contender] = {}
    for contender in contenders:
        if contender.key in seen:
            raise ArenaError(f"Two contenders are the same: {contender.label} (the same model and values).",
                             "Pick another model, or give one of them other values (a preset).")
        if contender.label in labels:
            raise ArenaError(f"Two contenders are both named {contender.label!r}.", "Give them different names.")
        seen[contender.key] = labels[contender.label] = contender
