"""Textual-inversion embeddings on the tiny pipeline: the token changes the image (as bare diffusers'
load_textual_inversion does), a prompt without it is the bare model's image, names in the prompt find
the library's embeddings as in A1111, the record re-runs them exactly, and wrong-family, damaged or
non-embedding files are refused clearly."""

from __future__ import annotations

import json

import numpy as np
import pytest

from desktop.core import paths
from desktop.core.errors import InvalidParameter, ModelFileError
from desktop.core.history.rerun import image_rerun_params
from desktop.core.image.engine import ImageRequest
from desktop.core.image.output import parse_parameters, read_png_text
from desktop.core.image.params import EmbeddingChoice, ImageParams
from desktop.core.models.hashing import model_sha256
from desktop.core.models.library import Library
from desktop.core.records import ListSink
from desktop.core.tiny_models.embedding import build_tiny_embedding

pytestmark = [pytest.mark.usefixtures("one_torch_thread"), pytest.mark.slow]


@pytest.fixture(scope="module")
def embeddings(tiny_sd_pipeline, tmp_path_factory):
    folder = tmp_path_factory.mktemp("embeddings")
    return {
        "style": build_tiny_embedding(tiny_sd_pipeline, folder / "tinystyle.safetensors", vectors=2, seed=1),
        "cat": build_tiny_embedding(tiny_sd_pipeline, folder / "learned_embeds.safetensors", layout="diffusers",
                                    token="<tiny-cat>", vectors=1, seed=2),
        "sd2": build_tiny_embedding(tiny_sd_pipeline, folder / "wide.safetensors", width=1024, seed=3),
    }


def params(**kw) -> ImageParams:
    base = dict(prompt="a red lighthouse", steps=2, guidance=7.0, width=64, height=64, seed=7, scheduler="Default")
    base.update(kw)
    return ImageParams(**base)


def generate(engine, model, p: ImageParams, sink=None):
    return engine.generate(ImageRequest(str(model), p, previews=False), sink=sink if sink is not None else ListSink())


def pixels(engine, model, p: ImageParams, sink=None) -> np.ndarray:
    [image] = generate(engine, model, p, sink).images
    return np.asarray(image.image).astype(int)


def bare_image(model, embedding, token: str, prompt: str) -> np.ndarray:
    """The image bare diffusers makes with ``embedding`` loaded under ``token``."""
    import diffusers
    import torch

    bare = diffusers.StableDiffusionPipeline.from_pretrained(model, safety_checker=None, requires_safety_checker=False)
    bare.set_progress_bar_config(disable=True)
    bare.load_textual_inversion(str(embedding), token=token)
    image = bare(prompt, num_inference_steps=2, guidance_scale=7.0, width=64, height=64,
                 generator=torch.Generator("cpu").manual_seed(7)).images[0]
    return np.asarray(image).astype(int)


def test_the_token_changes_the_image_as_bare_diffusers_does(engine, tiny_sd_pipeline, embeddings):
    style = EmbeddingChoice(str(embeddings["style"]))
    word = pixels(engine, tiny_sd_pipeline, params(prompt="a red lighthouse tinystyle"))
    used = pixels(engine, tiny_sd_pipeline, params(prompt="a red lighthouse tinystyle", embeddings=[style]))
    assert np.abs(used - word).max() > 0
    assert np.array_equal(pixels(engine, tiny_sd_pipeline, params(prompt="a red lighthouse tinystyle",
                                                                   embeddings=[style])), used)  # same seed, same image
    assert np.array_equal(bare_image(tiny_sd_pipeline, embeddings["style"], "tinystyle", "a red lighthouse tinystyle"),
                          used)


def test_a_capitalised_name_is_used_in_any_case_with_all_its_vectors(engine, tiny_sd_pipeline, tmp_path):
    ink = build_tiny_embedding(tiny_sd_pipeline, tmp_path / "TinyInk.safetensors", vectors=3, seed=6)
    sink = ListSink()
    upper = pixels(engine, tiny_sd_pipeline, params(prompt="a TinyInk boat", embeddings=[EmbeddingChoice(str(ink))]),
                   sink)
    assert np.array_equal(pixels(engine, tiny_sd_pipeline, params(prompt="a tinyink boat",
                                                                  embeddings=[EmbeddingChoice(str(ink))])), upper)
    # CLIP lower-cases the prompt: bare diffusers finds (and expands to 3 vectors) only a lower-case token.
    assert np.array_equal(bare_image(tiny_sd_pipeline, ink, "tinyink", "a tinyink boat"), upper)
    [record] = sink.records
    assert (record.prompt, record.parameters["embeddings"][0]["token"]) == ("a TinyInk boat", "TinyInk")


