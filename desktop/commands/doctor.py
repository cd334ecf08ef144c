"""``genlab doctor``: print what GenLab sees on this machine."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from desktop.core import doctor


def _qt_fact() -> doctor.Fact:
    try:
        import PySide6
        from PySide6 import QtCore
    except Exception as exc:  # report a broken Qt instead of crashing the doctor
        return doctor.Fact("qt", "PySide6", f"failed: {exc}", ok=False)
    return doctor.Fact("qt", "PySide6", f"{PySide6.__version__} (Qt {QtCore.qVersion()})")


def run(args: argparse.Namespace) -> int:
    facts = doctor.gather([_qt_fact()])
    if args.json:
        print(json.dumps([asdict(f) for f in facts], indent=2))
    else:
        print(doctor.format_facts(facts))
    return 0 if all(f.ok for f in facts) else 1


def register(subparsers) -> None:
    p = subparsers.add_parser("doctor", help="show Python, Qt, torch, llama.cpp, devices, paths and free disk")
    p.add_argument("--json", action="store_true", help="print the facts as JSON")
    p.set_defaults(func=run)
