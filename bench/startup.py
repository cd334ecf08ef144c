"""Startup time: ``genlab --quit-after-show`` vs a bare PySide6 window.

Both print the milliseconds from process start to the window's first paint,
measured the same way (desktop.app.process_start_time).  Runs alternate so
machine noise hits both alike; medians are reported.

    python -m bench startup [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile

BARE = r"""
import sys, time
from desktop.app import process_start_time
started = process_start_time()
from PySide6.QtCore import QEvent, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow, QLabel
app = QApplication(sys.argv)
class W(QMainWindow):
    done = False
    def event(self, e):
        r = super().event(e)
        if not self.done and e.type() in (QEvent.Type.Paint, QEvent.Type.UpdateRequest):
            self.done = True
            print(f"startup_ms={(time.time() - started) * 1000:.0f}", flush=True)
            QTimer.singleShot(0, app.quit)
        return r
w = W(); w.setCentralWidget(QLabel("bare")); w.resize(1200, 800); w.show()
app.exec()
"""


def _measure(cmd: list[str], home: str) -> int:
    env = dict(os.environ, GENLAB_HOME=home)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120, check=True).stdout
    line = next(line for line in out.splitlines() if line.startswith("startup_ms="))
    return int(line.split("=")[1])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench startup")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    genlab, bare = [], []
    with tempfile.TemporaryDirectory() as home:
        _measure([sys.executable, "-m", "desktop", "--quit-after-show"], home)  # warm the file cache
        for _ in range(args.runs):
            genlab.append(_measure([sys.executable, "-m", "desktop", "--quit-after-show"], home))
            bare.append(_measure([sys.executable, "-c", BARE], home))
    g, b = statistics.median(genlab), statistics.median(bare)
    print(f"genlab_startup_ms_runs={genlab}")
    print(f"bare_qt_startup_ms_runs={bare}")
    print(f"startup_ms={g:.0f}")
    print(f"bare_qt_startup_ms={b:.0f}")
    print(f"startup_overhead_ms={g - b:.0f}")
    print(f"goal_met={g <= 1000}")
    return 0
