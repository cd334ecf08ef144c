"""The app as a process: startup, lazy heavy imports, bad data roots, single instance."""

import os
import subprocess
import sys
import textwrap

import pytest

# the slow set: most tests here load a real model or pipeline, or spawn processes
pytestmark = pytest.mark.slow

HEAVY = ("torch", "diffusers", "transformers", "sentence_transformers", "llama_cpp")


def run_py(code: str, env_extra=None, timeout=60) -> subprocess.CompletedProcess:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", **(env_extra or {}))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=timeout, env=env)


def test_window_shows_without_importing_heavy_libraries():
    proc = run_py(f"""
        import sys
        from desktop.cli import main
        rc = main(["--quit-after-show"])
        print("heavy=" + ",".join(m for m in {HEAVY!r} if m in sys.modules))
        sys.exit(rc)
    """)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    startup = [line for line in lines if line.startswith("startup_ms=")]
    assert len(startup) == 1 and int(startup[0].split("=")[1]) > 0
    assert "heavy=" in lines, f"heavy modules imported on the startup path: {lines}"


def test_genlab_home_pointing_at_a_file_is_refused(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    proc = run_py("import sys; from desktop.cli import main; sys.exit(main(['--quit-after-show']))",
                  {"GENLAB_HOME": str(f)})
    assert proc.returncode == 2
    assert "is a file, not a folder" in proc.stderr


def test_second_instance_is_refused_and_first_is_asked_to_show(qtbot, genlab_home):
    from PySide6.QtWidgets import QApplication  # noqa: F401  (qtbot made the app)

    from desktop.ui.bootstrap import claim_single_instance

    first = claim_single_instance(interactive=False)
    assert first is not None
    try:
        with qtbot.waitSignal(first.activate_requested, timeout=20000):
            proc = subprocess.Popen(
                [sys.executable, "-m", "desktop", "--quit-after-show"],
                env=dict(os.environ, QT_QPA_PLATFORM="offscreen"),
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            qtbot.waitUntil(lambda: proc.poll() is not None, timeout=20000)
        out, err = proc.communicate()
        assert proc.returncode == 1
        assert "already running" in err
        assert "startup_ms" not in out
    finally:
        first.release()


def test_no_stdout_or_stderr_does_not_crash(genlab_home):
    """A windowed frozen app has sys.stdout/err = None: logging, print and tqdm must cope."""
    proc = run_py("""
        import sys, logging
        sys.stdout = None
        sys.stderr = None
        from desktop.core.logging_setup import setup_logging, quiet_progress_bars
        quiet_progress_bars()
        setup_logging()
        print("lost")
        logging.getLogger("x").warning("still logged")
        from tqdm import tqdm
        for _ in tqdm(range(3)):
            pass
    """)
    assert proc.returncode == 0, proc.stderr
    assert "still logged" in (genlab_home / "logs" / "genlab.log").read_text()


@pytest.mark.parametrize("argv", [["--version"], ["-m", "desktop", "--version"]])
def test_version(argv):
    args = [sys.executable, "-m", "desktop", "--version"] if argv[0] == "-m" else \
        [sys.executable, "-c", "import sys; from desktop.cli import main; sys.exit(main(['--version']))"]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=30)
    from desktop import __version__

    assert proc.returncode == 0
    assert proc.stdout.strip() == f"GenLab {__version__}"


def test_doctor_tells_the_truth_on_a_cpu_machine(genlab_home):
    proc = subprocess.run([sys.executable, "-m", "desktop", "doctor", "--json"],
                          capture_output=True, text=True, timeout=120)
    import json

    facts = {(f["section"], f["name"]): f["value"] for f in json.loads(proc.stdout)}
    import torch

    expected_device = "cuda" if torch.cuda.is_available() else "cpu"
    assert facts[("torch", "device")] == expected_device
    assert facts[("torch", "version")] == torch.__version__
    assert facts[("paths", "data")].startswith(str(genlab_home))
    assert "free" in facts[("paths", "models")]
    import llama_cpp

    offload = llama_cpp.llama_supports_gpu_offload()
    assert facts[("llama.cpp", "GPU offload")].startswith("supported" if offload else "not supported")
    assert proc.returncode == 0, proc.stdout