def test_without_its_token_the_image_is_the_bare_models(engine, tiny_sd_pipeline, embeddings):
    bare = pixels(engine, tiny_sd_pipeline, params())
    style = EmbeddingChoice(str(embeddings["style"]))
    pixels(engine, tiny_sd_pipeline, params(prompt="a red lighthouse tinystyle", embeddings=[style]))
    assert np.array_equal(pixels(engine, tiny_sd_pipeline, params()), bare)  # unloaded exactly
    result = generate(engine, tiny_sd_pipeline, params(embeddings=[style]))
    assert np.array_equal(np.asarray(result.images[0].image).astype(int), bare)
    assert any("'tinystyle' is not in the prompt" in w for w in result.warnings)


def test_two_embeddings_and_the_diffusers_layouts_stored_token(engine, tiny_sd_pipeline, embeddings):
    both = [EmbeddingChoice(str(embeddings["style"])), EmbeddingChoice(str(embeddings["cat"]))]
    prompt = "a <tiny-cat> by a lighthouse"
    cat = pixels(engine, tiny_sd_pipeline, params(prompt=prompt, embeddings=both[1:]))
    assert np.abs(cat - pixels(engine, tiny_sd_pipeline, params(prompt=prompt))).max() > 0
    negative = pixels(engine, tiny_sd_pipeline, params(prompt=prompt, negative_prompt="tinystyle", embeddings=both))
    assert np.abs(negative - cat).max() > 0  # the negative prompt's token is used too
    loaded = engine.loaded
    assert np.array_equal(pixels(engine, tiny_sd_pipeline, params(prompt=prompt, embeddings=both[1:])), cat)
    assert engine.loaded is loaded  # switching embeddings reuses the loaded pipeline


def test_a_name_in_the_prompt_finds_the_embedding_and_the_record_reruns_it(engine, tiny_sd_pipeline, embeddings,
                                                                           tmp_path):
    folder = paths.models_dir() / "embeddings"
    folder.mkdir(parents=True, exist_ok=True)
    mine = folder / "tinystyle.safetensors"
    mine.write_bytes(embeddings["style"].read_bytes())
    explicit = pixels(engine, tiny_sd_pipeline, params(prompt="a tinystyle lighthouse",
                                                       embeddings=[EmbeddingChoice(str(embeddings["style"]))]))
    sink = ListSink()
    [image] = generate(engine, tiny_sd_pipeline, params(prompt="a tinystyle lighthouse"), sink).images
    assert np.array_equal(np.asarray(image.image).astype(int), explicit)
    [record] = sink.records
    digest = model_sha256(mine)
    assert record.parameters["embeddings"] == [{"path": str(mine.resolve()), "sha256": digest,
                                                "name": "tinystyle", "token": "tinystyle"}]
    assert record.parameters["embedding_auto"] is False
    text = read_png_text(image.path)
    assert parse_parameters(text["parameters"])["TI hashes"] == f"tinystyle: {digest[:12]}"
    assert json.loads(text["genlab"])["parameters"]["embeddings"] == record.parameters["embeddings"]
    # The folder's file is gone; the record's sha256 finds the same bytes in the library.
    mine.unlink()
    Library().add_path(embeddings["style"], source="imported", owned=False)
    assert np.array_equal(pixels(engine, tiny_sd_pipeline, image_rerun_params(record)), explicit)
    # A record with no embedding re-runs with none, even when the prompt names one now in the library.
    sink = ListSink()
    generate(engine, tiny_sd_pipeline, params(prompt="a tinystyle lighthouse", embedding_auto=False), sink)
    assert "embeddings" not in sink.records[0].parameters
    assert image_rerun_params(sink.records[0]).embedding_auto is False


def test_a_word_inside_a_longer_name_is_not_the_token(engine, tiny_sd_pipeline, embeddings):
    folder = paths.models_dir() / "embeddings"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tinystyle.safetensors").write_bytes(embeddings["style"].read_bytes())
    sink = ListSink()
    generate(engine, tiny_sd_pipeline, params(prompt="tinystyles and tinystyle-two"), sink)
    assert "embeddings" not in sink.records[0].parameters


