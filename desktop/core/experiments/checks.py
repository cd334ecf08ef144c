"""Checking a spec's values before anything runs: models of the right kind, values the engines take.

Each value is checked with the fixed values around it, one axis value at a
time, by the engines' own validation (:mod:`.params`), so the message names
the axis and the value that is wrong.  An image sweep's values are checked
against every model's family (sizes and step counts depend on it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from desktop.core.errors import GenLabError, InvalidParameter
from desktop.core.experiments.errors import SpecError
from desktop.core.experiments.params import IMAGE, PARAMS, TEXT, image_params, text_settings
from desktop.core.experiments.spec import ExperimentSpec, shown
from desktop.core.image.params import SD1

PLACEHOLDER_PROMPT = "placeholder"  # stands for a template's prompt while other values are checked


def model_error(spec: ExperimentSpec, ref: str, message: str, hint: str = "") -> SpecError:
    where = "Axis model" if spec.axis("model") else "Fixed model"
    return SpecError(f"{where}, value {ref!r}: {message}", hint)


def check_model(spec: ExperimentSpec, ref: str, resolve: Callable[[str], Path]) -> Path:
    """The path of one of the sweep's models, refused when missing or not of the sweep's kind."""
    from desktop.core.models.headers import read_model_facts
    from desktop.core.models.remote import is_remote_ref

    if is_remote_ref(ref) and spec.kind != TEXT:
        raise model_error(spec, ref, "remote servers run text models only.", "Use a local image model.")
    try:
        path = resolve(ref)
        if is_remote_ref(ref):  # a remote server's text model: nothing here to read
            return path
        facts = read_model_facts(path)
    except GenLabError as exc:
        raise model_error(spec, ref, exc.message, exc.hint) from exc
    if facts.kind != spec.kind:
        what = f"an {facts.kind} model" if facts.kind == "image" else f"a {facts.kind} model"
        raise model_error(spec, ref, f"it is {what}, and this is {'an' if spec.kind == IMAGE else 'a'} "
                                     f"{spec.kind} sweep.", f"Use {spec.kind} models only, or make another sweep.")
    return path


def _base_values(spec: ExperimentSpec) -> dict[str, Any]:
    base = {k: v for k, v in spec.fixed.items() if k != "model"}
    if spec.template or spec.axis("prompt"):
        base["prompt"] = PLACEHOLDER_PROMPT
    return base


def _param_values(spec: ExperimentSpec, values: dict[str, Any]) -> dict[str, Any]:
    """Only the values that are parameters (a template variable that names none is left out)."""
    return {k: v for k, v in values.items() if k in PARAMS[spec.kind] and k != "model"}


def check_values(spec: ExperimentSpec, *, resolve: Callable[[str], Path] | None) -> None:
    """Raise SpecError for the first model or value the engines would refuse.

    ``resolve`` finds a model's path; None skips the models (their kind and family) entirely.
    """
    families: list[tuple[str, bool]] = [(SD1, False)]
    if resolve is not None:
        paths = [check_model(spec, ref, resolve) for ref in spec.model_refs]
        if spec.kind == IMAGE:
            families = _families(spec, paths)
    check = _check_text if spec.kind == TEXT else _check_image
    base = _base_values(spec)
    for family in dict.fromkeys(families):
        check(_param_values(spec, base), family, "Fixed values")
        for axis in spec.axes:
            if axis.name == "model" or axis.name not in PARAMS[spec.kind]:
                continue
            for value in axis.values:
                check(_param_values(spec, {**base, axis.name: value}), family, f"Axis {axis.name}, value {shown(value)}")


def _families(spec: ExperimentSpec, paths: list[Path]) -> list[tuple[str, bool]]:
    from desktop.core.image.model_files import inspect_model

    out = []
    for ref, path in zip(spec.model_refs, paths):
        try:
            info = inspect_model(path)
        except GenLabError as exc:
            raise model_error(spec, ref, exc.message, exc.hint) from exc
        out.append((info.family, info.lcm))
    return out


def _check_text(values: dict[str, Any], family: tuple[str, bool], where: str) -> None:
    try:
        text_settings(values)
    except InvalidParameter as exc:
        raise SpecError(f"{where}: {exc.message}", exc.hint) from exc


def _check_image(values: dict[str, Any], family: tuple[str, bool], where: str) -> None:
    try:
        image_params(values, family[0], lcm=family[1])
    except InvalidParameter as exc:
        raise SpecError(f"{where}: {exc.message}", exc.hint) from exc
