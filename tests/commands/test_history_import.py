"""``genlab history import`` shows its progress and survives a full disk; ``show`` names a missing image."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys

import pytest

from desktop.cli import main
from desktop.core import paths
from desktop.core.history.store import HistoryStore
from tests.conftest import REPO_ROOT
from tests.support.history import LateEmbedder, make_record


def _jsonl(path, objects):
    path.write_text("".join(json.dumps(o) + "\n" for o in objects))
    return path


@pytest.mark.slow
def test_import_prints_a_progress_line_for_reading_then_embedding(genlab_home, embedder, monkeypatch, capsys,
                                                                   tmp_path):
    import desktop.commands.history as history_command

    # The embedder finishes loading only after the file is read, so the embedding phase is seen.
    monkeypatch.setattr(history_command, "_open", lambda with_embedder: HistoryStore(embedder=LateEmbedder(embedder)))
    src = _jsonl(tmp_path / "three-hundred.jsonl", [{"kind": "text", "prompt": f"line {i}"} for i in range(300)])
    assert main(["history", "import", str(src)]) == 0
    captured = capsys.readouterr()
    err = captured.err.splitlines()
    assert "Read 100 of 300 records, imported 100" in err  # the first report is always shown
    assert "Read 300 of 300 records, imported 300" in err  # and the last of each phase
    assert "Embedding 300 of 300 records" in err
    assert err.index("Read 300 of 300 records, imported 300") < err.index("Embedding 300 of 300 records")
    assert captured.out.splitlines() == ["imported 300, skipped 0 duplicates, 0 broken lines",
                                         "embedded 300 records"]


def test_show_says_when_an_image_file_is_gone(genlab_home, capsys):
    image = paths.outputs_dir() / "gone.png"
    image.parent.mkdir(parents=True)
    image.write_bytes(b"\x89PNG")
    record = make_record("a lighthouse", kind="image", image_path=str(image))
    store = HistoryStore(embedder=None)
    store.save_and_wait(record)
    store.close()
    assert main(["history", "show", record.id]) == 0
    assert json.loads(capsys.readouterr().out)["image_missing"] is False
    image.unlink()
    assert main(["history", "show", record.id]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["image_missing"] is True
    assert captured.err == f"note: the image file {image} is missing\n"


FULL_DISK_CLI = """
import resource, runpy, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, resource.RLIM_INFINITY))
sys.argv = ["genlab", *sys.argv[1:]]
runpy.run_module("desktop.cli", run_name="__main__")
"""


def _fill_disk_then_run(args, env):
    """Run the CLI where no file may grow past 256 KiB: a large write fails as on a full disk."""
    return subprocess.run([sys.executable, "-c", FULL_DISK_CLI, *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="uses RLIMIT_FSIZE (POSIX only)")
def test_import_on_a_full_disk_prints_a_clear_error_and_loses_nothing(genlab_home, tmp_path):
    env = dict(os.environ, GENLAB_HOME=str(genlab_home))
    store = HistoryStore(embedder=None)
    store.save_many([make_record(f"kept {i}") for i in range(5)])
    store.close()
    noise = base64.b64encode(os.urandom(2 * 1024 * 1024)).decode()  # incompressible
    lines = [{"kind": "text", "prompt": f"small {i}"} for i in range(150)]
    src = _jsonl(tmp_path / "big.jsonl", lines + [{"kind": "text", "prompt": "huge", "output_text": noise}])

    proc = _fill_disk_then_run(["history", "import", str(src)], env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, out
    error = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(error) == 1, out
    match = re.fullmatch(r"error: The history could not be saved: the disk is full\. "
                         r"The import stopped after (\d+) records\. .*Importing the same file again skips "
                         r"what is already there\.", error[0])
    assert match, error
    saved = int(match.group(1))
    assert 100 <= saved <= 150
    assert "Traceback" not in out

    store = HistoryStore(embedder=None)
    try:
        prompts = set(store.scan(["prompt"])["prompt"].to_pylist())
        assert {f"kept {i}" for i in range(5)} <= prompts  # nothing saved before is lost
        assert len(prompts) == 5 + saved  # every record reported imported is there
    finally:
        store.close()

    # With space again, the same file imports the rest and skips what is there.
    proc = subprocess.run([sys.executable, "-m", "desktop.cli", "history", "import", str(src)], cwd=REPO_ROOT,
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"imported {151 - saved}, skipped {saved} duplicates, 0 broken lines" in proc.stdout


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="uses RLIMIT_FSIZE (POSIX only)")
def test_a_zip_import_whose_images_fill_the_disk_stops_clearly_and_leaves_no_image(genlab_home, tmp_path):
    import zipfile

    env = dict(os.environ, GENLAB_HOME=str(genlab_home))
    store = HistoryStore(embedder=None)
    store.save_many([make_record(f"kept {i}") for i in range(3)])
    images = store.root / "images"
    store.close()
    lines = [{"id": f"picture-{i}", "kind": "image", "prompt": f"picture {i}", "image_path": f"images/picture-{i}.png"}
             for i in range(3)]
    src = tmp_path / "pictures.zip"
    with zipfile.ZipFile(src, "w") as zf:
        zf.writestr("history.jsonl", "".join(json.dumps(line) + "\n" for line in lines))
        zf.writestr("images/picture-0.png", b"\x89PNG small")
        zf.writestr("images/picture-1.png", b"\x89PNG small too")
        zf.writestr("images/picture-2.png", os.urandom(1024 * 1024))  # past what the disk takes

    proc = _fill_disk_then_run(["history", "import", str(src)], env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, out
    assert "Traceback" not in out
    assert [line for line in proc.stderr.splitlines() if line.startswith("error: ")] == [
        "error: The history could not be saved: the disk is full. The import stopped after 0 records. Free some "
        "space; everything saved before is kept. Importing the same file again skips what is already there."]
    assert not images.exists() or list(images.iterdir()) == []  # no copy of an image whose record was not saved
    store = HistoryStore(embedder=None)
    try:
        assert sorted(store.scan(["prompt"])["prompt"].to_pylist()) == [f"kept {i}" for i in range(3)]
    finally:
        store.close()

    proc = subprocess.run([sys.executable, "-m", "desktop.cli", "history", "import", str(src)], cwd=REPO_ROOT,
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "imported 3, skipped 0 duplicates, 0 broken lines" in proc.stdout
    assert sorted(p.name for p in images.iterdir()) == [f"picture-{i}.png" for i in range(3)]
