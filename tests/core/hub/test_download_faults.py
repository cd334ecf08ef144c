"""Downloads under process kills, full disks and read-only folders (real processes, real filesystems)."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from desktop.core.hub.download import FileRef, default_destination, download_file, part_path
from desktop.core.hub.queue import DownloadList
from desktop.core.hub.transfer import MAX_UNWRITTEN, RetryPolicy
from desktop.core.models.errors import DiskFull, ModelsDirError
from desktop.core.models.library import Library
from tests.support.hub_server import gguf_file_bytes

pytestmark = pytest.mark.skipif(os.name != "posix", reason="uses SIGKILL, RLIMIT_FSIZE and mount (POSIX)")

MB = 1024 * 1024
REPO, FILE = "genlab-test/kill-GGUF", "kill-Q8_0.gguf"
REPO_ROOT = Path(__file__).resolve().parents[2]

# A restarted GenLab: resume every download the persisted list still has.
RESUME_ALL = """
import sys
from desktop.core.errors import GenLabError
from desktop.core.jobs import CancelToken
from desktop.core.hub.queue import DownloadList, run_entry
from desktop.core.hub.transfer import MAX_UNWRITTEN, RetryPolicy
downloads = DownloadList()
try:
    for entry in downloads.resumable():
        run_entry(entry, downloads, policy=RetryPolicy(base_delay=0.05, max_delay=0.5), cancel=CancelToken())
except GenLabError as exc:
    print(f"error: {exc}", file=sys.stderr)
    sys.exit(2)
