"""A file system without ``flock`` (NFS without a lock daemon answers ENOLCK): GenLab works on, unlocked.

Such a file system cannot be mounted in a test, so the OS lock call that
``portalocker`` makes (``flock`` on POSIX; its ``LOCKER`` is the documented
place to swap it) answers the way it would there; everything else (the loopback hub, the downloads, the
real llama.cpp engine, the library) is real.
"""

from __future__ import annotations

import errno
import hashlib
import os
from pathlib import Path

import portalocker
import pytest

from desktop.core.errors import AlreadyRunning, DataRootError
from desktop.core.hub.download import FileRef, download_file, part_path, transfer_elsewhere
from desktop.core.hub.transfer import RetryPolicy
from desktop.core.instance import InstanceLock
from desktop.core.models import locks as model_locks
from desktop.core.models.library import Library
from tests.support.hub_server import gguf_file_bytes

pytest.importorskip("fcntl", reason="portalocker calls flock through LOCKER on POSIX only")

REPO, FILE = "genlab-test/tiny-GGUF", "tiny-Q4_K_M.gguf"
FAST = RetryPolicy(base_delay=0.02, max_delay=0.2, stall_seconds=5.0)


@pytest.fixture
def no_flock(monkeypatch):
    """Every ``flock`` fails with ENOLCK; returns the list of attempts (so a test sees locking was tried)."""
    attempts = []

    def refuse(fd, operation):
        attempts.append(operation)
        raise OSError(errno.ENOLCK, os.strerror(errno.ENOLCK))

    monkeypatch.setattr(portalocker.portalocker, "LOCKER", refuse)
    return attempts


def test_a_download_goes_ahead_and_is_verified(hub, tmp_path, no_flock):
    data = gguf_file_bytes(2 * 1024 * 1024, 3)
    hub.add_repo(REPO, {FILE: data}, tags=["gguf"], library_name="gguf")
    dest = tmp_path / FILE
    (tmp_path / (FILE + ".part.lock")).touch()  # a lock file left by an earlier run
    assert not transfer_elsewhere(dest)  # "cannot lock" is not "another process holds it"

    result = download_file(FileRef(REPO, FILE), dest, policy=FAST)
    assert result.sha256 == hashlib.sha256(data).hexdigest() and dest.read_bytes() == data
    assert not part_path(dest).exists()
    assert no_flock  # locking was tried, and its failure did not stop the download


@pytest.mark.slow
def test_a_model_loads_and_can_be_deleted_after_unloading(tiny_gguf, no_flock):
    from desktop.core.text.engine import TextEngine

    model = Library().import_path(tiny_gguf, "copy")
    path = Path(model.path)
    engine = TextEngine(safe_load=False)
    engine.load(path)  # a load is never refused for want of a lock
    assert engine.loaded
    assert not model_locks.loaded_anywhere(path)  # unknowable here; the in-process check still guards
    engine.unload()
    Library().delete(model.id)
    assert not path.exists() and Library().models() == []
    assert no_flock


def test_a_data_folder_that_cannot_be_locked_is_named_not_taken_for_a_running_genlab(genlab_home, no_flock):
    with pytest.raises(DataRootError) as info:
        InstanceLock().acquire()
    assert not isinstance(info.value, AlreadyRunning)
    assert info.value.message.startswith(f"The data folder {genlab_home} cannot be locked")
    assert os.strerror(errno.ENOLCK) in info.value.message
    assert "local disk" in info.value.hint and "GENLAB_HOME" in info.value.hint
    assert no_flock
