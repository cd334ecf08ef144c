"""The sweep spec parser: good specs in TOML and JSON, and every bad input refused by name."""

from __future__ import annotations

import copy
import json

import pytest

from desktop.core.experiments.errors import SpecError
from desktop.core.experiments.spec import DEFAULT_MAX_CELLS, load_spec, parse_spec

TOML = """
name = "two models, two temperatures"
kind = "text"
[fixed]
max_tokens = 24
seed = 7
mode = "completion"
[axes]
model = ["{stories}", "{smol}"]
temperature = [0.0, 0.7]
prompt = ["Once upon a time", "The little dog"]
"""


@pytest.fixture
def text_spec(stories260k) -> dict:
    return {"name": "t", "kind": "text", "fixed": {"max_tokens": 8, "seed": 7},
            "axes": {"model": [str(stories260k)], "temperature": [0.0, 0.7], "prompt": ["Once", "The dog"]}}


def refused(data: dict, **kwargs) -> str:
    with pytest.raises(SpecError) as caught:
        parse_spec(data, **kwargs)
    return str(caught.value)


def changed(data: dict, fixed=None, axes=None, drop=(), **top) -> dict:
    out = copy.deepcopy(data)
    out["fixed"].update(fixed or {})
    out["axes"].update(axes or {})
    for name in drop:
        out["axes"].pop(name)
    out.update(top)
    return out


def test_the_issue_example_in_toml_parses_with_its_axes_in_order(tmp_path, stories260k, smollm2):
    path = tmp_path / "sweep.toml"
    path.write_text(TOML.replace("{stories}", str(stories260k)).replace("{smol}", str(smollm2)))
    spec = load_spec(path)
    assert spec.name == "two models, two temperatures" and spec.kind == "text"
    assert [a.name for a in spec.axes] == ["model", "temperature", "prompt"]
    assert spec.fixed == {"max_tokens": 24, "seed": 7, "mode": "completion"}
    assert spec.cell_count == 8 and spec.max_cells == DEFAULT_MAX_CELLS


def test_a_json_spec_with_relative_paths_a_prompt_file_and_random_seeds(tmp_path, stories260k):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "stories.gguf").symlink_to(stories260k)
    (tmp_path / "prompts.txt").write_text("Once upon a time\n\n  The little dog  \n")
    path = tmp_path / "sweep.json"
    path.write_text(json.dumps({"kind": "text", "axes": {"model": ["models/stories.gguf"],
                                                         "prompt_file": "prompts.txt", "seed": "3 random"}}))
    spec = load_spec(path)
    assert spec.axis("model").values == (str((tmp_path / "models" / "stories.gguf").resolve()),)
    assert spec.axis("prompt").values == ("Once upon a time", "The little dog")
    seeds = spec.axis("seed").values
    assert len(seeds) == 3 and all(isinstance(s, int) and s >= 0 for s in seeds)
    again = parse_spec(spec.to_dict())  # the stored spec re-runs the same seeds
    assert again == spec


def test_a_template_takes_its_variables_from_axes(text_spec):
    data = changed(text_spec, axes={"animal": ["cat", "dog"], "style": ["oil"]}, drop=("prompt",),
                   template="a {animal} in {style}")
    spec = parse_spec(data)
    assert spec.variables == ("animal", "style") and spec.cell_count == 2 * 2 * 1


