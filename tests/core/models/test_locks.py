"""A model loaded by any GenLab process cannot be deleted (real engines, real processes, real locks)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from desktop.core import file_lock
from desktop.core.errors import ModelFileError
from desktop.core.hardware import fmt_bytes
from desktop.core.models import locks as model_locks
from desktop.core.models.errors import ModelInUse
from desktop.core.models.library import Library
from tests.support.model_loader import REPO_ROOT, child_env, model_loaded_in_another_process

# the slow set: most tests here load a real model or pipeline, or spawn processes
pytestmark = pytest.mark.slow


def genlab(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "desktop", *argv], cwd=REPO_ROOT, env=child_env(),
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def imported(tiny_gguf):
    """The tiny GGUF copied into the library (GenLab owns the copy, so deleting it frees space)."""
    return Library().import_path(tiny_gguf, "copy")


def test_cli_delete_refuses_a_model_another_process_has_loaded_until_it_unloads(imported):
    path = Path(imported.path)
    with model_loaded_in_another_process(path) as loader:
        refused = genlab("models", "delete", imported.id, "--yes")
        assert refused.returncode == 2, refused.stderr
        assert refused.stderr.splitlines()[-1] == (f"error: {imported.name} is loaded in a running GenLab, so it "
                                                   "cannot be deleted. Unload it there (or close the app) and try "
                                                   "again.")
        assert path.exists() and Library().get(imported.id).path == str(path)
        loader.unload()
        done = genlab("models", "delete", imported.id, "--yes")
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == f"deleted {imported.name}; freed {fmt_bytes(imported.size)}"
        assert not path.exists() and Library().models() == []
        assert not model_locks.lock_path(path).exists()  # the lock file goes with the model


def test_a_killed_process_never_blocks_a_delete(imported):
    path = Path(imported.path)
    with model_loaded_in_another_process(path) as loader:
        with pytest.raises(ModelInUse, match="is loaded in a running GenLab"):
            Library().delete(imported.id)
        loader.kill()  # SIGKILL, no unload: the kernel drops its lock
    done = genlab("models", "delete", imported.id, "--yes")
    assert done.returncode == 0, done.stderr
    assert f"freed {fmt_bytes(imported.size)}" in done.stdout and not path.exists()


def test_the_lock_is_taken_by_load_and_given_back_by_unload_and_failed_loads(imported, tmp_path):
    from desktop.core.text.engine import TextEngine

    path = Path(imported.path)
    engine = TextEngine(safe_load=False)
    engine.load(path)
    assert model_locks.loaded_anywhere(path)
    with pytest.raises(ModelInUse):
        Library().plan_delete(imported.id)  # refused before anyone is asked to confirm
    engine.unload()
    assert not model_locks.loaded_anywhere(path)
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(path.read_bytes()[:4096])
    with pytest.raises(ModelFileError):
        engine.load(broken)
    assert not model_locks.loaded_anywhere(broken)


def test_a_model_being_deleted_is_not_loaded_meanwhile(imported):
    path = Path(imported.path)
    with model_locks.deletion_guard(path) as free:
        assert free
        with pytest.raises(ModelFileError, match="is being deleted by another GenLab"):
            model_locks.hold_model(path, wait=0.2)
    hold = model_locks.hold_model(path)
    assert hold.held and model_locks.loaded_anywhere(path)
    hold.release()
    assert not model_locks.loaded_anywhere(path)


def test_the_lock_follows_the_file_not_the_spelling_of_its_path(imported, tmp_path):
    path = Path(imported.path)
    link = tmp_path / "link.gguf"
    link.symlink_to(path)
    hold = model_locks.hold_model(link)
    try:
        assert model_locks.loaded_anywhere(path)
        assert model_locks.lock_path(path) == model_locks.lock_path(path.parent / ".." / path.parent.name / path.name)
    finally:
        hold.release()


def test_the_image_engine_holds_its_pipeline_folder_while_loaded(tiny_sd_pipeline, one_torch_thread):
    from desktop.core.image.engine import ImageEngine

    model = Library().import_path(tiny_sd_pipeline, "link")
    engine = ImageEngine()
    engine.load(tiny_sd_pipeline)
    try:
        with pytest.raises(ModelInUse, match="is loaded in a running GenLab"):
            Library().delete(model.id)
    finally:
        engine.unload()
    Library().delete(model.id)  # a linked model: only its entry goes, the folder stays
    assert tiny_sd_pipeline.is_dir() and Library().models() == []


def test_a_delete_check_whose_lock_file_was_replaced_meanwhile_sees_the_new_holder(imported, monkeypatch):
    """Between the check's open and its lock, another deleter removed the lock file and an engine loaded the
    model (a new lock file): the check must not take the old, unlinked file's lock for a free model."""
    path = Path(imported.path)
    target = model_locks.lock_path(path)
    real_lock = file_lock.lock_within
    holds = []

    def lock_after_a_delete_and_a_load(fd, *, exclusive, wait):
        if exclusive and not holds:
            holds.append(None)
            target.unlink()  # the other deleter's last step
            holds[0] = model_locks.hold_model(path)  # an engine loads: a new lock file, held shared
        return real_lock(fd, exclusive=exclusive, wait=wait)

    monkeypatch.setattr(file_lock, "lock_within", lock_after_a_delete_and_a_load)
    try:
        with model_locks.deletion_guard(path, patience=0.1) as free:
            assert not free
        assert target.exists()  # the loader's lock file stays
        assert model_locks.loaded_anywhere(path)
    finally:
        holds[0].release()
    assert not model_locks.loaded_anywhere(path)
