"""The int8 ONNX embedder: exported from the packaged MiniLM weights, checked against them, cached, rebuilt.

Everything runs the real model, torch export and onnxruntime; one export (tens of
seconds on two cores) is shared by the module, and one more proves the rebuild.
"""

from __future__ import annotations

import json
import logging
import shutil

import numpy as np
import pytest

pytest.importorskip("onnxruntime", reason="the int8 embedder needs onnxruntime (a GenLab dependency)")

from desktop.core.history import onnx_embedding  # noqa: E402
from desktop.core.history.embedder import PACKAGED_SHA256, Embedder, EmbedderUnavailable, packaged_model_dir  # noqa: E402

pytestmark = pytest.mark.slow

TEXTS = [
    "a cat sleeps on the sofa",
    "a kitten naps on the couch",
    "Act as a travel guide and suggest places to visit near my location.",
    "Write a Python function that parses an ISO 8601 date and returns a datetime in UTC.",
    "tax law reform",
    "Je voudrais un café au lait, s'il vous plaît.",
    "The indexer notices changed, added and deleted files on the next open, by size and mtime, then by "
    "content hash; a file is either fully indexed or not at all, so a kill -9 loses nothing.",
]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """One int8 graph exported from the packaged weights (the module's tests copy it into their data root)."""
    graph = tmp_path_factory.mktemp("int8") / "graph.onnx"
    lowest = onnx_embedding.export_int8(packaged_model_dir(), graph)
    return graph, lowest


def _install(graph) -> None:
    """Put ``graph`` where the embedder looks for its cache in this test's data root."""
    dest = onnx_embedding.cache_path(PACKAGED_SHA256)
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(graph, dest)


def test_int8_vectors_agree_with_sentence_transformers(exported):
    graph, lowest = exported
    assert lowest >= onnx_embedding.MIN_AGREEMENT
    _install(graph)
    fp32, int8 = Embedder(backend="fp32"), Embedder(backend="int8")
    fp32.load()
    int8.load()
    assert (fp32.model_id, int8.model_id) == ("all-MiniLM-L6-v2", "all-MiniLM-L6-v2+int8")
    want, got = fp32.encode(TEXTS), int8.encode(TEXTS)
    assert got.shape == want.shape == (len(TEXTS), 384) and got.dtype == np.float32
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-4)
    cosines = (got * want).sum(axis=1)
    assert cosines.min() >= onnx_embedding.MIN_AGREEMENT and cosines.mean() >= onnx_embedding.MIN_MEAN_AGREEMENT
    # A text gets one vector, whatever else is encoded with it (see OnnxEmbedding.encode).
    alone = np.stack([int8.encode([t])[0] for t in TEXTS])
    assert np.allclose(alone, got, atol=1e-6)
    # What the ranking needs: the paraphrase is still the nearest text.
    assert got[0] @ got[1] > got[0] @ got[4] + 0.2


def test_the_cache_is_reused_and_a_corrupt_cache_file_is_exported_again(exported, caplog):
    graph, _ = exported
    _install(graph)
    cache = onnx_embedding.cache_path(PACKAGED_SHA256)
    before = cache.stat()
    first = Embedder(backend="int8")
    with caplog.at_level(logging.INFO, logger="desktop.core.history.embedder"):
        first.load()
    assert first.model_id.endswith("+int8")
    assert "exporting" not in caplog.text  # loaded from the cache
    after = cache.stat()
    assert (after.st_ino, after.st_mtime_ns, after.st_size) == (before.st_ino, before.st_mtime_ns, before.st_size)

    data = bytearray(cache.read_bytes())
    cache.write_bytes(bytes(data[: len(data) // 2]))  # cut short, as by a full disk
    caplog.clear()
    again = Embedder(backend="int8")
    with caplog.at_level(logging.INFO, logger="desktop.core.history.embedder"):
        again.load()
    assert "unusable" in caplog.text and "exporting it again" in caplog.text
    assert again.model_id.endswith("+int8")
    rebuilt = onnx_embedding.load_checked(cache, packaged_model_dir())  # the new file passes its own check
    assert np.allclose(rebuilt.encode(TEXTS), again.encode(TEXTS), atol=1e-6)
    assert not list(cache.parent.glob(".export-*"))  # no temporary folder left behind


def test_a_graph_that_disagrees_with_its_stamp_is_refused(exported, tmp_path):
    """A valid graph whose check vectors do not match what it computes (here: another text's) is not used."""
    import onnx

    graph, _ = exported
    model = onnx.load(str(graph))
    stamp = next(p for p in model.metadata_props if p.key == "genlab_reference")
    vectors = np.asarray(json.loads(stamp.value))
    stamp.value = json.dumps(np.roll(vectors, 1, axis=0).tolist())
    wrong = tmp_path / "wrong.onnx"
    onnx.save(model, str(wrong))
    with pytest.raises(ValueError, match="agrees with the model only to cosine"):
        onnx_embedding.load_checked(wrong, packaged_model_dir())


def test_a_failed_export_falls_back_to_fp32_with_the_reason_logged(genlab_home, caplog):
    """The cache folder cannot be made (a file stands in its place): auto falls back, int8 says why."""
    (genlab_home / "cache").mkdir()
    (genlab_home / "cache" / "embedders").write_text("not a folder")
    auto = Embedder(backend="auto")
    with caplog.at_level(logging.INFO, logger="desktop.core.history.embedder"):
        auto.load()
    assert auto.model_id == "all-MiniLM-L6-v2" and auto.int8 is None
    assert "int8 embedder unavailable" in caplog.text and "using fp32" in caplog.text
    assert auto.encode(["a cat sleeps on the sofa"]).shape == (1, 384)

    with pytest.raises(EmbedderUnavailable, match="cannot be loaded"):
        Embedder(backend="int8").load()