"""


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("HF_HUB_OFFLINE", None)
    env["PYTHONPATH"] = str(REPO_ROOT)
    return env


def _start(preexec=None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", RESUME_ALL], cwd=REPO_ROOT, env=_child_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=preexec)


def _socket_queues(port: int) -> dict[str, int]:
    """Bytes the kernel holds on the loopback connection whose client end is ``port``.

    ``received``: arrived at the client, not yet read by it; ``unacked``: sent by
    the server, not yet acknowledged by the client's kernel (``/proc/net/tcp``).
    """
    queues = {"received": 0, "unacked": 0}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table, encoding="ascii") as fh:
            for line in fh.readlines()[1:]:
                fields = line.split()
                local, remote = int(fields[1].rsplit(":", 1)[1], 16), int(fields[2].rsplit(":", 1)[1], 16)
                tx, rx = (int(x, 16) for x in fields[4].split(":"))
                if local == port:
                    queues["received"] += rx
                elif remote == port:
                    queues["unacked"] += tx
    return queues


def _wait_until_read(port: int, child: subprocess.Popen) -> None:
    """Until every byte the server sent has been read by the client process (state check, no fixed sleep)."""
    deadline = time.monotonic() + 30
    while (queues := _socket_queues(port)) != {"received": 0, "unacked": 0}:
        assert child.poll() is None and time.monotonic() < deadline, queues
        time.sleep(0.005)


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/proc/net/tcp"), reason="reads the kernel's socket queues (Linux)")
def test_sigkill_ten_times_then_restart_completes_verified(hub):
    """Each kill lands mid-buffer while the server holds the connection open, once the client process has
    read everything sent; then it loses at most the bytes read and not yet written (MAX_UNWRITTEN)."""
    data = gguf_file_bytes(6 * MB, seed=3)
    hub.add_repo(REPO, {FILE: data})
    ref = FileRef(REPO, FILE)
    DownloadList().add(ref)
    dest, part = default_destination(ref), part_path(default_destination(ref))
    rng = random.Random(11)
    kill_points = sorted(rng.sample(range(MB // 4, len(data) - MB // 4), 10))
    lost = []
    for point in kill_points:
        hub.faults.stalled.clear()
        hub.faults.stall_at, hub.faults.stall_seconds = point, 300.0  # the server sends up to here, then waits
        kept_before = part.stat().st_size if part.exists() else 0
        child = _start()
        assert hub.faults.stalled.wait(60), child.communicate(timeout=10)
        _wait_until_read(hub.faults.stall_peer, child)
        sent = hub.stats.body_bytes
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        assert not dest.exists(), "killed before the end: nothing may be installed yet"
        assert Library().models() == [], "a partial file is never listed"
        kept = part.stat().st_size
        assert kept >= kept_before
        lost.append(sent - kept - sum(lost))  # every run resumes at the bytes kept: the rest of what it got is lost
    assert all(0 <= each <= MAX_UNWRITTEN for each in lost), lost
    final = _start()
    out, err = final.communicate(timeout=120)
    assert final.returncode == 0, err
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == hashlib.sha256(data).hexdigest()
    assert [m.sha256 for m in Library().models()] == [hashlib.sha256(data).hexdigest()]
    assert DownloadList().get(ref.key).status == "done"
    assert hub.stats.body_bytes == len(data) + sum(lost) <= len(data) + len(kill_points) * MAX_UNWRITTEN


def _limit_file_size() -> None:
    import resource

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG instead of being killed
    resource.setrlimit(resource.RLIMIT_FSIZE, (2 * MB, 2 * MB))


@pytest.mark.slow
def test_disk_full_while_writing_gives_a_clear_error_and_lists_nothing(hub):
    data = gguf_file_bytes(4 * MB, seed=4)
    hub.add_repo(REPO, {FILE: data})
    ref = FileRef(REPO, FILE)
    DownloadList().add(ref)
    child = _start(preexec=_limit_file_size)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 2, err
    assert "error: The disk is full" in err
    assert not default_destination(ref).exists()
    assert Library().models() == []
    assert DownloadList().get(ref.key).status == "failed"


def _mount_tmpfs(target: Path, options: str) -> None:
    target.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(target)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here ({done.stderr.strip()}); needs root")


@pytest.fixture
def small_fs(tmp_path):
    mounts = []

    def make(options: str) -> Path:
        target = tmp_path / f"fs{len(mounts)}"
        _mount_tmpfs(target, options)
        mounts.append(target)
        return target

    yield make
    for target in mounts:
        subprocess.run(["umount", "-l", str(target)], check=False)


def test_a_too_small_filesystem_is_refused_before_any_byte(hub, small_fs):
    data = gguf_file_bytes(6 * MB, seed=5)
    hub.add_repo(REPO, {FILE: data})
    models = small_fs("size=4m")
    dest = models / FILE
    with pytest.raises(DiskFull, match="Not enough disk space") as info:
        download_file(FileRef(REPO, FILE), dest, policy=RetryPolicy(base_delay=0.02))
    assert str(models) in str(info.value)
    assert not dest.exists() and not part_path(dest).exists()
    assert hub.stats.content_requests == 0


def test_read_only_models_folder_is_a_clear_error(hub, small_fs):
    hub.add_repo(REPO, {FILE: gguf_file_bytes(1 * MB)})
    models = small_fs("ro,size=1m")
    with pytest.raises(ModelsDirError, match="Cannot write to the models folder"):
        download_file(FileRef(REPO, FILE), models / "sub" / FILE)


def test_import_into_a_read_only_models_folder_is_refused_but_link_works(small_fs, monkeypatch, tmp_path):
    models = small_fs("ro,size=1m")
    monkeypatch.setenv("GENLAB_MODELS_DIR", str(models))
    source = tmp_path / "mine-Q4_0.gguf"
    source.write_bytes(gguf_file_bytes(100_000))
    with pytest.raises(ModelsDirError, match="read-only|Cannot write"):
        Library().import_path(source, "copy")
    assert Library().models() == []
    linked = Library().import_path(source, "link")
    assert linked.path == str(source) and not linked.owned


@pytest.mark.slow
def test_a_filesystem_filling_up_mid_transfer_keeps_the_part_and_resumes_once_space_is_freed(hub, small_fs):
    import threading

    data = gguf_file_bytes(16 * MB, seed=7)
    hub.add_repo(REPO, {FILE: data})
    hub.faults.rate = 4 * MB  # slow enough to fill the disk while it runs
    models = small_fs("size=96m")  # room for the file and the 64 MB reserve when it starts
    dest, ref = models / FILE, FileRef(REPO, FILE)
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            download_file(ref, dest, policy=RetryPolicy(base_delay=0.02))
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            outcome.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    deadline = time.monotonic() + 30
    while not (part_path(dest).exists() and part_path(dest).stat().st_size > 2 * MB):
        assert time.monotonic() < deadline and worker.is_alive()
        time.sleep(0.02)
    filler = models / "another-program.bin"
    with open(filler, "wb", buffering=0) as out:  # another program takes every byte that is left
        try:
            while True:
                out.write(b"\0" * MB)
        except OSError:
            pass
    worker.join(30)
    [error] = outcome
    assert isinstance(error, DiskFull) and "The disk is full" in error.message, error
    assert "partial file is kept" in error.hint
    kept = part_path(dest).stat().st_size
    assert 2 * MB < kept < len(data) and not dest.exists()
    filler.unlink()
    hub.faults.rate = None
    result = download_file(ref, dest, policy=RetryPolicy(base_delay=0.02))
    assert result.resumed_from == kept
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == hashlib.sha256(data).hexdigest()
    assert hub.stats.body_bytes <= 1.1 * len(data), hub.stats.body_bytes / len(data)
