"""Resume after kill -9: a run killed in a child process is resumed and no cell is generated twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from desktop.core.experiments.records import CellTag, experiment_records, saved_cells
from desktop.core.experiments.runner import run_experiment, start_experiment
from desktop.core.experiments.spec import parse_spec
from desktop.core.experiments.store import FINISHED, INTERRUPTED, ExperimentStore
from desktop.core.history.schema import TABLE_NAME
from tests.conftest import REPO_ROOT

# the slow set: most tests here load a real model or pipeline, or spawn processes
pytestmark = pytest.mark.slow

PROMPTS = ["Once upon a time", "The little dog", "One day", "Lily saw", "The sun", "Tom had", "A bird", "Mom said"]


def saved_in_the_table(root, experiment_id: str) -> int:
    """Records of the experiment on disk, read straight from LanceDB (the child is the only writer)."""
    import lancedb

    db = lancedb.connect(str(root / "lancedb"))
    try:
        table = db.open_table(TABLE_NAME)
    except (FileNotFoundError, ValueError):
        return 0  # the child has not created the history table yet
    return table.count_rows(f"session_id = '{experiment_id}'")


def test_a_run_killed_with_sigkill_resumes_without_generating_a_saved_cell_again(stories260k, tmp_path, counting):
    root = tmp_path / "history"
    spec = parse_spec({"kind": "text", "fixed": {"max_tokens": 24, "seed": 3, "mode": "completion"},
                       "axes": {"model": [str(stories260k)], "temperature": [0.0, 0.8], "prompt": PROMPTS}})
    experiment = start_experiment(spec, ExperimentStore(root))
    calls = tmp_path / "child-calls.txt"
    child = subprocess.Popen([sys.executable, "-m", "tests.core.experiments.resume_child", str(root),
                              experiment.id, str(calls)], cwd=REPO_ROOT)
    try:
        deadline = time.monotonic() + 180
        while saved_in_the_table(root, experiment.id) < 4:  # wait on the store, not on time
            assert child.poll() is None, f"the child ended by itself (status {child.returncode})"
            assert time.monotonic() < deadline, "the child saved fewer than 4 cells in 180 s"
            time.sleep(0.05)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL

    from desktop.core.history.store import HistoryStore

    history = HistoryStore(root, embedder=None)
    try:
        experiments = ExperimentStore.beside(history)
        assert experiments.get(experiment.id).status == INTERRUPTED  # "running" in the table, no process behind it
        assert [e.status for e in experiments.list()] == [INTERRUPTED]
        before = saved_cells(history, experiment.id)
        child_calls = calls.read_text().splitlines()
        assert 4 <= len(before) < 16 and len(child_calls) >= len(before)
        summary = run_experiment(experiment.id, experiments=experiments, history=history,
                                 text_engine_factory=counting)
        assert summary.status == FINISHED and summary.done == 16 and summary.skipped == len(before)
        assert counting.generations == 16 - len(before)  # the saved cells were not generated again
        records = experiment_records(history, experiment.id)
        assert len(records) == history.count() == 16
        assert sorted(CellTag.of(r).cell for r in records) == list(range(16))  # one record per cell
        assert {r.id for r in records} >= set(before.values())  # the child's records are kept as they were
    finally:
        history.close()
