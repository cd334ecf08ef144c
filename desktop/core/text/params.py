"""Sampling parameters for text generation, their validation and named presets.

:class:`SamplingParams` holds what llama.cpp's sampler takes; ``validated()``
refuses out-of-range values with a message naming the field, the value and
the allowed range.  Presets are plain dicts kept in
``settings.text.presets`` next to a few built-in ones that cannot be deleted.
"""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from desktop.core.errors import InvalidParameter
from desktop.core.settings import Settings

MAX_SEED = 2**32 - 1
# Seeds GenLab picks itself stay below 2**31 so every widget can show them exactly.
RANDOM_SEED_MAX = 2**31 - 1
MAX_STOP_STRINGS = 16


@dataclass
class SamplingParams:
    """How the next token is chosen.  ``temperature == 0`` is greedy and deterministic;
    ``seed == -1`` means "pick one", and the picked seed is recorded."""

    temperature: float = 0.8
    top_k: int = 40
    top_p: float = 0.95
    min_p: float = 0.05
    repeat_penalty: float = 1.1
    max_tokens: int = 512
    seed: int = -1
    stop: list[str] = field(default_factory=list)

    def validated(self) -> "SamplingParams":
        """This object if every value is in range; else raise InvalidParameter."""
        def bad(name: str, value: Any, allowed: str) -> InvalidParameter:
            return InvalidParameter(f"{name} is {value!r}, but it must be {allowed}.",
                                    f"Set {name} to a value {allowed}.")

        for name in ("temperature", "top_p", "min_p", "repeat_penalty"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise bad(name, value, "a finite number")
        for name in ("top_k", "max_tokens", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise bad(name, value, "a whole number")
        if not 0 <= self.temperature <= 10:
            raise bad("temperature", self.temperature, "between 0 and 10 (0 is greedy)")
        if not 0 < self.top_p <= 1:
            raise bad("top_p", self.top_p, "greater than 0 and at most 1")
        if not 0 <= self.min_p <= 1:
            raise bad("min_p", self.min_p, "between 0 and 1")
        if self.top_k < 0:
            raise bad("top_k", self.top_k, "0 (off) or more")
        if not 0 < self.repeat_penalty <= 10:
            raise bad("repeat_penalty", self.repeat_penalty, "greater than 0 and at most 10 (1 is off)")
        if self.max_tokens < 1:
            raise bad("max_tokens", self.max_tokens, "at least 1")
        if not -1 <= self.seed <= MAX_SEED:
            raise bad("seed", self.seed, f"-1 (random) or between 0 and {MAX_SEED}")
        if not isinstance(self.stop, list) or not all(isinstance(s, str) for s in self.stop):
            raise bad("stop", self.stop, "a list of strings")
        if any(s == "" for s in self.stop):
            raise InvalidParameter("A stop string is empty.", "Remove the empty stop string.")
        if len(self.stop) > MAX_STOP_STRINGS:
            raise bad("stop", f"{len(self.stop)} strings", f"at most {MAX_STOP_STRINGS} strings")
        return self

    def with_seed(self) -> "SamplingParams":
        """A copy with a concrete seed: a random one when ``seed`` is -1."""
        if self.seed >= 0:
            return replace(self, stop=list(self.stop))
        return replace(self, seed=random.randint(0, RANDOM_SEED_MAX), stop=list(self.stop))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SamplingParams":
        """Build from a dict, ignoring unknown keys; validation is left to ``validated()``."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


GREEDY = SamplingParams(temperature=0.0, top_k=40, top_p=0.95, min_p=0.05, repeat_penalty=1.0, seed=0)

BUILTIN_PRESETS: dict[str, SamplingParams] = {
    "Balanced": SamplingParams(),
    "Precise (greedy)": GREEDY,
    "Creative": SamplingParams(temperature=1.1, top_k=80, top_p=0.98, min_p=0.02, repeat_penalty=1.05),
}


def preset_names(settings: Settings) -> list[str]:
    return list(BUILTIN_PRESETS) + sorted(n for n in settings.text.presets if n not in BUILTIN_PRESETS)


def load_preset(settings: Settings, name: str) -> SamplingParams:
    if name in BUILTIN_PRESETS:
        return replace(BUILTIN_PRESETS[name], stop=list(BUILTIN_PRESETS[name].stop))
    data = settings.text.presets.get(name)
    if data is None:
        raise InvalidParameter(f"There is no preset named {name!r}.", "Pick one from the list.")
    return SamplingParams.from_dict(data)


def save_preset(settings: Settings, name: str, params: SamplingParams) -> None:
    """Store ``params`` under ``name`` in the settings (the caller saves the settings)."""
    name = name.strip()
    if not name:
        raise InvalidParameter("A preset needs a name.", "Type a name for the preset.")
    if name in BUILTIN_PRESETS:
        raise InvalidParameter(f"{name!r} is a built-in preset and cannot be replaced.",
                               "Choose another name.")
    settings.text.presets[name] = params.validated().to_dict()


def delete_preset(settings: Settings, name: str) -> None:
    if name in BUILTIN_PRESETS:
        raise InvalidParameter(f"{name!r} is a built-in preset and cannot be deleted.", "")
    settings.text.presets.pop(name, None)
