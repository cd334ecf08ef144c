"""``python -m bench download``: GenLab's downloader vs a bare streaming GET.

Serves one file (1 GiB by default) from the loopback hub server
(``tests/support/hub_server.py``, in its own process) and fetches it, alternating, with

- ``genlab``: ``desktop.core.downloads.download_file`` (hub metadata, Range
  transfer into a .part, sha256 while receiving, verification, rename);
- ``bare``: an ``httpx2`` streaming GET of the same bytes into a file (the
  HTTP client huggingface_hub itself uses), no hashing;
- ``stdlib``: ``urllib`` + ``shutil.copyfileobj``, the leanest bare GET.

On a 2-core machine the unlimited loopback case is CPU-bound: the server,
the receiving thread and GenLab's sha256 (about 1 GB/s per core) compete
for the same cores, so ``--rate-mb 200`` (a fast real link) is also worth
reporting.

Prints medians and ``download_ratio`` = (faster bare time) / GenLab time
(≥ 0.9 is the goal: GenLab at least 90 % of the bare throughput).  With ``--gui`` a
third run downloads through the Qt ``JobRunner`` while a 5 ms QTimer ticks
and reports the longest gap between ticks (``gui_max_stall_ms``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MB = 1024 * 1024


def _make_file(path: Path, size: int) -> None:
    block = os.urandom(8 * MB)
    with open(path, "wb") as fh:
        left = size
        while left > 0:
            fh.write(block[: min(left, len(block))])
            left -= len(block)


def _bare_get(url: str, dest: Path) -> None:
    import httpx2

    with httpx2.Client(timeout=60, follow_redirects=True) as client:
        with client.stream("GET", url) as resp:
            resp.raise_for_status()
            with open(dest, "wb") as fh:
                for chunk in resp.iter_bytes(MB):
                    fh.write(chunk)


def _stdlib_get(url: str, dest: Path) -> None:
    import shutil
    import urllib.request

    with urllib.request.urlopen(url, timeout=60) as resp, open(dest, "wb") as fh:
        shutil.copyfileobj(resp, fh, MB)


def _genlab_get(ref, dest: Path) -> None:
    from desktop.core.downloads import download_file

    download_file(ref, dest)


def _gui_stall(ref, dest: Path) -> tuple[float, float]:
    """Longest gap (ms) between 5 ms timer ticks: while idle for 3 s (the machine's own noise), then
    while the download runs through the JobRunner with its progress shown in a label."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QLabel

    from desktop.core.downloads import download_file
    from desktop.core.jobs import Job
    from desktop.ui.runner import JobRunner

    app = QApplication.instance() or QApplication([])
    gaps: list[float] = []
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(5)
    QTimer.singleShot(3000, app.quit)
    last[0] = time.perf_counter()
    app.exec()
    idle = max(gaps[1:] or [0.0]) * 1000
    gaps.clear()
    runner = JobRunner()
    label = QLabel()
    handle = runner.submit(Job("bench download", lambda *, cancel, progress: download_file(
        ref, dest, cancel=cancel, progress=progress), kind="io"))
    handle.progressed.connect(lambda reports: label.setText(reports[-1].message))
    handle.ended.connect(app.quit)
    last[0] = time.perf_counter()
    app.exec()
    timer.stop()
    runner.shutdown()
    if handle.error:
        raise RuntimeError(handle.error)
    return idle, max(gaps[1:] or [0.0]) * 1000


_SERVER = """
import json, sys
from pathlib import Path
from tests.support.hub_server import HubServer
source, rate = Path(sys.argv[1]), float(sys.argv[2])
server = HubServer().start()
repo = server.add_repo("bench/big-GGUF", {source.name: source})
server.faults.rate = rate or None
print(json.dumps({"url": server.url, "cdn": f"{server.cdn_url}/cdn/{repo.files[source.name].sha256}"}), flush=True)
sys.stdin.read()  # serve until the benchmark closes our stdin
"""


def _start_server(source: Path, rate: float) -> tuple[subprocess.Popen, dict]:
    """The hub server in its own process, as a remote server would be (no shared GIL)."""
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=str(root))
    proc = subprocess.Popen([sys.executable, "-c", _SERVER, str(source), str(rate)], cwd=root, env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    return proc, json.loads(proc.stdout.readline())


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench download")
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--gui", action="store_true", help="also measure the GUI heartbeat during a download")
    parser.add_argument("--rate-mb", type=float, default=0,
                        help="cap the server at this many MB/s per connection (emulates a real link; 0: no cap)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    os.environ.pop("HF_HUB_OFFLINE", None)
    from desktop.core.downloads import FileRef

    size = args.size_mb * MB
    with tempfile.TemporaryDirectory(prefix="genlab-bench-") as tmp:
        tmp_path = Path(tmp)
        os.environ["GENLAB_HOME"] = str(tmp_path / "home")
        source = tmp_path / "bench-Q4_K_M.gguf"
        _make_file(source, size)
        server, where = _start_server(source, args.rate_mb * MB)
        try:
            os.environ["HF_ENDPOINT"] = where["url"]
            ref, cdn_url = FileRef("bench/big-GGUF", source.name), where["cdn"]
            times: dict[str, list[float]] = {"genlab": [], "bare": [], "stdlib": []}
            for run in range(-1, args.runs):  # run -1 warms up imports, connections and the page cache
                order = ("genlab", "bare", "stdlib") if run % 2 == 0 else ("stdlib", "bare", "genlab")
                for name in order:
                    dest = tmp_path / f"out-{name}.gguf"
                    start = time.perf_counter()
                    if name == "genlab":
                        _genlab_get(ref, dest)
                    elif name == "bare":
                        _bare_get(cdn_url, dest)
                    else:
                        _stdlib_get(cdn_url, dest)
                    if run >= 0:
                        times[name].append(time.perf_counter() - start)
                    assert dest.stat().st_size == size
                    dest.unlink()
            genlab, bare = statistics.median(times["genlab"]), statistics.median(times["bare"])
            stdlib = statistics.median(times["stdlib"])
            for name, values in times.items():
                print(f"{name}_runs_s={','.join(f'{v:.3f}' for v in values)}")
            print(f"size_bytes={size}")
            print(f"runs={args.runs}")
            print(f"server_rate_MBps={args.rate_mb or 'unlimited'}")
            print(f"genlab_s={genlab:.3f}")
            print(f"bare_s={bare:.3f}")
            print(f"genlab_MBps={size / MB / genlab:.1f}")
            print(f"bare_MBps={size / MB / bare:.1f}")
            print(f"stdlib_s={stdlib:.3f}")
            print(f"stdlib_MBps={size / MB / stdlib:.1f}")
            print(f"download_ratio_vs_httpx={bare / genlab:.3f}")
            print(f"download_ratio={min(bare, stdlib) / genlab:.3f}")
            if args.gui:
                dest = tmp_path / "out-gui.gguf"
                idle, busy = _gui_stall(ref, dest)
                print(f"gui_idle_max_stall_ms={idle:.1f}")
                print(f"gui_max_stall_ms={busy:.1f}")
            else:
                print("gui_max_stall_ms=not measured (run with --gui)")
        finally:
            server.stdin.close()
            server.wait(10)
    return 0
