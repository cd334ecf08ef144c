"""Exact re-runs find their model by sha256, or say what to do."""

from __future__ import annotations

import pytest

from desktop.core.errors import ModelFileError
from desktop.core.history.rerun import model_for_rerun
from desktop.core.models.library import Library
from desktop.core.records import GenerationRecord, ModelIdentity


def test_model_is_found_by_sha256(tiny_gguf):
    model = Library().add_path(tiny_gguf, source="imported", owned=False)
    record = GenerationRecord(kind="text", prompt="p", model=ModelIdentity(name="renamed", sha256=model.sha256))
    assert model_for_rerun(record).path == model.path


def test_missing_or_unknown_model_is_a_clear_error():
    with pytest.raises(ModelFileError, match="no sha256"):
        model_for_rerun(GenerationRecord(kind="text", prompt="p"))
    record = GenerationRecord(kind="text", prompt="p", model=ModelIdentity(name="gone.gguf", sha256="ab" * 32))
    with pytest.raises(ModelFileError, match="gone.gguf .* is not in the model library") as info:
        model_for_rerun(record)
    assert "Download or import" in str(info.value)


def test_switching_embedder_re_embeds_everything(genlab_home):
    from desktop.core.history.store import HistoryStore
    from tests.support.history import make_record

    store = HistoryStore(embedder=None)
    try:
        store.save_embedded([make_record("a"), make_record("b")], [[0.1] * 384, [0.2] * 384])
        assert store.unembedded == 0
        store.switch_embedder("no-such-embedder")
        assert store.unembedded == 2 and store.count("embedded = false") == 2
        assert store.meta["embed_model"] == "no-such-embedder"
        assert not store.embedder.wait_ready(60)
        assert "no-such-embedder" in str(store.embedder.error)
    finally:
        store.close()
