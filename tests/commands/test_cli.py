"""The ``genlab`` command as a process: what it does to the data root before any subcommand runs."""

import os
import stat
import subprocess
import sys

import pytest

# the slow set: most tests here load a real model or pipeline, or spawn processes
pytestmark = pytest.mark.slow


def genlab(*argv: str, home) -> subprocess.CompletedProcess:
    env = dict(os.environ, GENLAB_HOME=str(home))
    return subprocess.run([sys.executable, "-m", "desktop", *argv], capture_output=True, text=True,
                          timeout=120, env=env)


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_cli_makes_a_new_data_root_user_only(tmp_path):
    home = tmp_path / "new" / "GenLab"
    old_umask = os.umask(0o022)  # the usual default: without care the root would be 0755
    try:
        proc = genlab("models", "scan", home=home)
    finally:
        os.umask(old_umask)
    assert proc.returncode == 0, proc.stderr
    assert (home / "logs").is_dir()  # the command did write under the root
    assert stat.S_IMODE(home.stat().st_mode) == 0o700


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_cli_tightens_an_existing_open_data_root(tmp_path):
    home = tmp_path / "GenLab"
    home.mkdir()
    home.chmod(0o755)
    proc = genlab("history", "stats", home=home)
    assert proc.returncode == 0, proc.stderr
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
