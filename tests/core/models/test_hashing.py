import hashlib
import os

from desktop.core.models import hashing


def test_model_sha256_matches_hashlib_and_is_cached(tmp_path):
    f = tmp_path / "model.gguf"
    f.write_bytes(os.urandom(3 * hashing.CHUNK + 17))
    expected = hashlib.sha256(f.read_bytes()).hexdigest()
    assert hashing.cached_sha256(f) is None
    assert hashing.model_sha256(f) == expected
    assert hashing.cached_sha256(f) == expected


def test_cache_is_invalidated_when_the_file_changes(tmp_path):
    f = tmp_path / "model.bin"
    f.write_bytes(b"a" * 1000)
    first = hashing.model_sha256(f)
    f.write_bytes(b"b" * 1001)
    assert hashing.cached_sha256(f) is None
    second = hashing.model_sha256(f)
    assert second != first == hashlib.sha256(b"a" * 1000).hexdigest()


def test_progress_reaches_the_end(tmp_path):
    f = tmp_path / "m"
    f.write_bytes(b"x" * (2 * hashing.CHUNK))
    reports = []
    hashing.sha256_file(f, progress=reports.append)
    assert reports[-1].fraction == 1.0 and reports[-1].current == 2 * hashing.CHUNK