def test_an_embedding_of_another_family_is_refused_naming_both(engine, tiny_sd_pipeline, embeddings, tmp_path):
    with pytest.raises(InvalidParameter) as err:
        generate(engine, tiny_sd_pipeline, params(prompt="wide", embeddings=[EmbeddingChoice(str(embeddings["sd2"]))]))
    assert "Stable Diffusion 2.x" in str(err.value) and "Stable Diffusion 1.x" in str(err.value)
    xl = build_tiny_embedding(tiny_sd_pipeline, tmp_path / "xlstyle.safetensors", layout="sdxl", width=8)
    with pytest.raises(InvalidParameter) as err:
        generate(engine, tiny_sd_pipeline, params(prompt="xlstyle", embeddings=[EmbeddingChoice(str(xl))]))
    assert "Stable Diffusion XL" in str(err.value) and "Stable Diffusion 1.x" in str(err.value)
    # Found from the prompt, it is left out with a warning (A1111 skips another family's embeddings).
    folder = paths.models_dir() / "embeddings"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "wide.safetensors").write_bytes(embeddings["sd2"].read_bytes())
    result = generate(engine, tiny_sd_pipeline, params(prompt="a wide lighthouse"))
    assert any("wide in the prompt names an embedding for Stable Diffusion 2.x, not Stable Diffusion 1.x" in w
               for w in result.warnings)
    # A width no family has is checked against the loaded text encoder.
    odd = build_tiny_embedding(tiny_sd_pipeline, tmp_path / "odd.safetensors", width=48)
    with pytest.raises(InvalidParameter, match="48-wide vectors.*takes 32-wide"):
        generate(engine, tiny_sd_pipeline, params(prompt="odd", embeddings=[EmbeddingChoice(str(odd))]))


def test_damaged_and_non_embedding_files_are_refused_clearly(engine, tiny_sd_pipeline, embeddings, tmp_path):
    def refused(path, match, error=ModelFileError):
        with pytest.raises(error, match=match):
            generate(engine, tiny_sd_pipeline, params(prompt=path.stem, embeddings=[EmbeddingChoice(str(path))]))

    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}")
    refused(garbage, "not a valid safetensors file")
    truncated = tmp_path / "cut.safetensors"
    truncated.write_bytes(embeddings["style"].read_bytes()[:-40])
    refused(truncated, "cut.safetensors")
    unet = next((tiny_sd_pipeline / "unet").glob("*.safetensors"))
    refused(unet, "is not a textual-inversion embedding")
    pickle = tmp_path / "style.pt"
    pickle.write_bytes(b"\x80\x04K\x01.")
    refused(pickle, "pickle")
    from safetensors.numpy import save_file

    nan = tmp_path / "nan.safetensors"
    save_file({"emb_params": np.full((1, 32), np.nan, dtype=np.float32)}, str(nan))
    refused(nan, "not finite")
    vocabulary = tmp_path / "a.safetensors"  # "a" is a word of the tiny vocabulary
    vocabulary.write_bytes(embeddings["style"].read_bytes())
    refused(vocabulary, "already a word the model knows", InvalidParameter)
    with pytest.raises(ModelFileError, match="No embedding named 'nothing-here'"):
        generate(engine, tiny_sd_pipeline, params(embeddings=[EmbeddingChoice("nothing-here")]))
    # After every refusal the model still makes the bare image.
    assert engine.embedding_slots(engine.loaded).loaded == {}


def test_an_sdxl_embedding_loads_into_both_text_encoders(engine, tmp_path):
    from desktop.core.tiny_models.diffusion import build_tiny_sdxl_pipeline

    sdxl = build_tiny_sdxl_pipeline(tmp_path / "tiny-sdxl")
    xl = build_tiny_embedding(sdxl, tmp_path / "xlstyle.safetensors", layout="sdxl", seed=5)
    word = pixels(engine, sdxl, params(prompt="a xlstyle lighthouse"))
    used = pixels(engine, sdxl, params(prompt="a xlstyle lighthouse", embeddings=[EmbeddingChoice(str(xl))]))
    assert np.abs(used - word).max() > 0
    assert np.array_equal(pixels(engine, sdxl, params(prompt="a xlstyle lighthouse")), word)
    one = build_tiny_embedding(sdxl, tmp_path / "half.safetensors")
    with pytest.raises(InvalidParameter, match="vectors for one text encoder"):
        generate(engine, sdxl, params(prompt="half", embeddings=[EmbeddingChoice(str(one))]))
