"""The Summary tab of an experiment: per value of a chosen axis, mean rating and mean speed, as a table and bars.

The numbers come from :func:`desktop.core.experiments.summary.summarize` on
the records the results pane holds, so a rating or a newly finished cell
shows here at the next :meth:`SummaryPanel.show_results`.  The charts are
pyqtgraph ``BarGraphItem``s; pyqtgraph is imported the first time the panel
is shown (it is not on the app's startup path), and the panel computes
nothing while hidden.

Signals:
    summarized(object): the AxisSummary now in the table and the charts.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.core.experiments.summary import AxisSummary, summarize
from desktop.ui import theme
from desktop.ui.experiments.jobs import Results

BAR_WIDTH = 0.6
CHART_HEIGHT = 220


def _number(value: float | None, digits: int) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


class BarChart(QWidget):
    """One pyqtgraph plot of one bar per axis value (a missing mean draws no bar)."""

    def __init__(self, title: str, parent=None) -> None:
        super().__init__(parent)
        import pyqtgraph as pg  # the first Summary shown pays for it, not the app's start

        c = theme.colours()
        self.plot = pg.PlotWidget(background=c.surface)
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.setTitle(title, color=c.text, size=f"{theme.FONT_BODY}px")
        for name in ("left", "bottom"):
            axis = self.plot.getAxis(name)
            axis.setPen(c.border)
            axis.setTextPen(c.muted)
        self.bars = pg.BarGraphItem(x=[], height=[], width=BAR_WIDTH, brush=c.accent, pen=c.accent)
        self.plot.addItem(self.bars)
        self.plot.setMinimumHeight(CHART_HEIGHT)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)

    def show_bars(self, labels: list[str], heights: list[float | None], y_max: float | None = None) -> None:
        shown = [(i, h) for i, h in enumerate(heights) if h is not None]
        self.bars.setOpts(x=[i for i, _ in shown], height=[h for _, h in shown], width=BAR_WIDTH)
        self.plot.getAxis("bottom").setTicks([list(enumerate(labels))])
        self.plot.setXRange(-0.5, max(0, len(labels) - 1) + 0.5, padding=0)
        top = y_max if y_max is not None else max([h for _, h in shown] or [1.0]) * 1.15
        self.plot.setYRange(0, top or 1.0, padding=0)

    @property
    def bar_count(self) -> int:
        return len(self.bars.opts["height"])


class SummaryPanel(QWidget):
    summarized = Signal(object)

    HEADERS = ("Value", "Cells", "Rated", "Mean rating", "Mean speed", "Failed")

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.results: Results | None = None
        self.summaries: tuple[AxisSummary, ...] = ()
        self.rating_chart: BarChart | None = None
        self.speed_chart: BarChart | None = None
        self.axis_box = QComboBox()
        self.axis_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.axis_box.setToolTip("The axis whose values are summarized")
        self.axis_box.currentIndexChanged.connect(self._show_axis)
        self.note = QLabel("Mean rating counts rated cells only.")
        theme.set_role(self.note, "muted")
        self.table = QTableWidget(0, len(self.HEADERS))
        self.table.setHorizontalHeaderLabels(self.HEADERS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Axis:"))
        bar.addWidget(self.axis_box)
        bar.addSpacing(theme.SPACE_M)
        bar.addWidget(self.note)
        bar.addStretch(1)
        self.charts = QHBoxLayout()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, theme.SPACE_S, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)
        layout.addLayout(self.charts, 2)  # the bars get the room; a table of a few values needs little

    def show_results(self, results: Results) -> None:
        """Summarize ``results`` now if the panel is shown, else when it next is."""
        self.results = results
        if self.isVisible():
            self.refresh()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        if self.rating_chart is None:
            self.rating_chart = BarChart("Mean rating (rated cells)")
            self.speed_chart = BarChart("Mean speed")
            self.charts.addWidget(self.rating_chart)
            self.charts.addWidget(self.speed_chart)
        self.refresh()

    def refresh(self) -> None:
        if self.results is None:
            return
        self.summaries = summarize(self.results.experiment, self.results.records.values())
        names = [s.axis for s in self.summaries]
        if names != [self.axis_box.itemText(i) for i in range(self.axis_box.count())]:
            current = self.axis_box.currentText()
            self.axis_box.blockSignals(True)
            self.axis_box.clear()
            self.axis_box.addItems(names)
            self.axis_box.setCurrentIndex(names.index(current) if current in names else 0)
            self.axis_box.blockSignals(False)
        self._show_axis()

    def current(self) -> AxisSummary | None:
        index = self.axis_box.currentIndex()
        return self.summaries[index] if 0 <= index < len(self.summaries) else None

    def _show_axis(self) -> None:
        summary = self.current()
        if summary is None:
            self.table.setRowCount(0)
            return
        self.table.setHorizontalHeaderItem(4, QTableWidgetItem(f"Mean {summary.speed_unit}"))
        self.table.setRowCount(len(summary.values))
        for row, v in enumerate(summary.values):
            cells = (v.label, str(v.cells), str(v.rated), _number(v.mean_rating, 2),
                     _number(v.mean_speed, 1 if summary.speed_unit == "tok/s" else 2), str(v.failed))
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, column, item)
        labels = [v.label for v in summary.values]
        if self.rating_chart is not None and self.speed_chart is not None:
            self.rating_chart.show_bars(labels, [v.mean_rating for v in summary.values], y_max=5.0)
            self.speed_chart.plot.setTitle(f"Mean speed ({summary.speed_unit})", color=theme.colours().text,
                                           size=f"{theme.FONT_BODY}px")
            self.speed_chart.show_bars(labels, [v.mean_speed for v in summary.values])
        self.summarized.emit(summary)
