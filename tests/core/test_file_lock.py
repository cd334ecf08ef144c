"""Cross-process locks: the GUI and the CLI updating the same JSON files at once lose nothing."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
import threading

import pytest

from desktop.core import file_lock
from desktop.core.hub.queue import DownloadList
from desktop.core.models.library import Library
from tests.conftest import REPO_ROOT

# the slow set: most tests here load a real model or pipeline, or spawn processes
pytestmark = pytest.mark.slow

# One "GenLab process": waits for the go file, then adds ``count`` downloads and ``count``
# library models (each of which also writes the hash cache), one read-modify-write at a time.
HAMMER = r"""
import hashlib, sys, time
from pathlib import Path

from desktop.core.hub.download import FileRef
from desktop.core.models.library import Library
from desktop.core.hub.queue import DownloadList
from desktop.core.models.headers import ModelFacts

name, count, folder = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
downloads, library, facts = DownloadList(), Library(), ModelFacts("gguf", "text")
while not (folder / "go").exists():
    time.sleep(0.005)
for i in range(count):
    downloads.add(FileRef(f"{name}/repo", f"file-{i}.gguf"))
    model = folder / f"{name}-{i}.gguf"
    model.write_bytes(f"{name} {i}".encode())
    digest = hashlib.sha256(model.read_bytes()).hexdigest()
    library.add_path(model, source="found", owned=False, sha256=digest, facts=facts)
"""


def test_two_processes_updating_the_same_files_lose_no_update(tmp_path, genlab_home):
    count = 120
    env = {**os.environ, "GENLAB_HOME": str(genlab_home), "PYTHONPATH": str(REPO_ROOT)}
    workers = [subprocess.Popen([sys.executable, "-c", HAMMER, name, str(count), str(tmp_path)], env=env,
                                stderr=subprocess.PIPE, text=True)
               for name in ("gui", "cli")]
    (tmp_path / "go").touch()
    for worker in workers:
        _, errors = worker.communicate(timeout=240)
        assert worker.returncode == 0, errors
    assert len(DownloadList().entries()) == 2 * count
    assert len(Library().models()) == 2 * count
    cache = json.loads((genlab_home / "hash-cache.json").read_text(encoding="utf-8"))
    assert len(cache) == 2 * count


def test_the_lock_is_one_per_file_and_reentrant_in_a_thread(tmp_path):
    target = tmp_path / "state.json"
    lock = file_lock.lock_for(target)
    assert file_lock.lock_for(tmp_path / "." / "state.json") is lock
    entered = threading.Event()

    def other_thread():
        with file_lock.lock_for(target):
            entered.set()

    with lock:
        with lock:  # a method holding it calls another that takes it
            thread = threading.Thread(target=other_thread)
            thread.start()
            assert not entered.wait(0.2)  # held: the other thread waits
    assert entered.wait(5)
    thread.join(5)


def test_a_lock_file_that_cannot_be_created_falls_back_to_the_in_process_lock(tmp_path, caplog):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    with caplog.at_level(logging.WARNING, logger="desktop.core.file_lock"):
        with file_lock.lock_for(blocker / "state.json"):
            pass
    assert "cannot lock" in caplog.text and "could undo this one's change" in caplog.text


def test_reads_never_wait_for_another_process_holding_a_lock(tmp_path, genlab_home):
    """Only read-modify-writes take the lock: a look at the lists goes ahead while another process updates them."""
    import hashlib

    import pytest

    from desktop.core.hub.download import FileRef
    from desktop.core.models import hashing
    from desktop.core.models.headers import ModelFacts
    from tests.support.other_process import lock_held_by_another_process

    if os.name != "posix":
        pytest.skip("reads take the lock where a file cannot be replaced while open (Windows)")
    downloads, library = DownloadList(), Library()
    entry = downloads.add(FileRef("someone/repo", "m-Q4_0.gguf"))
    model_file = tmp_path / "m.gguf"
    model_file.write_bytes(b"GGUF model bytes")
    digest = hashlib.sha256(model_file.read_bytes()).hexdigest()
    model = library.add_path(model_file, source="found", owned=False, sha256=digest, facts=ModelFacts("gguf", "text"))
    targets = (downloads.path, library.index, genlab_home / "hash-cache.json")
    seen = {}

    def read_everything():
        seen["entries"] = [e.key for e in downloads.entries()]
        seen["entry"] = downloads.get(entry.key).key
        seen["models"] = [m.id for m in library.models()]
        seen["model"] = library.get(model.id).id
        seen["sha256"] = hashing.cached_sha256(model_file)

    with contextlib.ExitStack() as held:
        for target in targets:
            held.enter_context(lock_held_by_another_process(file_lock.lock_for(target).path))
        reader = threading.Thread(target=read_everything, daemon=True)
        reader.start()
        reader.join(5)
        assert not reader.is_alive(), "a read waited for another process's lock"
    assert seen == {"entries": [entry.key], "entry": entry.key, "models": [model.id], "model": model.id,
                    "sha256": digest}


def test_a_release_that_fails_still_lets_other_threads_in(tmp_path, monkeypatch):
    import pytest

    lock = file_lock.lock_for(tmp_path / "state.json")

    def broken_release(fd):
        os.close(fd)
        raise OSError("cannot unlock")

    monkeypatch.setattr(file_lock, "_release", broken_release)
    with pytest.raises(OSError, match="cannot unlock"):
        with lock:
            pass
    monkeypatch.setattr(file_lock, "_release", lambda fd: os.close(fd))
    entered = threading.Event()

    def other_thread():
        with lock:
            entered.set()

    threading.Thread(target=other_thread, daemon=True).start()
    assert entered.wait(5), "the thread whose release failed kept the lock"


# Updates each file (already larger than the limit) where no file may grow past 4 KiB, as on a full disk.
FULL_DISK_UPDATES = r"""
import resource, signal, sys
sys.dont_write_bytecode = True
from pathlib import Path
from desktop.core.models import hashing
from desktop.core.models.library import Library
from desktop.core.hub.queue import DownloadList

