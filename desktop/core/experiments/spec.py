"""The sweep spec: fixed values, axes, a prompt template, repeats, paired axes.

A spec is written in TOML or JSON::

    name = "two models, two temperatures"
    kind = "text"                      # or "image"
    repeats = 1                        # samples per cell
    paired = [["prompt", "seed"]]      # zipped instead of crossed (optional)
    template = "a {animal} in {style}" # optional; its variables are axes
    max_cells = 10000                  # the cap; raise it for a bigger sweep
    [fixed]
    max_tokens = 24
    [axes]
    model = ["/path/to/stories260K.gguf", "SmolLM2-135M-Instruct"]
    temperature = [0.0, 0.7]
    prompt = ["Once upon a time", "The little dog"]   # or prompt_file = "prompts.txt"
    seed = "4 random"                                 # or a list

Parameter names are the ``genlab text`` / ``genlab image`` options with
``_`` for ``-`` (:mod:`.params`).  :func:`load_spec` reads a file and
:func:`parse_spec` a dict; both refuse a bad spec with a
:class:`~desktop.core.experiments.errors.SpecError` naming the field, axis
and value.  ``"N random"`` seeds and a prompt file are resolved while parsing,
so :meth:`ExperimentSpec.to_dict` is a spec that re-runs the same cells.
"""

from __future__ import annotations

import json
import math
import random
import string
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from desktop.core.errors import InvalidParameter
from desktop.core.experiments.errors import SpecError
from desktop.core.experiments.params import KINDS, PARAMS, canonical_name, check_type
from desktop.core.experiments.resolve import absolute_ref, resolve_model_ref
from desktop.core.models.remote import REMOTE_BADGE, display_name, is_remote_ref

DEFAULT_MAX_CELLS = 10_000
DEFAULT_NAME = "Untitled experiment"
FIELDS = ("name", "kind", "description", "fixed", "axes", "template", "repeats", "paired", "max_cells")
RANDOM_SEED_LIMIT = 2**31 - 1  # seeds every widget shows exactly (text's own random seeds)


def shown(value: Any) -> str:
    """A value as a person wrote it: 0.7, 'Once upon a time'."""
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:g}"
    return repr(value)


@dataclass(frozen=True)
class Axis:
    """One swept parameter (or template variable) and its values, in the spec's order."""

    name: str
    values: tuple[Any, ...]

    def label(self, value: Any) -> str:
        """How a value is shown in grids and exports: a model by its file name."""
        if self.name == "model" and isinstance(value, str) and is_remote_ref(value):
            return f"{display_name(value)} {REMOTE_BADGE}"
        if self.name == "model" and isinstance(value, str):
            return Path(value).name or value
        return f"{value:g}" if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class ExperimentSpec:
    """A parsed, checked sweep; see the module docstring for the format."""

    name: str
    kind: str  # "text" | "image"
    axes: tuple[Axis, ...]
    fixed: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    template: str = ""
    repeats: int = 1
    paired: tuple[tuple[str, ...], ...] = ()
    max_cells: int = DEFAULT_MAX_CELLS

    def axis(self, name: str) -> Axis | None:
        return next((a for a in self.axes if a.name == name), None)

    @property
    def variables(self) -> tuple[str, ...]:
        """The template's variables, in order of first use."""
        return template_variables(self.template)

    @property
    def model_refs(self) -> tuple[str, ...]:
        """Every model the sweep uses, as written (an axis's values, or the fixed one)."""
        axis = self.axis("model")
        return tuple(dict.fromkeys(axis.values)) if axis else (self.fixed["model"],)

    @property
    def cell_count(self) -> int:
        """Cells to generate: the product of the (paired groups of) axes, times the repeats."""
        count = self.repeats
        for group in units(self):
            count *= len(group[0].values)
        return count

    def to_dict(self) -> dict[str, Any]:
        """The spec as plain data (JSON, TOML): :func:`parse_spec` reads it back to the same spec."""
        data: dict[str, Any] = {"name": self.name, "kind": self.kind, "repeats": self.repeats,
                                "max_cells": self.max_cells, "fixed": dict(self.fixed),
                                "axes": {a.name: list(a.values) for a in self.axes}}
        if self.description:
            data["description"] = self.description
        if self.template:
            data["template"] = self.template
        if self.paired:
            data["paired"] = [list(g) for g in self.paired]
        return data


def units(spec: ExperimentSpec) -> list[tuple[Axis, ...]]:
    """The factors of the product: each paired group once (at its first axis), every other axis alone."""
    seen: set[str] = set()
    out: list[tuple[Axis, ...]] = []
    for axis in spec.axes:
        if axis.name in seen:
            continue
        group = next((g for g in spec.paired if axis.name in g), (axis.name,))
        members = tuple(a for a in spec.axes if a.name in group)
        seen.update(group)
        out.append(members)
    return out


