"""Export… and Delete… of the selected experiment in the workspace, on a real stories260K sweep."""

from __future__ import annotations

import csv
import tomllib

import pytest

from desktop.core.experiments.runner import run_experiment, start_experiment
from desktop.core.experiments.spec import parse_spec
from desktop.core.experiments.store import ExperimentStore
from tests.ui.experiments.conftest import text_spec

# the slow set: most tests here load a real model or pipeline, or spawn processes
pytestmark = pytest.mark.slow

TIMEOUT = 30000


@pytest.fixture
def finished(history, stories260k):
    """A finished 2 temperatures x 2 prompts sweep (4 cells), and one more record of no experiment."""
    from desktop.core.records import GenerationRecord

    experiments = ExperimentStore.beside(history)
    experiment = start_experiment(parse_spec(tomllib.loads(text_spec(stories260k))), experiments)
    assert run_experiment(experiment.id, experiments=experiments, history=history).done == 4
    history.save(GenerationRecord(kind="text", prompt="not in any sweep", output_text="ok"))
    history.flush(timeout=60)
    return experiment


@pytest.fixture
def shown(qtbot, open_workspace, finished):
    w = open_workspace()
    with qtbot.waitSignal(w.results_shown, timeout=TIMEOUT):
        w.listing.select(finished.id)
    return w


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_export_writes_one_row_per_cell(qtbot, shown, finished, tmp_path, suffix):
    import pyarrow.parquet as pq

    target = tmp_path / f"sweep{suffix}"
    asked = []
    shown.actions.choose_export_path = lambda name: asked.append(name) or str(target)
    assert shown.export_button.isVisible()
    with qtbot.waitSignal(shown.experiment_exported, timeout=TIMEOUT) as exported:
        shown.export_button.click()
    assert asked == ["stories sweep"] and exported.args == [str(target)]
    if suffix == ".csv":
        with open(target, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    else:
        rows = pq.read_table(target).to_pylist()
    assert len(rows) == finished.cell_count == 4
    assert [r["status"] for r in rows] == ["done"] * 4 and all(r["output_text"] for r in rows)
    assert {r["prompt"] for r in rows} == {"Once upon a time", "The little dog"}


def test_export_to_an_unknown_format_says_what_to_name(qtbot, shown, tmp_path):
    shown.actions.choose_export_path = lambda name: str(tmp_path / "sweep.xlsx")
    with qtbot.waitSignal(shown.status_message, timeout=TIMEOUT,
                          check_params_cb=lambda line: "Name a .csv or .parquet file" in line):
        shown.export_button.click()
    assert not (tmp_path / "sweep.xlsx").exists()


def test_delete_with_its_records_removes_them_and_the_experiment(qtbot, shown, finished, history):
    asked = []
    shown.actions.ask_delete = lambda name, records: asked.append((name, records)) or True
    assert history.count() == 5
    with qtbot.waitSignal(shown.experiments_listed, timeout=TIMEOUT) as listed:
        with qtbot.waitSignal(shown.experiment_deleted, timeout=TIMEOUT):
            shown.delete_button.click()
    assert asked == [("stories sweep", 4)]
    assert listed.args == [0] and shown.listing.ids() == []
    assert history.count() == 1  # the record of no experiment stays
    assert ExperimentStore.beside(history).list() == []


def test_delete_of_the_experiment_only_keeps_its_records(qtbot, shown, finished, history):
    shown.actions.ask_delete = lambda name, records: False
    with qtbot.waitSignal(shown.experiments_listed, timeout=TIMEOUT):
        with qtbot.waitSignal(shown.experiment_deleted, timeout=TIMEOUT):
            shown.delete_button.click()
    assert shown.listing.ids() == []
    assert history.count(f"session_id = '{finished.id}'") == 4


def test_cancelling_the_question_deletes_nothing(qtbot, shown, finished, history):
    asked = []
    shown.actions.ask_delete = lambda name, records: asked.append(name)  # None: cancelled
    shown.delete_button.click()
    assert asked == ["stories sweep"]
    with qtbot.waitSignal(shown.experiments_listed, timeout=TIMEOUT):
        shown.refresh_list()  # a list read after the click still has the experiment
    assert shown.listing.ids() == [finished.id] and history.count() == 5


def test_the_question_offers_both_deletions_and_its_answer_is_kept(qtbot, shown, finished, history):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    seen = []

    def answer() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, answer)  # the box is not open yet
            return
        seen.append(box.text())
        seen.extend(b.text() for b in box.buttons())
        next(b for b in box.buttons() if b.text() == "Delete with its 4 records").click()

    QTimer.singleShot(0, answer)
    assert shown.actions.ask_delete("stories sweep", 4) is True
    assert seen[0] == "Delete the experiment “stories sweep”?"
    assert {"Delete experiment only", "Delete with its 4 records", "Cancel"} <= set(seen[1:])
