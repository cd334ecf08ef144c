"""``genlab --self-test`` from source: every check passes, offline."""

import os
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_self_test_passes_from_source(genlab_home):
    proc = subprocess.run([sys.executable, "-m", "desktop", "--self-test"], capture_output=True, text=True,
                          timeout=600, env=dict(os.environ, GENLAB_SELFTEST_TRACEBACK="1"))
    lines = proc.stdout.splitlines()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    checks = [line for line in lines if line.startswith(("PASS ", "FAIL "))]
    assert len(checks) == 10 and all(line.startswith("PASS") for line in checks), checks
    assert lines[-1] == "self-test: 10 passed, 0 failed"
    # It works in its own temporary root and leaves the user's data root alone.
    assert not any(genlab_home.iterdir())