def template_variables(template: str) -> tuple[str, ...]:
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as exc:
        raise SpecError(f"The template {template!r} is not valid ({exc}).",
                        "Write variables as {name}; double a brace ({{) to mean the character.") from exc
    for name in names:
        if not name.isidentifier():
            raise SpecError(f"The template variable {{{name}}} is not a plain name.",
                            "Use letters, digits and _ only, like {animal}.")
    return tuple(dict.fromkeys(names))


def load_spec(path: Path, **kwargs: Any) -> ExperimentSpec:
    """Read a ``.toml`` or ``.json`` spec file; relative paths in it are relative to its folder."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SpecError(f"Cannot read the spec {path}: {exc.strerror or exc}.",
                        "Check the file name.") from exc
    try:
        data = json.loads(raw) if path.suffix.lower() == ".json" else tomllib.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        kind = "JSON" if path.suffix.lower() == ".json" else "TOML"
        raise SpecError(f"The spec {path.name} is not valid {kind}: {exc}.", "Fix the line it names.") from exc
    return parse_spec(data, base_dir=path.parent, **kwargs)


def parse_spec(data: Any, *, base_dir: Path | None = None, check_models: bool = True,
               resolve: Callable[[str], Path] = resolve_model_ref, max_cells: int | None = None) -> ExperimentSpec:
    """Check ``data`` (a spec as plain data) and build the :class:`ExperimentSpec`.

    ``check_models``: resolve every model and check its kind and the values
    against its family (on by default; off only to read a stored spec whose
    models are not here).  ``max_cells``: the cap instead of the spec's own
    (``--max-cells``).
    """
    if not isinstance(data, dict):
        raise SpecError("A spec must be a table of fields (name, kind, fixed, axes...).")
    if max_cells is not None:
        data = dict(data, max_cells=max_cells)
    unknown = [k for k in data if k not in FIELDS]
    if unknown:
        raise SpecError(f"Unknown spec field {unknown[0]!r}.", f"The fields are: {', '.join(FIELDS)}.")
    kind = data.get("kind")
    if kind not in KINDS:
        raise SpecError(f"kind must be \"text\" or \"image\" (got {kind!r}).")
    name = _text_field(data, "name", DEFAULT_NAME) or DEFAULT_NAME
    template = _text_field(data, "template", "")
    variables = template_variables(template)
    fixed = _fixed(data.get("fixed", {}), kind, base_dir)
    axes = _axes(data.get("axes", {}), kind, variables, base_dir)
    spec = ExperimentSpec(
        name=name, kind=kind, axes=axes, fixed=fixed, description=_text_field(data, "description", ""),
        template=template, repeats=_count_field(data, "repeats", 1),
        paired=_paired(data.get("paired", []), axes), max_cells=_count_field(data, "max_cells", DEFAULT_MAX_CELLS))
    _check_prompt_and_model(spec)
    if spec.cell_count > spec.max_cells:
        raise SpecError(f"This sweep has {spec.cell_count:,} cells, more than the cap of {spec.max_cells:,}.",
                        f"Remove some values, or raise the cap with max_cells = {spec.cell_count} in the spec "
                        "(or --max-cells).")
    from desktop.core.experiments.checks import check_values

    check_values(spec, resolve=resolve if check_models else None)
    return spec


def _text_field(data: dict, key: str, default: str) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise SpecError(f"{key} must be a text (got {value!r}).")
    return value.strip() if key == "name" else value


def _count_field(data: dict, key: str, default: int) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SpecError(f"{key} must be a whole number of at least 1 (got {value!r}).")
    return value


def _param_name(raw: Any, kind: str, where: str, variables: tuple[str, ...] = ()) -> str:
    name = canonical_name(str(raw))
    if name not in PARAMS[kind] and name not in variables:
        other = "an image" if kind == "text" else "a text"
        also = f" (it is {other} parameter)" if name in PARAMS[other.split()[1]] else ""
        vars_hint = f", or a template variable ({', '.join(variables)})" if variables else ""
        raise SpecError(f"Unknown parameter {raw!r} in {where}{also}.",
                        f"{'An' if kind == 'image' else 'A'} {kind} sweep takes: {', '.join(PARAMS[kind])}{vars_hint}.")
    return name


def _checked_value(kind: str, name: str, value: Any, where: str, base_dir: Path | None) -> Any:
    if name in PARAMS[kind]:
        try:
            check_type(kind, name, value)
        except InvalidParameter as exc:
            raise SpecError(f"{where}, value {shown(value)}: {exc.message}") from exc
    elif isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise SpecError(f"{where}, value {shown(value)}: a template variable takes texts or numbers.")
    if name in ("model", "init") and isinstance(value, str):
        return absolute_ref(value, base_dir) if name == "model" else str(
            Path(value) if base_dir is None or Path(value).is_absolute() else base_dir / value)
    return value


def _fixed(raw: Any, kind: str, base_dir: Path | None) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise SpecError("[fixed] must be a table of parameter = value.")
    fixed: dict[str, Any] = {}
    for key, value in raw.items():
        name = _param_name(key, kind, "[fixed]")
        fixed[name] = _checked_value(kind, name, value, f"Fixed {name}", base_dir)
    return fixed


def _axes(raw: Any, kind: str, variables: tuple[str, ...], base_dir: Path | None) -> tuple[Axis, ...]:
    if not isinstance(raw, dict):
        raise SpecError("[axes] must be a table of parameter = [values].")
    axes: list[Axis] = []
    values: Any
    for key, value in raw.items():
        if canonical_name(str(key)) == "prompt_file":
            name, values = "prompt", _prompt_file(value, base_dir)
        else:
            name = _param_name(key, kind, "[axes]", variables)
            values = _seeds(value, kind) if name == "seed" and isinstance(value, str) else value
        if any(a.name == name for a in axes):
            raise SpecError(f"Axis {name} is given twice.", "Merge its values into one list.")
        if not isinstance(values, list):
            raise SpecError(f"Axis {name} must be a list of values (got {shown(values)}).",
                            f"Write {name} = [...]" + (", or seed = \"4 random\"." if name == "seed" else "."))
        if not values:
            raise SpecError(f"Axis {name} has no values.", "Give it at least one value, or remove it.")
        checked = tuple(_checked_value(kind, name, v, f"Axis {name}", base_dir) for v in values)
        axes.append(Axis(name, checked))
    names = [a.name for a in axes]
    for variable in variables:
        if variable not in names:
            raise SpecError(f"The template uses {{{variable}}}, which is not an axis.",
                            f"Add {variable} = [...] under [axes], or take it out of the template.")
    return tuple(axes)


def _prompt_file(value: Any, base_dir: Path | None) -> list[str]:
    if not isinstance(value, str):
        raise SpecError(f"Axis prompt_file must be the path of a text file (got {shown(value)}).")
    path = Path(value).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"Axis prompt_file, value {value!r}: cannot read it ({exc}).",
                        "Give a UTF-8 text file with one prompt a line.") from exc
    prompts = [line.strip() for line in lines if line.strip()]
    if not prompts:
        raise SpecError(f"Axis prompt_file, value {value!r}: the file has no prompts.",
                        "Write one prompt a line.")
    return prompts


def _seeds(value: str, kind: str) -> list[int]:
    words = value.split()
    if len(words) != 2 or words[1].lower() != "random" or not words[0].isdigit() or int(words[0]) < 1:
        raise SpecError(f"Axis seed, value {value!r}: write a list of seeds or \"N random\", like \"4 random\".")
    limit = RANDOM_SEED_LIMIT if kind == "text" else 2**32 - 1
    rng = random.SystemRandom()
    return [rng.randint(0, limit) for _ in range(int(words[0]))]


def _paired(raw: Any, axes: tuple[Axis, ...]) -> tuple[tuple[str, ...], ...]:
    if raw == []:
        return ()
    if isinstance(raw, list) and all(isinstance(n, str) for n in raw):
        raw = [raw]  # one group written flat: paired = ["prompt", "seed"]
    if not isinstance(raw, list) or not all(isinstance(g, list) for g in raw):
        raise SpecError("paired must be a list of axis names, or a list of such lists.")
    lengths = {a.name: len(a.values) for a in axes}
    groups: list[tuple[str, ...]] = []
    used: set[str] = set()
    for group in raw:
        names = tuple(canonical_name(str(n)) for n in group)
        for n in names:
            if n not in lengths:
                raise SpecError(f"paired names {n!r}, which is not an axis.", f"The axes are: {', '.join(lengths)}.")
            if n in used:
                raise SpecError(f"Axis {n} is in two paired groups.", "Put it in one group.")
        if len(names) < 2:
            raise SpecError(f"A paired group needs two axes or more (got {list(names)}).")
        if len({lengths[n] for n in names}) > 1:
            sizes = ", ".join(f"{n} has {lengths[n]}" for n in names)
            raise SpecError(f"Paired axes must have as many values each: {sizes}.",
                            "Give them the same number of values, or do not pair them.")
        used.update(names)
        groups.append(names)
    return tuple(groups)


def _check_prompt_and_model(spec: ExperimentSpec) -> None:
    sources = [s for s, present in (("template", bool(spec.template)), ("axis prompt", spec.axis("prompt")),
                                    ("fixed prompt", "prompt" in spec.fixed)) if present]
    if len(sources) > 1:
        raise SpecError(f"The prompt is given twice ({' and '.join(sources)}).", "Keep one of them.")
    if not sources:
        raise SpecError("The spec gives no prompt.",
                        "Add prompt = [...] under [axes], prompt under [fixed], or a template.")
    for axis in spec.axes:
        if axis.name in spec.fixed:
            raise SpecError(f"{axis.name} is both fixed and an axis.", "Keep one of them.")
    if not spec.axis("model") and "model" not in spec.fixed:
        raise SpecError("The spec names no model.", "Add model = [...] under [axes] or model under [fixed].")
