"""What a sweep may vary, by the ``genlab text`` / ``genlab image`` option names (``_`` for ``-``).

Each kind has its table of parameter names.  :func:`text_settings` and
:func:`image_params` turn one cell's values into what the engines take,
validated by the engines' own checks (:meth:`SamplingParams.validated`,
:func:`validate_params`), so a sweep refuses exactly what the commands refuse
and in the same words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from desktop.core.errors import InvalidParameter
from desktop.core.image.params import ImageParams, default_params, validate_params
from desktop.core.image.schedulers import SCHEDULER_NAMES
from desktop.core.text.engine import LoadOptions
from desktop.core.text.params import SamplingParams
from desktop.core.text.prompt import MODES

TEXT, IMAGE = "text", "image"
KINDS = (TEXT, IMAGE)

# name -> the type a value must have; the engines' validation does the ranges.
TEXT_PARAMS: dict[str, type | tuple[type, ...]] = {
    "model": str, "prompt": str, "system": str, "mode": str,
    "temperature": (int, float), "top_p": (int, float), "top_k": int, "min_p": (int, float),
    "repeat_penalty": (int, float), "max_tokens": int, "seed": int, "stop": list,
    "ctx": int, "threads": int, "gpu_layers": int,
}
IMAGE_PARAMS: dict[str, type | tuple[type, ...]] = {
    "model": str, "prompt": str, "negative": str, "steps": int, "guidance": (int, float),
    "width": int, "height": int, "size": str, "seed": int, "scheduler": str, "init": str,
    "strength": (int, float),
}
PARAMS = {TEXT: TEXT_PARAMS, IMAGE: IMAGE_PARAMS}
# The longer names people also write (the record's field names).
ALIASES = {"system_prompt": "system", "negative_prompt": "negative", "init_image": "init"}
LOAD_PARAMS = ("ctx", "threads", "gpu_layers")  # changing one reloads the model
_SIZE = re.compile(r"^\s*(\d+)\s*[x×]\s*(\d+)\s*$")


def canonical_name(name: str) -> str:
    """The option name for ``name`` (``top-p`` and ``system_prompt`` become ``top_p`` and ``system``)."""
    name = name.strip().replace("-", "_")
    return ALIASES.get(name, name)


def check_type(kind: str, name: str, value: Any) -> None:
    """Raise InvalidParameter when ``value`` is not of the type parameter ``name`` takes."""
    wanted = PARAMS[kind][name]
    if isinstance(value, bool) or not isinstance(value, wanted):
        words = {str: "a text", int: "a whole number", list: "a list of texts"}
        expected = "a number" if isinstance(wanted, tuple) else words.get(wanted, str(wanted))
        raise InvalidParameter(f"{name} must be {expected} (got {value!r}).")
    items: Any = value  # (mypy narrows value to object above)
    if name == "stop" and not all(isinstance(s, str) for s in items):
        raise InvalidParameter(f"stop must be a list of texts (got {value!r}).")


@dataclass(frozen=True)
class TextSettings:
    """One text cell as the text engine takes it."""

    prompt: str
    system: str
    mode: str
    sampling: SamplingParams
    load: LoadOptions


def text_settings(values: dict[str, Any], default_load: LoadOptions | None = None) -> TextSettings:
    """Validated engine inputs for a text cell; ``values`` are option names (no model)."""
    for name, value in values.items():
        check_type(TEXT, name, value)
    base = SamplingParams(seed=-1)
    sampling = SamplingParams(**{f: values.get(f, getattr(base, f)) for f in
                                 ("temperature", "top_k", "top_p", "min_p", "repeat_penalty", "max_tokens",
                                  "seed")}, stop=list(values.get("stop", []))).validated()
    mode = values.get("mode", "auto")
    if mode not in MODES:
        raise InvalidParameter(f"mode must be one of {', '.join(MODES)} (got {mode!r}).")
    load = default_load or LoadOptions()
    load = replace(load, n_ctx=values.get("ctx", load.n_ctx), n_threads=values.get("threads", load.n_threads),
                   n_gpu_layers=values.get("gpu_layers", load.n_gpu_layers)).validated()
    prompt = values.get("prompt", "")
    if not prompt.strip():
        raise InvalidParameter("The prompt is empty.", "Give every prompt some text.")
    return TextSettings(prompt, values.get("system", ""), mode, sampling, load)


def parse_size(value: str) -> tuple[int, int]:
    """``"512x768"`` → (512, 768)."""
    match = _SIZE.match(value)
    if not match:
        raise InvalidParameter(f"size must be WIDTHxHEIGHT, like 512x512 (got {value!r}).")
    return int(match.group(1)), int(match.group(2))


def image_params(values: dict[str, Any], family: str, *, lcm: bool = False) -> tuple[ImageParams, list[str]]:
    """Validated :class:`ImageParams` (one image) and warnings for an image cell of a model ``family``."""
    for name, value in values.items():
        check_type(IMAGE, name, value)
    overrides: dict[str, Any] = {"batch_count": 1}
    for name, field in (("prompt", "prompt"), ("negative", "negative_prompt"), ("steps", "steps"),
                        ("guidance", "guidance"), ("width", "width"), ("height", "height"), ("seed", "seed"),
                        ("scheduler", "scheduler"), ("init", "init_image"), ("strength", "strength")):
        if name in values:
            overrides[field] = values[name]
    if "size" in values:
        overrides["width"], overrides["height"] = parse_size(values["size"])
    checked = validate_params(default_params(family, lcm=lcm, **overrides), family, lcm=lcm,
                              known_schedulers=SCHEDULER_NAMES)
    return checked.params, checked.warnings
