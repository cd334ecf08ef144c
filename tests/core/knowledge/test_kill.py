"""An indexer killed with SIGKILL mid-run leaves only whole files; the next run indexes exactly the rest."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from desktop.core.knowledge.store import Knowledge

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="SIGKILL is POSIX")
def test_kill_9_while_indexing_then_resume(genlab_home, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    for i in range(300):  # two chunks a file: a commit of 3 chunks always holds one file and part of another
        (folder / f"doc{i:03}.md").write_text(f"# Doc {i}\n\nunique{i} " + "words " * 140
                                              + "\n\n" + "more text " * 80 + "\n")
    knowledge = Knowledge(embedder=None)
    knowledge.add("docs", [folder])
    child = subprocess.Popen([sys.executable, "-m", "tests.core.knowledge.kill_child", "docs"], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy())
    assert child.stdout is not None
    for line in child.stdout:  # kill it while it is writing, wherever it is
        if line.startswith("chunks") and int(line.split()[1]) >= 30:
            child.send_signal(signal.SIGKILL)
            break
    child.wait(60)
    assert child.returncode == -signal.SIGKILL, child.stderr.read() if child.stderr else ""

    table = knowledge._table(knowledge.get("docs"))
    written = table.manifest()
    assert 0 < len(written) < 300
    assert all(entry.complete and entry.chunks == 2 for entry in written.values())
    report = knowledge.index("docs")
    assert report.unchanged == len(written) and report.read == 300 - len(written)
    assert table.count() == 600
    hits = knowledge.search("docs", "unique7", 5, mode="keyword")
    assert [os.path.basename(h.path) for h in hits] == ["doc007.md"]
    knowledge.close()
