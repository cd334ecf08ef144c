"""Another GenLab process with a model loaded: the real text engine in a child process."""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

# Loads the model, says "loaded", then unloads on "unload" (stdin) and says "unloaded".
LOADER = """
import sys
from desktop.core.text.engine import TextEngine
engine = TextEngine()
engine.load(sys.argv[1])
print("loaded", flush=True)
for line in sys.stdin:
    if line.strip() == "unload":
        engine.unload()
        print("unloaded", flush=True)
"""


def child_env() -> dict[str, str]:
    """This process's environment (its GENLAB_HOME included) with the checkout importable."""
    return dict(os.environ, PYTHONPATH=str(REPO_ROOT))


class LoaderProcess:
    def __init__(self, model: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", LOADER, str(model)], cwd=REPO_ROOT, env=child_env(),
                                     text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        line = self.proc.stdout.readline()
        if line.strip() != "loaded":
            self.proc.kill()
            pytest.fail(f"the loader process did not load {model}: {line!r} {self.proc.stderr.read()}")

    def unload(self) -> None:
        self.proc.stdin.write("unload\n")
        self.proc.stdin.flush()
        assert self.proc.stdout.readline().strip() == "unloaded"

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(10)


@contextmanager
def model_loaded_in_another_process(model: Path) -> Iterator[LoaderProcess]:
    loader = LoaderProcess(model)
    try:
        yield loader
    finally:
        loader.kill()
