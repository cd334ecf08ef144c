"""The frozen app: build it, self-test it, weigh it, time its startup.

    python -m bench package [--no-build] [--dist DIR] [--work DIR] [--runs 5]

Builds ``build.spec`` with PyInstaller (``--no-build`` reuses ``DIR/GenLab``),
runs the bundle's ``GenLab --self-test``, reports the bundle size unpacked and
as a ``tar.gz``, and the ``--quit-after-show`` startup_ms of the frozen app vs
``python -m desktop`` from source (alternating runs, medians).  Goals on a
2-core machine with the CPU torch build: self-test passes, unpacked
<= 1.5 GB, frozen startup_ms <= 2000.  Exit code 1 if the build or the
self-test fails.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from tests.support.bundle import APP, ROOT, SIZE_GOAL, build, executable, frozen_env, self_test, tree_size

STARTUP_GOAL_MS = 2000


def largest_parts(bundle: Path, top: int = 8) -> list[tuple[str, int]]:
    internal = bundle / "_internal"
    base = internal if internal.is_dir() else bundle
    sizes = []
    for child in base.iterdir():
        if child.is_symlink():
            continue
        size = tree_size(child)[0] if child.is_dir() else child.stat().st_size
        sizes.append((child.name, size))
    return sorted(sizes, key=lambda s: -s[1])[:top]


def archive_size(bundle: Path) -> int:
    """Bytes of ``GenLab.tar.gz`` (gzip level 6, what a download would be)."""
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / f"{APP}.tar.gz"
        try:
            subprocess.run(["tar", "-C", str(bundle.parent), "-czf", str(target), bundle.name],
                           check=True)  # gzip -6, its default
        except (OSError, subprocess.CalledProcessError):
            with tarfile.open(target, "w:gz", compresslevel=6) as tar:
                tar.add(bundle, arcname=bundle.name)
        return target.stat().st_size


def startup_ms(cmd: list[str], home: str) -> int:
    proc = subprocess.run(cmd, capture_output=True, text=True, env=frozen_env(home), timeout=180)
    for line in proc.stdout.splitlines():
        if line.startswith("startup_ms="):
            return int(line.split("=", 1)[1])
    raise RuntimeError(f"{cmd[0]} printed no startup_ms (exit {proc.returncode}): {proc.stderr[-800:]}")


def startup(bundle: Path, runs: int) -> tuple[list[int], list[int]]:
    frozen_cmd = [str(executable(bundle)), "--quit-after-show"]
    source_cmd = [sys.executable, "-m", "desktop", "--quit-after-show"]
    frozen, source = [], []
    with tempfile.TemporaryDirectory() as home:
        startup_ms(frozen_cmd, home)  # warm the file cache for both
        startup_ms(source_cmd, home)
        for _ in range(runs):
            frozen.append(startup_ms(frozen_cmd, home))
            source.append(startup_ms(source_cmd, home))
    return frozen, source


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench package")
    parser.add_argument("--no-build", action="store_true", help="reuse DIST/GenLab instead of building")
    parser.add_argument("--dist", type=Path, default=ROOT / "dist")
    parser.add_argument("--work", type=Path, default=ROOT / "build")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-archive", action="store_true", help="skip the tar.gz size")
    args = parser.parse_args(argv)
    bundle = args.dist / APP

    if not args.no_build:
        rc, seconds, tail = build(args.dist, args.work)
        print(f"build_s={seconds:.0f}")
        if rc != 0:
            print(tail, file=sys.stderr)
            print(f"build_ok=False (exit {rc})")
            return 1
    if not executable(bundle).is_file():
        print(f"error: no bundle at {bundle}; build it first (drop --no-build)", file=sys.stderr)
        return 1

    rc, checks, out = self_test(bundle)
    for line in checks:
        print(f"  {line}")
    passed = rc == 0 and checks and all(c.startswith("PASS") for c in checks)
    if not passed:
        print(out[-3000:], file=sys.stderr)
    print(f"selftest_checks={len(checks)}")
    print(f"selftest_passed={bool(passed)}")

    size, files = tree_size(bundle)
    print(f"bundle_files={files}")
    print(f"bundle_mb={size / 1e6:.0f}")
    print("bundle_largest=" + ",".join(f"{name}:{b / 1e6:.0f}MB" for name, b in largest_parts(bundle)))
    if not args.no_archive:
        print(f"archive_tar_gz_mb={archive_size(bundle) / 1e6:.0f}")
    print(f"size_goal_met={size <= SIZE_GOAL}")

    frozen, source = startup(bundle, args.runs)
    f_med, s_med = statistics.median(frozen), statistics.median(source)
    print(f"frozen_startup_ms_runs={frozen}")
    print(f"source_startup_ms_runs={source}")
    print(f"frozen_startup_ms={f_med:.0f}")
    print(f"source_startup_ms={s_med:.0f}")
    print(f"startup_goal_met={f_med <= STARTUP_GOAL_MS}")
    return 0 if passed else 1
