"""Embeddings from the history's embedder and images from the tiny diffusers pipeline, through the openai client."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import httpx2
import numpy as np
import openai
import pytest
from PIL import Image

pytestmark = pytest.mark.slow

EMBEDDER = "all-MiniLM-L6-v2"
TEXTS = ["a loaf of sourdough bread", "quantum entanglement for children"]


@pytest.fixture(scope="module")
def image_model(served, tiny_sd_pipeline):
    entry = served.shared.library.add_path(tiny_sd_pipeline, source="found", owned=False)
    listed = [m.id for m in served.client().models.list().data if m.genlab_kind == "image"]  # type: ignore[attr-defined]
    assert listed == [entry.name]
    return entry.name


def test_float_and_base64_embeddings_are_the_same_unit_vectors(served, embedder):
    floats = served.client().embeddings.create(model=EMBEDDER, input=TEXTS, encoding_format="float")
    # Left to itself the client asks for base64 and decodes it after parsing, so its strict validation
    # (which wants lists) cannot be on for that call, against any server.
    loose = served.client(_strict_response_validation=False)
    packed = loose.embeddings.create(model=EMBEDDER, input=TEXTS)
    with httpx2.Client(base_url=served.server.url) as http:
        raw = http.post("/embeddings", json={"model": EMBEDDER, "input": TEXTS, "encoding_format": "base64"})
    a = np.array([d.embedding for d in floats.data], dtype=np.float32)
    b = np.array([d.embedding for d in packed.data], dtype=np.float32)
    c = np.stack([np.frombuffer(base64.b64decode(d["embedding"]), dtype="<f4") for d in raw.json()["data"]])
    np.testing.assert_array_equal(a, c)
    assert a.shape == (2, 384) and [d.index for d in floats.data] == [0, 1]
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(a, embedder.encode(TEXTS), atol=1e-6)


def test_one_string_is_one_embedding(served):
    one = served.client().embeddings.create(model=EMBEDDER, input="bread", encoding_format="float")
    assert len(one.data) == 1 and one.model == EMBEDDER


def test_empty_input_and_other_dimensions_are_400s_and_text_models_are_not_embedders(served):
    client = served.client()
    with pytest.raises(openai.BadRequestError) as empty:
        client.embeddings.create(model=EMBEDDER, input=[])
    assert empty.value.param == "input"
    with pytest.raises(openai.BadRequestError) as dims:
        client.embeddings.create(model=EMBEDDER, input="bread", dimensions=128)
    assert dims.value.param == "dimensions" and "384" in dims.value.message
    with pytest.raises(openai.NotFoundError):
        client.embeddings.create(model="SmolLM2-135M-Instruct.Q4_1.gguf", input="bread")


def test_images_come_as_base64_png_of_the_asked_size_and_are_recorded(served, image_model, one_torch_thread):
    client = served.client(default_headers={"User-Agent": "Painter/1.0"})
    result = client.images.generate(model=image_model, prompt="a red square", size="64x64", n=2,
                                    extra_body={"steps": 2, "guidance_scale": 1.5, "seed": 7,
                                                "negative_prompt": "blurry"})
    assert len(result.data) == 2
    images = [Image.open(io.BytesIO(base64.b64decode(d.b64_json))) for d in result.data]
    assert all(im.format == "PNG" and im.size == (64, 64) for im in images)
    store = served.shared.history_store
    store.flush(timeout=60)
    records = [r for r in store.iter_records("origin = 'api'") if r.prompt == "a red square"]
    assert sorted(r.seed for r in records) == [7, 8]
    assert all(r.kind == "image" and r.parameters["api_client"] == "Painter/1.0" for r in records)
    assert all(r.parameters["steps"] == 2 and r.negative_prompt == "blurry" for r in records)


def test_an_image_url_is_the_saved_file(served, image_model, one_torch_thread):
    result = served.client().images.generate(model=image_model, prompt="a blue square", size="64x64",
                                             response_format="url", extra_body={"steps": 1, "seed": 3})
    url = result.data[0].url
    assert url is not None and url.startswith("file://")
    path = Path(url2pathname(urlparse(url).path))
    assert Image.open(path).size == (64, 64)


def test_a_size_the_model_family_refuses_is_a_400_with_its_reason(served, image_model):
    with httpx2.Client(base_url=served.server.url, timeout=60) as http:
        response = http.post("/images/generations", json={"model": image_model, "prompt": "x", "size": "100x70"})
    assert response.status_code == 400
    assert "multiples of 8" in response.json()["error"]["message"]