downloads, library = DownloadList(), Library()
key, model_id, model_file = downloads.entries()[0].key, library.models()[0].id, Path(sys.argv[1])
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, resource.RLIM_INFINITY))
for what, change in (("downloads", lambda: downloads.update(key, status="paused")),
                     ("library", lambda: library.mark_used(model_id)),
                     ("hash cache", lambda: hashing.remember_sha256(model_file, "0" * 64))):
    try:
        change()
        print(what, "raised nothing")
    except OSError as exc:
        print(what, "failed", exc.errno)
"""


def test_writes_that_fail_on_a_full_disk_leave_no_temporary_files(tmp_path, genlab_home):
    import errno
    import hashlib

    import pytest

    from desktop.core.hub.download import FileRef
    from desktop.core.models.headers import ModelFacts

    if sys.platform == "win32":
        pytest.skip("uses RLIMIT_FSIZE (POSIX only)")
    downloads, library = DownloadList(), Library()
    for i in range(40):  # each file well past 4 KiB
        downloads.add(FileRef("someone/repo", f"file-{i}.gguf"))
        model = tmp_path / f"model-{i}.gguf"
        model.write_bytes(f"model {i}".encode())
        library.add_path(model, source="found", owned=False, sha256=hashlib.sha256(model.read_bytes()).hexdigest(),
                         facts=ModelFacts("gguf", "text"))
    files = (downloads.path, library.index, genlab_home / "hash-cache.json")
    before = {path: path.read_bytes() for path in files}
    assert min(len(b) for b in before.values()) > 4096
    env = {**os.environ, "GENLAB_HOME": str(genlab_home), "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run([sys.executable, "-c", FULL_DISK_UPDATES, str(tmp_path / "model-0.gguf")], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"downloads failed {errno.EFBIG}", f"library failed {errno.EFBIG}",
                                        "hash cache raised nothing"]  # a failed cache write costs only a re-hash
    assert {path: path.read_bytes() for path in files} == before  # each file as it was
    assert sorted(p.name for p in genlab_home.iterdir() if p.name.startswith(".")) == []


def test_shared_holds_coexist_and_keep_an_exclusive_lock_out_until_the_last_one_goes(tmp_path):
    """The model-hold and delete-check semantics, on every platform (separate descriptors, as two processes)."""
    from desktop.core.file_lock import Outcome, try_lock

    path = tmp_path / "locks" / "model.lock"
    first, second = try_lock(path, exclusive=False, wait=0), try_lock(path, exclusive=False, wait=0)
    assert first.outcome is Outcome.TAKEN and second.outcome is Outcome.TAKEN
    assert try_lock(path, exclusive=True, wait=0.1).outcome is Outcome.BUSY
    first.lock.release()
    assert try_lock(path, exclusive=True, wait=0).outcome is Outcome.BUSY
    second.lock.release()
    check = try_lock(path, exclusive=True, wait=0)
    assert check.outcome is Outcome.TAKEN
    assert try_lock(path, exclusive=False, wait=0.1).outcome is Outcome.BUSY  # a load waits for the delete
    check.lock.release(remove=True)
    assert not path.exists()
    assert try_lock(path, exclusive=True, wait=0, create=False).outcome is Outcome.UNLOCKABLE  # a probe makes nothing
    assert not path.exists()
