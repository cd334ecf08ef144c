import subprocess
import sys

import pytest

from desktop.core.errors import AlreadyRunning
from desktop.core.instance import InstanceLock, instance_key


def test_second_lock_on_same_root_is_refused(genlab_home):
    with InstanceLock():
        proc = subprocess.run(
            [sys.executable, "-c",
             "from desktop.core.instance import InstanceLock\n"
             "from desktop.core.errors import AlreadyRunning\n"
             "try:\n    InstanceLock().acquire()\nexcept AlreadyRunning as e:\n    print('refused:', e)\n"],
            capture_output=True, text=True, timeout=30)
        assert proc.stdout.startswith("refused: GenLab is already running")
        assert str(genlab_home) in proc.stdout


def test_lock_is_released_and_reusable(genlab_home):
    lock = InstanceLock()
    lock.acquire()
    with pytest.raises(AlreadyRunning):
        InstanceLock().acquire()  # a second open file description conflicts too
    lock.release()
    with InstanceLock() as again:
        assert again.held


def test_instance_key_depends_on_data_root(tmp_path):
    assert instance_key(tmp_path / "a") != instance_key(tmp_path / "b")
    assert instance_key(tmp_path / "a") == instance_key(tmp_path / "a")
