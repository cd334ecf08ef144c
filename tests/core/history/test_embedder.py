"""The embedder loads offline from the package and checks its weights."""

from __future__ import annotations

import numpy as np
import pytest

from desktop.core.history.embedder import PACKAGED_SHA256, EmbedderUnavailable, _verify, find_model_dir

# the slow set: most tests here load a real model or pipeline, or spawn processes
pytestmark = pytest.mark.slow


def test_packaged_model_is_found_with_its_checksum():
    folder, expected = find_model_dir()
    assert (folder / "model.safetensors").is_file()
    assert expected == PACKAGED_SHA256


def test_the_catalog_download_of_the_embedder_is_used_and_bad_copies_are_passed_over(genlab_home, hub, embedder):
    """Download the catalog's all-MiniLM-L6-v2 from the loopback hub the way the Models workspace does;
    the history then loads the library's copy, and the same vectors come out."""
    from desktop.core.history.embedder import Embedder, packaged_model_dir
    from desktop.core.hub.download import FileRef, default_destination, download_file
    from desktop.core.models.catalog import find_entry

    entry = find_entry("all-minilm-l6-v2")
    packaged = packaged_model_dir()
    files = entry.variants[0].files
    hub.add_repo(entry.repo_id, {f.name: packaged / f.name for f in files})
    for f in files:
        result = download_file(FileRef(entry.repo_id, f.name))
        assert result.sha256 == f.sha256 and result.path.stat().st_size == f.size  # the catalog is exact
    library_copy = default_destination(FileRef(entry.repo_id, "modules.json")).parent
    assert find_model_dir() == (library_copy, None)
    from_library = Embedder()
    from_library.load()
    assert from_library.folder == library_copy
    texts = ["a cat sleeps on the sofa", "tax law reform"]
    assert np.allclose(from_library.encode(texts), embedder.encode(texts), atol=1e-5)

    (library_copy / "1_Pooling" / "config.json").unlink()  # incomplete: the packaged copy is used
    assert find_model_dir() == (packaged, PACKAGED_SHA256)
    (library_copy / "1_Pooling" / "config.json").write_text("{not json")  # complete but broken
    fallback = Embedder()
    fallback.load()
    assert fallback.folder == packaged and fallback.encode(["x"]).shape == (1, 384)


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

