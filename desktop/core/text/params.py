"""Sampling parameters for text generation, their validation and named presets.

:class:`SamplingParams` holds what llama.cpp's sampler takes; ``validated()``
refuses out-of-range values with a message naming the field by its on-screen
label (Top-p, Max tokens...), the allowed range and the value given.  Presets are plain dicts kept in
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


# The names the Chat panel shows; the CLI flags are the same words (--top-p, --max-tokens...),
# so one message reads right in both.
LABELS = {
    "temperature": "Temperature", "top_k": "Top-k", "top_p": "Top-p", "min_p": "Min-p",
    "repeat_penalty": "Repeat penalty", "max_tokens": "Max tokens", "seed": "Seed", "stop": "Stop strings",
}


def _shown(value: Any) -> str:
    """A value as a person typed it: 0 rather than 0.0, text in quotes."""
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:g}"
    return repr(value)


def _refused(name: str, value: Any, allowed: str, hint: str = "") -> InvalidParameter:
    return InvalidParameter(f"{LABELS[name]} must be {allowed} (got {_shown(value)}).", hint)


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

    @classmethod
    def given(cls, **values: object) -> "SamplingParams":
        """The defaults, with every value that is not None in ``values`` (a CLI's options or an
        API request's fields, where None means "not given") put in its place."""
        return cls(**{name: value for name, value in values.items() if value is not None})  # type: ignore[arg-type]

    def validated(self) -> "SamplingParams":
        """This object if every value is in range; else raise InvalidParameter."""
        for name in ("temperature", "top_p", "min_p", "repeat_penalty"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise _refused(name, value, "a finite number")
        for name in ("top_k", "max_tokens", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise _refused(name, value, "a whole number")
        if not 0 <= self.temperature <= 10:
            raise _refused("temperature", self.temperature, "between 0 and 10", "0 is greedy: the same reply every time.")
        if not 0 < self.top_p <= 1:
            raise _refused("top_p", self.top_p, "above 0 and at most 1", "1 is off; 0.95 is a usual choice.")
        if not 0 <= self.min_p <= 1:
            raise _refused("min_p", self.min_p, "between 0 and 1", "0 is off; 0.05 is a usual choice.")
        if self.top_k < 0:
            raise _refused("top_k", self.top_k, "0 (off) or more", "40 is a usual choice.")
        if not 0 < self.repeat_penalty <= 10:
            raise _refused("repeat_penalty", self.repeat_penalty, "above 0 and at most 10", "1 is off.")
        if self.max_tokens < 1:
            raise _refused("max_tokens", self.max_tokens, "at least 1",
                           "It is the longest reply in tokens; 512 is a usual choice.")
        if not -1 <= self.seed <= MAX_SEED:
            raise _refused("seed", self.seed, f"-1 (random) or between 0 and {MAX_SEED}")
        if not isinstance(self.stop, list) or not all(isinstance(s, str) for s in self.stop):
            raise _refused("stop", self.stop, "a list of texts")
        if any(s == "" for s in self.stop):
            raise InvalidParameter("One of the Stop strings is empty.", "Remove the empty stop string.")
        if len(self.stop) > MAX_STOP_STRINGS:
            raise InvalidParameter(
                f"Stop strings must be at most {MAX_STOP_STRINGS} (got {len(self.stop)}).",
                "Remove some of them.")
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
