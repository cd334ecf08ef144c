"""An experiment's results: its cells as a table (text) or an X/Y grid of thumbnails with Z as tabs (images).

:meth:`ResultsPane.show_results` lays the cells out (``layout.grid_layout``)
with the column axis chosen in the "Columns" box; :meth:`place` fills one
cell when its record arrives, so a running sweep fills in as it goes.  The
cell clicked or moved to is shown in full below the table, with its
coordinates and speeds, and its tags and note can be edited there
(``notes.py``; T and N on a cell).  The image grid zooms with the "Zoom"
slider, Ctrl+wheel, Ctrl+= and Ctrl+-; every tab keeps the same zoom.

Signals:
    rate_requested(str, int): rate the record with this id 0–5 (the keyboard flow).
    annotate_requested(str, list, str): save these tags and note on the record with this id.
    record_activated(object): the GenerationRecord of the cell clicked or moved to.
    save_grid_requested(): "Save grid as PNG…" was pressed.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSplitter,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from desktop.core.experiments.records import CellTag
from desktop.core.records import GenerationRecord
from desktop.ui.experiments.jobs import Results
from desktop.ui.experiments.layout import GridLayout, axis_names, grid_layout
from desktop.ui.experiments.notes import CellNotes
from desktop.ui.experiments.table import THUMB_SIDE, THUMB_SIDES, CellTable, speed_line, stars
from desktop.ui.icons import icon

DETAILS_HEIGHT = 190
ZOOM_STEP = 32  # px per Ctrl+wheel notch or Ctrl+= / Ctrl+-


class ResultsPane(QWidget):
    rate_requested = Signal(str, int)
    annotate_requested = Signal(str, list, str)
    record_activated = Signal(object)
    save_grid_requested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.results: Results | None = None
        self.layout_: GridLayout | None = None
        self.tables: list[CellTable] = []
        self.columns = QComboBox()
        self.columns.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.columns.setToolTip("The axis whose values are the columns")
        self.columns.currentIndexChanged.connect(self._columns_changed)
        self.diff_button = QPushButton("Diff")
        self.diff_button.setCheckable(True)
        self.diff_button.setToolTip("Highlight the words of each reply that differ from the first reply of its row")
        self.diff_button.toggled.connect(self._diff_toggled)
        self.save_grid_button = QPushButton(icon("image"), "Save grid as PNG…")
        self.save_grid_button.clicked.connect(self.save_grid_requested)
        self.zoom = QSlider(Qt.Orientation.Horizontal)
        self.zoom.setObjectName("gridZoom")
        self.zoom.setRange(*THUMB_SIDES)
        self.zoom.setSingleStep(ZOOM_STEP)
        self.zoom.setPageStep(ZOOM_STEP)
        self.zoom.setValue(THUMB_SIDE)
        self.zoom.setFixedWidth(140)
        self.zoom.setToolTip("Thumbnail size (Ctrl+wheel, Ctrl+= and Ctrl+- on the grid)")
        self.zoom.valueChanged.connect(self._zoom_changed)
        self.zoom_label = QLabel("Zoom:")
        for keys, steps in (("Ctrl+=", 1), ("Ctrl++", 1), ("Ctrl+-", -1)):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(lambda steps=steps: self.zoom_by(steps))
        self.notes = CellNotes()
        self.notes.annotate_requested.connect(self.annotate_requested)
        self.notes.finished.connect(self._back_to_cells)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.tabBar().setElideMode(Qt.TextElideMode.ElideNone)
        self.details = QTextBrowser()
        self.details.setObjectName("cellDetails")
        self.details.setMinimumHeight(80)
        self.details.setPlaceholderText("Click a cell to see it in full. Arrows move, 1–5 rate, 0 clears.")
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Columns:"))
        bar.addWidget(self.columns)
        self.rows_label = QLabel()
        self.rows_label.setObjectName("rowsLabel")
        bar.addSpacing(12)
        bar.addWidget(self.rows_label)
        bar.addStretch(1)
        bar.addWidget(self.diff_button)
        bar.addWidget(self.zoom_label)
        bar.addWidget(self.zoom)
        bar.addWidget(self.save_grid_button)
        below = QWidget()
        below_layout = QVBoxLayout(below)
        below_layout.setContentsMargins(0, 0, 0, 0)
        below_layout.addWidget(self.details, 1)
        below_layout.addWidget(self.notes)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.tabs)
        split.addWidget(below)
        split.setStretchFactor(0, 4)
        split.setStretchFactor(1, 1)
        split.setSizes([DETAILS_HEIGHT * 4, DETAILS_HEIGHT])  # the cells get the room, not the details
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(split, 1)

    @property
    def experiment_id(self) -> str | None:
        return self.results.experiment.id if self.results is not None else None

    def show_results(self, results: Results) -> None:
        """Lay out ``results`` (a new experiment, or the same one read again) and fill what is saved."""
        same = self.results is not None and self.results.experiment.id == results.experiment.id
        self.results = results
        if not same:
            self.columns.blockSignals(True)
            self.columns.clear()
            names = axis_names(results.spec)
            self.columns.addItems(names)
            self.columns.setCurrentIndex(names.index(grid_layout(results.spec, results.cells).column_axis)
                                         if names else -1)
            self.columns.blockSignals(False)
            self.details.clear()
            self.notes.show_record(None)
            self._build()
        for widget in (self.save_grid_button, self.zoom, self.zoom_label):
            widget.setVisible(results.spec.kind == "image")
        self.diff_button.setVisible(results.spec.kind == "text")
        self.refresh()

    def refresh(self) -> None:
        """Place every record and failure of the results shown."""
        if self.results is None:
            return
        for index, record in self.results.records.items():
            self.place(index, record)
        for index, error in self.results.experiment.failures.items():
            for table in self.tables:
                table.fail(index, error)

    def place(self, index: int, record: GenerationRecord) -> None:
        if self.results is not None:
            self.results.records[index] = record
        for table in self.tables:
            table.place(index, record)

    def update_record(self, record: GenerationRecord) -> None:
        """A record changed (its rating, tags or note): show it again where it is."""
        tag = CellTag.of(record)
        if tag is not None and self.results is not None and tag.id == self.results.experiment.id:
            self.place(tag.cell, record)
            if self._shown_id == record.id:
                self.show_record(record)

    def current_table(self) -> CellTable | None:
        widget = self.tabs.currentWidget()
        return widget if isinstance(widget, CellTable) else None

    _shown_id = ""

    def show_record(self, record: GenerationRecord) -> None:
        self._shown_id = record.id
        tag = CellTag.of(record)
        coords = "".join(f"<tr><td><b>{html.escape(k)}</b></td><td>{html.escape(str(v))}</td></tr>"
                         for k, v in (tag.coords.items() if tag else ()))
        body = (f"<p><img src='{html.escape(record.image_path)}' width='160'></p>" if record.kind == "image"
                else f"<p style='white-space:pre-wrap'>{html.escape(record.output_text)}</p>")
        self.details.setHtml(f"<table>{coords}</table>{body}<p>{html.escape(speed_line(record))} · "
                             f"{stars(record.rating)} · record {html.escape(record.id[:12])}</p>")
        self.notes.show_record(record)
        self.record_activated.emit(record)

    def zoom_by(self, steps: int) -> None:
        """Zoom the image grid in (steps > 0) or out by ``steps`` notches."""
        self.zoom.setValue(self.zoom.value() + steps * ZOOM_STEP)

    def _zoom_changed(self, side: int) -> None:
        for table in self.tables:
            table.set_thumb_side(side)

    def _back_to_cells(self) -> None:
        table = self.current_table()
        if table is not None:
            table.setFocus(Qt.FocusReason.OtherFocusReason)

    def _diff_toggled(self, on: bool) -> None:
        self.diff_button.setText("Diff: on" if on else "Diff")
        for table in self.tables:
            table.set_diff(on)

    def _columns_changed(self) -> None:
        if self.results is not None:
            self._build()
            self.refresh()

    def _build(self) -> None:
        results = self.results
        assert results is not None
        image = results.spec.kind == "image"
        self.layout_ = grid_layout(results.spec, results.cells, self.columns.currentText() or None,
                                   row_axis_count=1 if image else None)
        rows = " · ".join(self.layout_.row_axes)
        self.rows_label.setText(f"Rows: {rows}" if rows else "")
        self.tabs.clear()
        for table in self.tables:
            table.deleteLater()
        self.tables = []
        for tab, label in enumerate(self.layout_.tabs or [""]):
            table = CellTable(self.layout_, tab, results.spec.kind)
            table.diff = self.diff_button.isChecked()
            table.rate_requested.connect(self.rate_requested)
            table.record_activated.connect(self.show_record)
            table.edit_tags_requested.connect(self.notes.edit_tags)
            table.edit_note_requested.connect(self.notes.edit_note)
            table.zoom_requested.connect(self.zoom_by)
            table.set_thumb_side(self.zoom.value())
            self.tables.append(table)
            self.tabs.addTab(table, label or results.experiment.name)
        self.tabs.tabBar().setVisible(len(self.tables) > 1)
