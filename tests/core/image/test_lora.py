"""LoRAs on the tiny pipeline: they change the image, weight 0 is no LoRA, two stack, kohya keys
load, prompt tags work and are written to the PNG, the record re-runs them, a wrong family is refused."""

from __future__ import annotations

import json

import numpy as np
import pytest

from desktop.core.errors import InvalidParameter, ModelFileError
from desktop.core.history.rerun import image_rerun_params
from desktop.core.image.engine import ImageRequest
from desktop.core.image.output import parse_parameters, read_png_text
from desktop.core.image.params import ImageParams, LoraChoice
from desktop.core.records import ListSink
from desktop.core.tiny_models.lora import build_tiny_lora, to_kohya

pytestmark = [pytest.mark.usefixtures("one_torch_thread"), pytest.mark.slow]


@pytest.fixture(scope="module")
def loras(tiny_sd_pipeline, tmp_path_factory):
    folder = tmp_path_factory.mktemp("loras")
    one = build_tiny_lora(tiny_sd_pipeline, folder / "style-one.safetensors", seed=1)
    two = build_tiny_lora(tiny_sd_pipeline, folder / "style-two.safetensors", seed=2)
    kohya = to_kohya(one, folder / "style-one-kohya.safetensors")
    return {"one": one, "two": two, "kohya": kohya}


def params(**kw) -> ImageParams:
    base = dict(prompt="a red lighthouse", steps=2, guidance=7.0, width=64, height=64, seed=7, scheduler="Euler")
    base.update(kw)
    return ImageParams(**base)


def pixels(engine, model, p: ImageParams, sink=None) -> np.ndarray:
    [image] = engine.generate(ImageRequest(str(model), p, previews=False), sink=sink or ListSink()).images
    return np.asarray(image.image).astype(int)


def test_a_lora_changes_the_image_and_weight_zero_is_the_bare_model(engine, tiny_sd_pipeline, loras):
    bare = pixels(engine, tiny_sd_pipeline, params())
    with_lora = pixels(engine, tiny_sd_pipeline, params(loras=[LoraChoice(str(loras["one"]), 1.0)]))
    assert np.abs(with_lora - bare).max() > 0
    zero = pixels(engine, tiny_sd_pipeline, params(loras=[LoraChoice(str(loras["one"]), 0.0)]))
    assert np.array_equal(zero, bare)
    assert np.array_equal(pixels(engine, tiny_sd_pipeline, params()), bare)  # dropping it again is exact too


def test_two_loras_stack_and_switching_reuses_the_loaded_pipeline(engine, tiny_sd_pipeline, loras):
    one = pixels(engine, tiny_sd_pipeline, params(loras=[LoraChoice(str(loras["one"]), 1.0)]))
    loaded = engine.loaded
    both = pixels(engine, tiny_sd_pipeline, params(loras=[LoraChoice(str(loras["one"]), 1.0),
                                                          LoraChoice(str(loras["two"]), 0.7)]))
    two = pixels(engine, tiny_sd_pipeline, params(loras=[LoraChoice(str(loras["two"]), 0.7)]))
    assert engine.loaded is loaded  # no reload of the model for another set of LoRAs
    assert not np.array_equal(both, one) and not np.array_equal(both, two)
    slots = engine.lora_slots(loaded)
    files_loaded = slots.loads
    assert np.array_equal(pixels(engine, tiny_sd_pipeline, params(loras=[LoraChoice(str(loras["one"]), 1.0)])), one)
    assert slots.loads == files_loaded  # the idle one was kept: switching back loads no file


def test_only_a_few_idle_loras_stay_loaded(engine, tiny_sd_pipeline, loras, tmp_path):
    from desktop.core.image.lora import IDLE_ADAPTERS, resolve

    loaded = engine.load(tiny_sd_pipeline)
    slots = engine.lora_slots(loaded)
    more = [build_tiny_lora(tiny_sd_pipeline, tmp_path / f"more-{i}.safetensors", seed=10 + i) for i in range(2)]
    for path in [loras["one"], loras["two"], *more]:
        slots.apply([resolve(path.stem, path, 1.0)])
    assert len(slots.loaded) == 1 + IDLE_ADAPTERS
    assert slots.adapter_name(resolve("one", loras["one"], 1.0)) not in slots.loaded  # the least recently used went


def test_kohya_keys_load_and_give_the_diffusers_format_image(engine, tiny_sd_pipeline, loras):
    diffusers_format = pixels(engine, tiny_sd_pipeline, params(loras=[LoraChoice(str(loras["one"]), 0.8)]))
    kohya = pixels(engine, tiny_sd_pipeline, params(loras=[LoraChoice(str(loras["kohya"]), 0.8)]))
    assert np.abs(kohya - diffusers_format).max() <= 1


def test_a_prompt_tag_applies_the_lora_and_the_png_and_record_keep_it(engine, tiny_sd_pipeline, loras):
    explicit = pixels(engine, tiny_sd_pipeline, params(loras=[LoraChoice(str(loras["two"]), 0.6)]))
    sink = ListSink()
    tagged = params(prompt=f"a red lighthouse <lora:{loras['two']}:0.6>")
    [image] = engine.generate(ImageRequest(str(tiny_sd_pipeline), tagged, previews=False), sink=sink).images
    assert np.array_equal(np.asarray(image.image).astype(int), explicit)
    text = read_png_text(image.path)
    assert f"<lora:{loras['two']}:0.6>" in parse_parameters(text["parameters"])["Prompt"]
    [record] = sink.records
    assert record.prompt == tagged.prompt
    from desktop.core.models.hashing import model_sha256

    assert record.parameters["loras"] == [{"path": str(loras["two"].resolve()), "weight": 0.6,
                                           "sha256": model_sha256(loras["two"]), "name": str(loras["two"])}]
    assert json.loads(text["genlab"])["parameters"]["loras"] == record.parameters["loras"]


