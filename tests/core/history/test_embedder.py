"""The embedder loads offline from the package and checks its weights."""

from __future__ import annotations

import numpy as np
import pytest

from desktop.core.history.embedder import PACKAGED_SHA256, EmbedderUnavailable, _verify, find_model_dir


def test_packaged_model_is_found_with_its_checksum():
    folder, expected = find_model_dir()
    assert (folder / "model.safetensors").is_file()
    assert expected == PACKAGED_SHA256


def test_model_library_copy_wins(genlab_home):
    library = genlab_home / "models" / "all-MiniLM-L6-v2"
    library.mkdir(parents=True)
    (library / "modules.json").write_text("[]")
    assert find_model_dir() == (library, None)


def test_corrupt_weights_are_refused(tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"not the weights")
    with pytest.raises(EmbedderUnavailable, match="corrupt"):
        _verify(tmp_path, PACKAGED_SHA256)


def test_embeddings_are_unit_length_and_meaningful(embedder):
    vectors = embedder.encode(["a cat sleeps on the sofa", "a kitten naps on the couch", "tax law reform"])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2


def test_background_loading_reports_ready(embedder):
    from desktop.core.history.embedder import Embedder

    e = Embedder()
    assert not e.ready
    assert e.wait_ready(120)
    assert e.encode(["x"]).shape == (1, 384)
