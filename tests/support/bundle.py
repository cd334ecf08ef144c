"""The frozen bundle: build it from build.spec and run its self-test.

Shared by ``python -m bench package`` and the packaging tests.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SIZE_GOAL = 1.5e9
APP = "GenLab"


def build(dist: Path, work: Path) -> tuple[int, float, str]:
    """Run PyInstaller on build.spec; (exit code, seconds, log tail)."""
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
         "--distpath", str(dist), "--workpath", str(work), str(ROOT / "build.spec")],
        cwd=ROOT, capture_output=True, text=True)
    return proc.returncode, time.perf_counter() - start, (proc.stdout + proc.stderr)[-4000:]


def executable(bundle: Path) -> Path:
    return bundle / (f"{APP}.exe" if os.name == "nt" else APP)


def frozen_env(home: str) -> dict[str, str]:
    env = dict(os.environ, GENLAB_HOME=home)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    return env


def self_test(bundle: Path, timeout: float = 900) -> tuple[int, list[str], str]:
    """Run the bundle's self-test; (exit code, PASS/FAIL lines, full output)."""
    with tempfile.TemporaryDirectory() as home:
        proc = subprocess.run([str(executable(bundle)), "--self-test"], capture_output=True, text=True,
                              env=frozen_env(home), timeout=timeout)
    out = proc.stdout + proc.stderr
    checks = [line for line in proc.stdout.splitlines() if line.startswith(("PASS ", "FAIL "))]
    return proc.returncode, checks, out


def tree_size(folder: Path) -> tuple[int, int]:
    """Bytes and number of regular files under ``folder`` (links not followed)."""
    total = files = 0
    for dirpath, _dirs, names in os.walk(folder):
        for name in names:
            path = os.path.join(dirpath, name)
            if not os.path.islink(path):
                total += os.lstat(path).st_size
                files += 1
    return total, files
