"""Export dataset…: a fine-tuning (SFT) or preference set from what you rated, as ``genlab dataset export``.

The format (chat ``messages`` rows from rated text records, or ``prompt`` /
``chosen`` / ``rejected`` rows from decisive arena votes), the file, the
filters of the CLI (minimum rating, model, tag, experiment, a history search
and its mode) and an optional near-duplicate threshold (cosine of the stored
vectors).  Export runs one ``io`` job
(:func:`~desktop.ui.datasets.jobs.export`); the result line then says how
many rows were written and how many duplicates were dropped, or, when the
selection left nothing, "Nothing matched" and why (no file is written).

Hooks (replaceable in tests): ``choose_path(suggested) -> str``.

Signals:
    exported(object): the DatasetResult of a finished export.
    nothing_matched(str): the selection left no row (no file written); the message shown.
    export_failed(str): the export was refused (a bad filter, an unknown experiment, a file that cannot be
        written); the message shown.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktop.core.jobs import Job
from desktop.ui import theme
from desktop.ui.datasets.jobs import PREFERENCE, SFT, ExportOutcome, ExportRequest, export

FORMATS = ((SFT, "Fine-tuning set (SFT): rated text generations as chat messages"),
           (PREFERENCE, "Preference set (DPO): decisive arena votes as prompt, chosen, rejected"))
SUGGESTED = {SFT: "rated-sft.jsonl", PREFERENCE: "arena-preferences.jsonl"}
RATING_HINTS = {SFT: "Any: every rated record (1 star or more)", PREFERENCE: "Any: both answers, rated or not"}


class ExportDialog(QDialog):
    exported = Signal(object)
    nothing_matched = Signal(str)
    export_failed = Signal(str)

    def __init__(self, services, runner, *, format: str = SFT, filters: dict | None = None, query: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export dataset")
        self.services, self.runner = services, runner
        self.choose_path = self._choose_path
        self._running = None
        filters = filters or {}
        self.format = QComboBox()
        for key, label in FORMATS:
            self.format.addItem(label, key)
        self.path = QLineEdit()
        self.path.setPlaceholderText("the .jsonl file to write")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        file_row = QHBoxLayout()
        file_row.addWidget(self.path, 1)
        file_row.addWidget(browse)
        self.rating = QSpinBox()
        self.rating.setRange(0, 5)
        self.rating.setSpecialValueText("Any")
        self.rating.setSuffix(" stars or more")
        self.rating.setValue(int(filters.get("rating") or 0))
        self.model = QLineEdit(str(filters.get("model", "")))
        self.model.setPlaceholderText("model name, file name or sha256 (empty: any)")
        self.tag = QLineEdit(str(filters.get("tag", "")))
        self.tag.setPlaceholderText("tag (empty: any)")
        self.experiment = QLineEdit()
        self.experiment.setPlaceholderText("experiment name (empty: any)")
        self.query = QLineEdit(query)
        self.query.setPlaceholderText("only the best matches of this history search (empty: all)")
        self.mode = QComboBox()
        self.mode.addItems(["hybrid", "keyword", "semantic"])
        search_row = QHBoxLayout()
        search_row.addWidget(self.query, 1)
        search_row.addWidget(self.mode)
        self.near = QCheckBox("Drop near duplicates at cosine ≥")
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.5, 1.0)
        self.threshold.setSingleStep(0.01)
        self.threshold.setDecimals(2)
        self.threshold.setValue(0.95)
        self.threshold.setEnabled(False)
        self.near.toggled.connect(self.threshold.setEnabled)
        near_row = QHBoxLayout()
        near_row.addWidget(self.near)
        near_row.addWidget(self.threshold)
        near_row.addStretch(1)
        self.explain = QLabel("")
        self.explain.setWordWrap(True)
        theme.set_role(self.explain, "muted")
        # A wrapped label in a form row gets one line's height for two: room for three, so none is cut.
        self.explain.setMinimumHeight(self.explain.fontMetrics().lineSpacing() * 3)
        self.explain.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.result = QLabel("")  # what was written
        self.result.setWordWrap(True)
        self.problem = QLabel("")  # nothing matched, or refused
        self.problem.setWordWrap(True)
        theme.set_role(self.problem, "error")
        self.problem.hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.ActionRole)
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(self.start)
        self.buttons.rejected.connect(self.reject)

        form = QFormLayout()
        form.addRow("Format", self.format)
        form.addRow("", self.explain)
        form.addRow("File", file_row)
        form.addRow("Rating", self.rating)
        form.addRow("Model", self.model)
        form.addRow("Tag", self.tag)
        form.addRow("Experiment", self.experiment)
        form.addRow("Search", search_row)
        form.addRow("Duplicates", near_row)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.result)
        layout.addWidget(self.problem)
        layout.addStretch(1)
        layout.addWidget(self.buttons)
        self.format.currentIndexChanged.connect(self._format_changed)
        self.set_format(format)
        self._format_changed()
        self.resize(640, 0)

    def set_format(self, format: str) -> None:
        self.format.setCurrentIndex([key for key, _ in FORMATS].index(format))

    def _format_changed(self) -> None:
        fmt = self.format.currentData()
        self.rating.setToolTip(RATING_HINTS[fmt])
        self.explain.setText(
            "Every rated text record with an answer, with its system prompt and earlier turns. Exact duplicates "
            "are always dropped; every row keeps its origin (generated, imported, api)." if fmt == SFT else
            "One row per text arena vote that said A or B better; ties and 'both bad' are left out. The filters "
            "apply to both answers; the experiment keeps the votes on its prompts.")
        current = self.path.text().strip()
        if not current or Path(current).name in SUGGESTED.values():
            folder = Path(current).parent if current else Path.home()
            self.path.setText(str(folder / SUGGESTED[fmt]))

    def _browse(self) -> None:
        path = self.choose_path(self.path.text().strip())
        if path:
            self.path.setText(path)

    def _choose_path(self, suggested: str) -> str:
        return QFileDialog.getSaveFileName(self, "Export dataset", suggested, "JSON lines (*.jsonl)")[0]

    def request(self) -> ExportRequest:
        filters = {"rating": self.rating.value() or None, "model": self.model.text().strip(),
                   "tag": self.tag.text().strip()}
        return ExportRequest(self.format.currentData(), Path(self.path.text().strip()).expanduser(),
                             {k: v for k, v in filters.items() if v not in (None, "")}, self.experiment.text().strip(),
                             self.query.text().strip(), self.mode.currentText(),
                             self.threshold.value() if self.near.isChecked() else None)

    def start(self) -> None:
        if self._running is not None:
            return
        if not self.path.text().strip():
            self._failed("No file is chosen: name the .jsonl file to write.")
            return
        request = self.request()
        services = self.services
        self._show("Exporting…")
        self.export_button.setEnabled(False)
        self._running = handle = self.runner.submit(Job(
            "Export dataset", lambda cancel, progress: export(services, request, cancel=cancel, progress=progress),
            kind="io", reports_failure=True))
        handle.finished.connect(self._done)
        handle.failed.connect(lambda message, _trace: self._failed(message))
        handle.ended.connect(self._ended)

    def _ended(self) -> None:
        self._running = None
        self.export_button.setEnabled(True)

    def _done(self, outcome: ExportOutcome) -> None:
        if outcome.result is None:
            shown = f"Nothing matched: {outcome.nothing}"
            self._show(shown, problem=True)
            self.nothing_matched.emit(shown)
            return
        summary = outcome.result.summary()
        self._show("\n".join([summary[0].upper() + summary[1:] + "."] + outcome.result.notes()))
        self.exported.emit(outcome.result)

    def _failed(self, message: str) -> None:
        self._show(message, problem=True)
        self.export_failed.emit(message)

    def _show(self, text: str, *, problem: bool = False) -> None:
        """One line at a time: the result (plain) or the problem (in the error colour)."""
        self.result.setText("" if problem else text)
        self.problem.setText(text if problem else "")
        self.result.setVisible(not problem)
        self.problem.setVisible(problem)

    def shown_text(self) -> str:
        """What the dialog says now (the result or the problem)."""
        return self.problem.text() if not self.problem.isHidden() else self.result.text()
