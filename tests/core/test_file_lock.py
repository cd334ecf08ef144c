"""Cross-process locks: the GUI and the CLI updating the same JSON files at once lose nothing."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading

from desktop.core import file_lock
from desktop.core.library import Library
from desktop.core.model_download_queue import DownloadList
from tests.conftest import REPO_ROOT

# One "GenLab process": waits for the go file, then adds ``count`` downloads and ``count``
# library models (each of which also writes the hash cache), one read-modify-write at a time.
HAMMER = r"""
import hashlib, sys, time
from pathlib import Path

from desktop.core.downloads import FileRef
from desktop.core.library import Library
from desktop.core.model_download_queue import DownloadList
from desktop.core.model_headers import ModelFacts

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