@pytest.mark.parametrize("change, message", [
    (dict(axes={"prompt": []}), "Axis prompt has no values."),
    (dict(axes={"prompt": ["Once", "  "]}), "Axis prompt, value '  ': The prompt is empty."),
    (dict(axes={"temperature": [0.1, "hot"]}), "Axis temperature, value 'hot': temperature must be a number"),
    (dict(axes={"temperature": [0.1, 20]}), "Axis temperature, value 20: Temperature must be between 0 and 10"),
    (dict(axes={"top_k": [40, 2.5]}), "Axis top_k, value 2.5: top_k must be a whole number"),
    (dict(axes={"temperature": 0.5}), "Axis temperature must be a list of values"),
    (dict(axes={"tempo": [1]}), "Unknown parameter 'tempo' in [axes]."),
    (dict(fixed={"cfg": 7}), "Unknown parameter 'cfg' in [fixed]."),
    (dict(axes={"steps": [4, 8]}), "Unknown parameter 'steps' in [axes] (it is an image parameter)."),
    (dict(fixed={"mode": "poetry"}), "Fixed values: mode must be one of auto, chat, completion"),
    (dict(axes={"seed": "three random"}), "Axis seed, value 'three random': write a list of seeds"),
    (dict(fixed={"temperature": 0.5}), "temperature is both fixed and an axis."),
    (dict(axes={"model": ["/nowhere/missing.gguf"]}), "Axis model, value '/nowhere/missing.gguf':"),
    (dict(axes={"model": ["No Such Model"]}), "Axis model, value 'No Such Model': No model in the library"),
    (dict(paired=[["temperature", "model"]]), "Paired axes must have as many values each: temperature has 2, model has 1."),
    (dict(paired=["temperature", "colour"]), "paired names 'colour', which is not an axis."),
    (dict(kind="video"), "kind must be \"text\" or \"image\" (got 'video')."),
    (dict(repeats=0), "repeats must be a whole number of at least 1 (got 0)."),
    (dict(colour="red"), "Unknown spec field 'colour'."),
    (dict(template="a {animal}"), "The template uses {animal}, which is not an axis."),
])
def test_bad_input_is_refused_naming_the_axis_and_value(text_spec, change, message):
    assert message in refused(changed(text_spec, **change))


def test_a_template_and_a_prompt_axis_together_are_refused(text_spec):
    data = changed(text_spec, axes={"animal": ["cat"]}, template="a {animal}")
    assert "The prompt is given twice (template and axis prompt)." in refused(data)


def test_the_cell_cap_refuses_a_big_sweep_until_it_is_raised(text_spec):
    big = changed(text_spec, axes={"seed": list(range(2501)), "temperature": [0.0, 0.5, 1.0, 1.5]}, fixed={})
    big["fixed"].pop("seed")
    message = refused(big)
    assert "This sweep has 20,008 cells, more than the cap of 10,000." in message
    assert "max_cells = 20008" in message
    assert parse_spec(dict(big, max_cells=20008)).cell_count == 20008


@pytest.mark.slow
def test_an_image_model_on_a_text_sweep_is_refused(text_spec, tiny_sd_pipeline):
    message = refused(changed(text_spec, axes={"model": [str(tiny_sd_pipeline)]}))
    assert f"Axis model, value '{tiny_sd_pipeline}': it is an image model, and this is a text sweep." in message


def test_a_text_model_on_an_image_sweep_is_refused(stories260k):
    data = {"kind": "image", "fixed": {"model": str(stories260k)}, "axes": {"prompt": ["a cat"]}}
    assert f"Fixed model, value '{stories260k}': it is a text model, and this is an image sweep." in refused(data)


@pytest.mark.parametrize("axes, message", [
    ({"width": [64, 100]}, "Axis width, value 100: Width 100 must be a multiple of 8 (try 96 or 104)."),
    ({"size": ["64x64", "70x100"]}, "Axis size, value '70x100': Width 70 and Height 100 must be multiples of 8"),
    ({"size": ["big"]}, "Axis size, value 'big': size must be WIDTHxHEIGHT"),
    ({"steps": [0]}, "Axis steps, value 0: Steps must be between 1 and 150"),
    ({"scheduler": ["Euler", "Fancy"]}, "Axis scheduler, value 'Fancy': Scheduler must be one GenLab knows"),
    ({"temperature": [0.5]}, "Unknown parameter 'temperature' in [axes] (it is a text parameter)."),
])
def test_bad_image_values_are_refused_for_the_models_family(tiny_sd_pipeline, axes, message):
    data = {"kind": "image", "fixed": {"model": str(tiny_sd_pipeline), "steps": 2}, "axes": {"prompt": ["a cat"]}}
    data["axes"].update(axes)
    if "steps" in axes:
        data["fixed"].pop("steps")
    assert message in refused(data)


def test_an_image_sweep_over_seeds_and_guidance_parses(tiny_sd_pipeline):
    spec = parse_spec({"kind": "image", "fixed": {"model": str(tiny_sd_pipeline), "steps": 2, "size": "64x64"},
                       "axes": {"prompt": ["a cat"], "seed": [1, 2, 3, 4], "guidance": [1.0, 7.5]}})
    assert spec.cell_count == 8


def test_bad_toml_names_the_file(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("kind = \n")
    with pytest.raises(SpecError, match="The spec broken.toml is not valid TOML"):
        load_spec(path)