def test_an_explicit_lora_is_written_as_a1111_tag(engine, tiny_sd_pipeline, loras):
    [image] = engine.generate(ImageRequest(str(tiny_sd_pipeline), params(loras=[LoraChoice(str(loras["one"]), 0.8)]),
                                           previews=False), sink=ListSink()).images
    prompt = parse_parameters(read_png_text(image.path)["parameters"])["Prompt"]
    assert prompt == "a red lighthouse <lora:style-one:0.8>"


def test_a_tag_name_is_found_in_the_models_lora_folder(engine, tiny_sd_pipeline, loras, genlab_home):
    from desktop.core import paths

    folder = paths.models_dir() / "loras"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "my-style.safetensors").write_bytes(loras["one"].read_bytes())
    tagged = pixels(engine, tiny_sd_pipeline, params(prompt="a red lighthouse <lora:my-style:0.8>"))
    explicit = pixels(engine, tiny_sd_pipeline, params(loras=[LoraChoice(str(loras["one"]), 0.8)]))
    assert np.array_equal(tagged, explicit)
    with pytest.raises(ModelFileError, match="No LoRA named 'nothing-here'"):
        engine.generate(ImageRequest(str(tiny_sd_pipeline), params(prompt="x <lora:nothing-here:1>")))


def test_a_rerun_of_the_record_reloads_the_same_loras(engine, tiny_sd_pipeline, loras, tmp_path):
    moved = tmp_path / "renamed.safetensors"
    moved.write_bytes(loras["two"].read_bytes())
    sink = ListSink()
    first = pixels(engine, tiny_sd_pipeline, params(prompt=f"a lighthouse <lora:{moved}:0.5>",
                                                    loras=[LoraChoice(str(loras["one"]), 1.0)]), sink)
    moved.unlink()  # the tag's file is gone; the record's sha256 finds the same bytes in the library
    from desktop.core.models.library import Library

    Library().add_path(loras["two"], source="imported", owned=False)
    again = image_rerun_params(sink.records[0])
    assert [(c.weight, c.sha256) for c in again.loras] == [(c["weight"], c["sha256"])
                                                           for c in sink.records[0].parameters["loras"]]
    assert np.array_equal(pixels(engine, tiny_sd_pipeline, again), first)


def test_a_lora_for_another_family_is_refused_naming_both(engine, tiny_sd_pipeline, tmp_path):
    sdxl = build_tiny_lora(tiny_sd_pipeline, tmp_path / "xl-style.safetensors",
                           metadata={"ss_base_model_version": "sdxl_base_v1-0"})
    with pytest.raises(InvalidParameter) as err:
        engine.generate(ImageRequest(str(tiny_sd_pipeline), params(loras=[LoraChoice(str(sdxl), 1.0)])))
    assert "Stable Diffusion XL" in str(err.value) and "Stable Diffusion 1.x" in str(err.value)


def test_a_bad_weight_or_a_pickle_or_a_non_lora_file_is_refused(engine, tiny_sd_pipeline, loras, tmp_path):
    with pytest.raises(InvalidParameter, match="weight of LoRA"):
        engine.generate(ImageRequest(str(tiny_sd_pipeline), params(loras=[LoraChoice(str(loras["one"]), 50.0)])))
    with pytest.raises(InvalidParameter, match="not a number"):
        engine.generate(ImageRequest(str(tiny_sd_pipeline), params(prompt=f"<lora:{loras['one']}:lots>")))
    pickle = tmp_path / "style.pt"
    pickle.write_bytes(b"\x80\x04K\x01.")
    with pytest.raises(ModelFileError, match="pickle"):
        engine.generate(ImageRequest(str(tiny_sd_pipeline), params(loras=[LoraChoice(str(pickle), 1.0)])))
    unet = next((tiny_sd_pipeline / "unet").glob("*.safetensors"))
    with pytest.raises(ModelFileError, match="is not a LoRA"):
        engine.generate(ImageRequest(str(tiny_sd_pipeline), params(loras=[LoraChoice(str(unet), 1.0)])))


def test_img2img_uses_the_loras_too(engine, tiny_sd_pipeline, loras, tmp_path):
    from PIL import Image

    init = tmp_path / "init.png"
    Image.new("RGB", (64, 64), (30, 120, 200)).save(init)
    p = params(init_image=str(init), strength=1.0)
    bare = pixels(engine, tiny_sd_pipeline, p)
    assert not np.array_equal(pixels(engine, tiny_sd_pipeline, params(init_image=str(init), strength=1.0,
                                                                       loras=[LoraChoice(str(loras["one"]), 1.0)])),
                              bare)
    assert np.array_equal(pixels(engine, tiny_sd_pipeline, p), bare)


def test_an_sdxl_lora_applies_to_an_sdxl_model(engine, tmp_path):
    from desktop.core.tiny_models.diffusion import build_tiny_sdxl_pipeline

    sdxl = build_tiny_sdxl_pipeline(tmp_path / "tiny-sdxl")
    lora = build_tiny_lora(sdxl, tmp_path / "xl.safetensors", metadata={"ss_base_model_version": "sdxl_base_v1-0"})
    bare = pixels(engine, sdxl, params())
    assert np.abs(pixels(engine, sdxl, params(loras=[LoraChoice(str(lora), 1.0)])) - bare).max() > 0
    assert np.array_equal(pixels(engine, sdxl, params(loras=[LoraChoice(str(lora), 0.0)])), bare)
