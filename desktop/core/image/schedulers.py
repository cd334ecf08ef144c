"""Scheduler (sampler) choices under the names AUTOMATIC1111 and Civitai use.

A scheduler is rebuilt from the model's own scheduler config each time it is
switched (``from_config`` on the original config, never on the previous
scheduler), so switching back and forth never drifts.  "Default" keeps the
scheduler the model was saved with.
"""

from __future__ import annotations

from typing import Any

DEFAULT = "Default"

# name -> (diffusers class name, config overrides)
SCHEDULERS: dict[str, tuple[str, dict[str, Any]]] = {
    "Euler": ("EulerDiscreteScheduler", {}),
    "Euler a": ("EulerAncestralDiscreteScheduler", {}),
    "DPM++ 2M": ("DPMSolverMultistepScheduler",
                 {"algorithm_type": "dpmsolver++", "solver_order": 2, "use_karras_sigmas": False}),
    "DPM++ 2M Karras": ("DPMSolverMultistepScheduler",
                        {"algorithm_type": "dpmsolver++", "solver_order": 2, "use_karras_sigmas": True}),
    "DDIM": ("DDIMScheduler", {}),
    "LCM": ("LCMScheduler", {}),
    "UniPC": ("UniPCMultistepScheduler", {}),
}

SCHEDULER_NAMES: tuple[str, ...] = (DEFAULT, *SCHEDULERS)

# For the A1111 "Sampler:" field when the model's own scheduler is kept.
_CLASS_TO_NAME = {
    "EulerDiscreteScheduler": "Euler",
    "EulerAncestralDiscreteScheduler": "Euler a",
    "DDIMScheduler": "DDIM",
    "LCMScheduler": "LCM",
    "UniPCMultistepScheduler": "UniPC",
    "PNDMScheduler": "PLMS",
    "LMSDiscreteScheduler": "LMS",
    "HeunDiscreteScheduler": "Heun",
}


def sampler_name(choice: str, default_class: str, default_config: dict[str, Any] | None = None) -> str:
    """The A1111 sampler name for ``choice`` ("Default" resolves to the model's scheduler)."""
    if choice != DEFAULT:
        return choice
    if default_class == "DPMSolverMultistepScheduler":
        karras = bool((default_config or {}).get("use_karras_sigmas"))
        return "DPM++ 2M Karras" if karras else "DPM++ 2M"
    return _CLASS_TO_NAME.get(default_class, default_class)


def make_scheduler(choice: str, original_config: Any) -> Any:
    """A new scheduler for ``choice`` built from the model's original scheduler config."""
    import diffusers

    class_name = original_config.get("_class_name", "") if hasattr(original_config, "get") else ""
    if choice == DEFAULT:
        cls = getattr(diffusers, class_name)
        return cls.from_config(original_config)
    if choice not in SCHEDULERS:
        from desktop.core.errors import InvalidParameter

        raise InvalidParameter(f"Scheduler must be one GenLab knows (got {choice!r}).",
                               "Choose one of: " + ", ".join(SCHEDULER_NAMES) + ".")
    cls_name, overrides = SCHEDULERS[choice]
    cls = getattr(diffusers, cls_name)
    return cls.from_config(original_config, **overrides)
