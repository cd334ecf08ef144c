"""Test-load a new or changed GGUF in a child process before the app loads it.

Some malformed files make llama.cpp abort the whole process (a native
``GGML_ASSERT``, e.g. a vocabulary with duplicate tokens) instead of raising.
So the first time GenLab sees a file (by sha256, per llama-cpp-python
version) it loads it and evaluates one token in a throw-away child process;
only if the child survives does the engine load the file itself.  Verdicts are
cached in memory and in ``<data root>/gguf-probe-cache.json``.

The child is ``python -m desktop.core.text.probe FILE``; in a frozen app it is
the app itself with ``--genlab-probe-gguf FILE``, which the entry point must
hand to :func:`run_if_probe_child` before anything else (until it does,
frozen apps skip the probe rather than start a second app).  The child says
``READY`` before touching the file, so a child that could not even start is
not mistaken for a crashing model: the engine then loads without the probe.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from desktop.core import file_lock, paths
from desktop.core.errors import ModelFileError
from desktop.core.jobs import CancelToken, JobCancelled

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 600.0
PROBE_FLAG = "--genlab-probe-gguf"
READY = "READY"
_memory: dict[str, dict] = {}
_lock = threading.Lock()
_frozen_entry_wired = False


@dataclass(frozen=True)
class ProbeVerdict:
    ok: bool
    message: str = ""


class ProbeUnavailable(Exception):
    """The child process could not be started or did not start properly."""


# --- the child -------------------------------------------------------------------------------

def child_main(path: str) -> int:
    """Load ``path`` and evaluate one token; report on stdout (runs in the child)."""
    print(READY, flush=True)
    try:
        import llama_cpp

        llm = llama_cpp.Llama(model_path=path, n_ctx=64, n_gpu_layers=0, n_threads=1, verbose=True)
        tokens = llm.tokenize(b"Hello", add_bos=True, special=False)
        for _ in llm.generate(tokens[:8], temp=0.0):
            break
        llm.close()
        result: dict[str, bool | str] = {"ok": True}
    except Exception as exc:  # a clean failure; the parent reports it
        error = str(exc) or type(exc).__name__
        if type(exc).__name__ == "TemplateSyntaxError":  # llama-cpp-python compiles the template on load
            error = f"its chat template is not valid Jinja: {error}"
        result = {"ok": False, "error": error}
    print(json.dumps(result), flush=True)
    return 0


def run_if_probe_child() -> None:
    """Call first thing in a frozen app's entry point: serves probe children, else returns."""
    global _frozen_entry_wired
    _frozen_entry_wired = True
    if len(sys.argv) >= 3 and sys.argv[1] == PROBE_FLAG:
        sys.exit(child_main(sys.argv[2]))


def _command(path: Path) -> list[str]:
    if getattr(sys, "frozen", False):
        if not _frozen_entry_wired:
            raise ProbeUnavailable("the app's entry point does not serve probe children")
        return [sys.executable, PROBE_FLAG, str(path)]
    return [sys.executable, "-m", "desktop.core.text.probe", str(path)]


# --- the parent -------------------------------------------------------------------------------

def _describe_exit(code: int | None) -> str:
    if code is None:
        return "did not finish"
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


def _assert_line(native_log: str) -> str:
    for line in native_log.splitlines():
        if "GGML_ASSERT" in line:
            return line.rsplit(": ", 1)[-1].strip()
        if "GGML_ABORT" in line or "error:" in line:
            return line.strip()
    return ""


def _tail(fh, limit: int = 4096) -> str:
    fh.seek(0, os.SEEK_END)
    fh.seek(max(0, fh.tell() - limit))
    return fh.read().decode("utf-8", errors="replace")


def run_probe(path: Path, *, cancel: CancelToken | None = None, timeout: float = PROBE_TIMEOUT_S) -> ProbeVerdict:
    """Load ``path`` in a child process and report whether that was safe.

    Raises ProbeUnavailable when no child could be run, JobCancelled on cancel.
    """
    import desktop

    env = dict(os.environ, GGML_NO_BACKTRACE="1", PYTHONUNBUFFERED="1")
    package_root = str(Path(desktop.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([package_root] + [p for p in [env.get("PYTHONPATH")] if p])
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.Popen(_command(path), stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env)
        except OSError as exc:
            raise ProbeUnavailable(str(exc)) from exc
        deadline = time.monotonic() + timeout
        try:
            while proc.poll() is None:
                if cancel is not None and cancel.cancelled:
                    raise JobCancelled()
                if time.monotonic() > deadline:
                    return ProbeVerdict(False, f"loading it took longer than {timeout:.0f} s in a test run")
                time.sleep(0.02)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
        out.seek(0)
        lines = out.read().decode("utf-8", errors="replace").splitlines()
        native_log = _tail(err)
    if READY not in lines:
        log.warning("probe child for %s did not start: %s\n%s", path, _describe_exit(proc.returncode), native_log)
        raise ProbeUnavailable(f"the test process {_describe_exit(proc.returncode)} before starting")
    result = next((json.loads(line) for line in lines if line.startswith("{")), None)
    if result is None:
        reason = _assert_line(native_log) or f"the test process {_describe_exit(proc.returncode)}"
        log.warning("probe child for %s died: %s", path, reason)
        log.debug("llama.cpp output of the probe child:\n%s", native_log)
        return ProbeVerdict(False, f"llama.cpp crashed while test-loading it ({reason})")
    if result.get("ok"):
        return ProbeVerdict(True)
    return ProbeVerdict(False, f"llama.cpp could not load it ({result.get('error', 'unknown error')})")


def _cache_file() -> Path:
    return paths.data_root() / "gguf-probe-cache.json"


def _cache_key(sha256: str) -> str:
    import llama_cpp

    return f"{sha256}:{getattr(llama_cpp, '__version__', '?')}"


def _read_disk() -> dict:
    try:
        data = json.loads(_cache_file().read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _remember(key: str, verdict: ProbeVerdict) -> None:
    entry = {"ok": verdict.ok, "message": verdict.message}
    target = _cache_file()
    with _lock, file_lock.lock_for(target):  # a CLI run may probe at the same time as the app
        _memory[key] = entry
        cache = _read_disk()
        cache[key] = entry
        try:
            file_lock.replace_json(target, cache)
        except OSError:
            pass  # only costs a re-probe next time


def cached_verdict(sha256: str) -> ProbeVerdict | None:
    key = _cache_key(sha256)
    with _lock:
        entry = _memory.get(key) or _read_disk().get(key)
    if isinstance(entry, dict):
        return ProbeVerdict(bool(entry.get("ok")), str(entry.get("message", "")))
    return None


def ensure_loadable(path: Path, sha256: str, *, cancel: CancelToken | None = None) -> None:
    """Raise ModelFileError if loading ``path`` would fail or take the process down."""
    verdict = cached_verdict(sha256)
    if verdict is None:
        try:
            verdict = run_probe(path, cancel=cancel)
        except ProbeUnavailable as exc:  # no safety net here; the GGUF validation still applies
            log.warning("could not test-load %s in a child process (%s); loading it directly", path, exc)
            return
        _remember(_cache_key(sha256), verdict)
        log.info("probe of %s: %s", path, verdict)
    if not verdict.ok:
        raise ModelFileError(f"{Path(path).name} cannot be used: {verdict.message}.",
                             "The file is damaged or not supported by this llama.cpp; download it again "
                             "or choose another model. GenLab did not load it, so nothing else was affected.")


if __name__ == "__main__":
    sys.exit(child_main(sys.argv[1]) if len(sys.argv) == 2 else 2)
