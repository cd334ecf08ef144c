"""Export… and Delete… of the selected experiment in the Experiments workspace.

Export asks for a file (CSV, Parquet or an HTML report, chosen by the file type or the name)
and writes one row per cell (:func:`~desktop.core.experiments.export.export_experiment`);
Delete asks whether to delete the experiment only or with its records
(:func:`~desktop.core.experiments.records.delete_experiment`, which leaves no
trace of the records).  Both are ``io`` jobs submitted through the
workspace's ``submit_io(name, fn, on_done)``.

Hooks (replaceable in tests): ``choose_export_path(name) -> str`` ("" for
cancel) and ``ask_delete(name, records) -> bool | None`` (True: with its
records, False: the experiment only, None: cancel).

Signals:
    exported(str, int): the file written and its row count.
    deleted(str, int): the experiment id deleted and how many records went with it.
    message(str): a line for the status bar.
"""

from __future__ import annotations

import functools
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

FILE_TYPES = {"CSV (*.csv)": ".csv", "Parquet (*.parquet)": ".parquet", "HTML report (*.html)": ".html"}


def export_job(experiments, history, experiment_id: str, path: str, cancel=None, progress=None) -> tuple[str, int]:
    from desktop.core.experiments.export import export_experiment

    return path, export_experiment(experiments.get(experiment_id), history, Path(path))


def delete_job(experiments, history, experiment_id: str, with_records: bool, cancel=None,
               progress=None) -> tuple[str, int]:
    from desktop.core.experiments.records import delete_experiment

    return experiment_id, delete_experiment(experiments, history, experiment_id, with_records=with_records)


class ExperimentActions(QObject):
    exported = Signal(str, int)
    deleted = Signal(str, int)
    message = Signal(str)

    def __init__(self, dialog_parent: QWidget, submit_io) -> None:
        super().__init__(dialog_parent)
        self.dialog_parent = dialog_parent
        self.submit_io = submit_io
        self.choose_export_path = self._export_dialog
        self.ask_delete = self._delete_dialog

    def export(self, experiments, history, experiment_id: str, name: str) -> None:
        path = self.choose_export_path(name)
        if not path:
            return
        self.submit_io("Export experiment",
                       functools.partial(export_job, experiments, history, experiment_id, path), self._exported)

    def _exported(self, answer: tuple[str, int]) -> None:
        path, rows = answer
        self.message.emit(f"Exported {rows} cells to {path}.")
        self.exported.emit(path, rows)

    def delete(self, experiments, history, experiment_id: str, name: str, records: int) -> None:
        with_records = self.ask_delete(name, records)
        if with_records is None:
            return
        self.submit_io("Delete experiment",
                       functools.partial(delete_job, experiments, history, experiment_id, with_records),
                       self._deleted)

    def _deleted(self, answer: tuple[str, int]) -> None:
        experiment_id, records = answer
        self.message.emit(f"Deleted the experiment and its {records} records." if records
                          else "Deleted the experiment; its records stay in History.")
        self.deleted.emit(experiment_id, records)

    # --- the dialogs ------------------------------------------------------------------------------
    def _export_dialog(self, name: str) -> str:
        path, chosen = QFileDialog.getSaveFileName(self.dialog_parent, "Export experiment", f"{name}.csv",
                                                   ";;".join(FILE_TYPES))
        if path and Path(path).suffix.lower() not in FILE_TYPES.values():
            path += FILE_TYPES.get(chosen, ".csv")  # the format follows the name, so give it one
        return path

    def _delete_dialog(self, name: str, records: int) -> bool | None:
        box = QMessageBox(QMessageBox.Icon.Question, "Delete experiment",
                          f"Delete the experiment “{name}”?", parent=self.dialog_parent)
        box.setInformativeText(f"Its {records} records can stay in History (as one session), "
                               "or be deleted with it for good, text and images included.")
        only = box.addButton("Delete experiment only", QMessageBox.ButtonRole.AcceptRole)
        both = box.addButton(f"Delete with its {records} records", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        clicked = box.clickedButton()
        return True if clicked is both else False if clicked is only else None
