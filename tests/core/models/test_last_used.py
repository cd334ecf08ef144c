"""Loading a model in an engine stamps the library's "last used" column."""

from __future__ import annotations

import pytest

from desktop.core.models.library import Library
from desktop.core.records import ListSink


@pytest.mark.slow
def test_loading_a_text_model_stamps_its_library_entry(tiny_gguf):
    from desktop.core.text.engine import TextEngine

    library = Library()
    model = library.import_path(tiny_gguf, "link")
    assert library.get(model.id).last_used == 0
    engine = TextEngine(history=ListSink())
    try:
        engine.load(tiny_gguf)
    finally:
        engine.close()
    assert library.get(model.id).last_used > 0


@pytest.mark.slow
@pytest.mark.usefixtures("one_torch_thread")
def test_generating_an_image_stamps_its_library_entry(tiny_sd_pipeline):
    from desktop.core.image.engine import ImageEngine, ImageRequest
    from desktop.core.image.params import ImageParams

    library = Library()
    model = library.import_path(tiny_sd_pipeline, "link")
    assert library.get(model.id).last_used == 0
    engine = ImageEngine()
    try:
        engine.generate(ImageRequest(str(tiny_sd_pipeline), ImageParams(prompt="a lighthouse", steps=1, width=64,
                                                                        height=64, seed=1)), sink=ListSink())
    finally:
        engine.close()
    assert library.get(model.id).last_used > 0


@pytest.mark.slow
def test_a_model_outside_the_library_is_listed_as_a_link_when_loaded(tiny_gguf):
    from desktop.core.text.engine import TextEngine

    engine = TextEngine(history=ListSink())
    try:
        sha256 = engine.load(tiny_gguf).sha256
    finally:
        engine.close()
    [model] = Library().models()
    assert (model.path, model.sha256, model.owned) == (str(tiny_gguf), sha256, False) and model.last_used > 0
