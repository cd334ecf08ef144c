"""One Insights plot: a titled pyqtgraph chart of one Series, with PNG and CSV export buttons.

pyqtgraph is imported when the first card is built (the workspace is shown),
never on the app's startup path.  :meth:`PlotCard.draw` replaces what the
card shows; ``drawn`` keeps the plotted points per label (x values, y values)
so a test can read what is on screen without pixels.  Days are plotted at
their midnight UTC epoch seconds on a date axis.

Signals:
    export_png_requested(object): this card (the workspace picks the file).
    export_csv_requested(object): this card.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from desktop.core.insights.series import Series
from desktop.ui import theme

CHART_HEIGHT = 240
BAR_WIDTH = 0.6
# Tableau 10: distinct on light and dark backgrounds; more series than this repeat the colours
PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f",
           "#bab0ac")


DAY = 86400.0  # seconds


def day_seconds(day) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp()


def _grouped(series: Series, by: str, x: str, y: str) -> dict[str, tuple[list, list]]:
    """Points per value of ``by``, in the series' order (a few hundred rows: Python lists are fine)."""
    out: dict[str, tuple[list, list]] = {}
    for row in series.table.select([by, x, y]).to_pylist():
        if row[y] is None:
            continue
        xs, ys = out.setdefault(str(row[by]), ([], []))
        xs.append(row[x])
        ys.append(row[y])
    return out


class PlotCard(QFrame):
    export_png_requested = Signal(object)
    export_csv_requested = Signal(object)

    def __init__(self, title: str, *, dates: bool, y_label: str, parent=None) -> None:
        super().__init__(parent)
        import pyqtgraph as pg  # the first Insights shown pays for it, not the app's start

        theme.set_role(self, "card")
        self.series: Series | None = None
        self.drawn: dict[str, tuple[list, list]] = {}
        c = theme.colours()
        axes = {"bottom": pg.DateAxisItem(orientation="bottom")} if dates else {}
        self.plot = pg.PlotWidget(background=c.surface, axisItems=axes)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setLabel("left", y_label, color=c.muted)
        self.plot.getAxis("left").enableAutoSIPrefix(False)  # "seconds (x0.001)" reads worse than 0.05
        for name in ("left", "bottom"):
            axis = self.plot.getAxis(name)
            axis.setPen(c.border)
            axis.setTextPen(c.muted)
        self.legend = self.plot.addLegend(offset=(-10, 10), labelTextColor=c.text)
        self.plot.setMinimumHeight(CHART_HEIGHT)
        self.title = QLabel(title)
        theme.set_role(self.title, "subtitle")
        self.empty = QLabel("Nothing to show for these filters.")
        theme.set_role(self.empty, "muted")
        self.png_button = QPushButton("PNG…")
        self.png_button.setToolTip("Save this plot as a PNG image")
        self.png_button.clicked.connect(lambda: self.export_png_requested.emit(self))
        self.csv_button = QPushButton("CSV…")
        self.csv_button.setToolTip("Save the numbers of this plot as CSV")
        self.csv_button.clicked.connect(lambda: self.export_csv_requested.emit(self))
        head = QHBoxLayout()
        head.addWidget(self.title)
        head.addStretch(1)
        head.addWidget(self.empty)
        head.addWidget(self.png_button)
        head.addWidget(self.csv_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(theme.SPACE_S, theme.SPACE_S, theme.SPACE_S, theme.SPACE_S)
        layout.addLayout(head)
        layout.addWidget(self.plot)

    def _reset(self, series: Series) -> None:
        self.series = series
        self.drawn = {}
        self.plot.clear()
        self.legend.clear()
        self.empty.setVisible(series.rows == 0)
        self.csv_button.setEnabled(series.rows > 0)

    @staticmethod
    def _pen(index: int, count: int) -> Any:
        return PALETTE[index % len(PALETTE)]

    def draw_lines(self, series: Series, by: str, y: str, *, zero_days: bool = False) -> None:
        """One line (with dots) per value of ``by`` over the series' days.

        ``zero_days``: the values are counts, so a day without a row is a 0 on
        the line (not a straight segment across the gap, as for a mean).
        """
        import pyqtgraph as pg

        self._reset(series)
        groups = _grouped(series, by, "day", y)
        if zero_days and groups:
            first = min(min(days) for days, _ in groups.values())
            last = max(max(days) for days, _ in groups.values())
            every = [first + timedelta(days=k) for k in range((last - first).days + 1)]
            groups = {label: (every, [dict(zip(days, values)).get(d, 0) for d in every])
                      for label, (days, values) in groups.items()}
        for i, (label, (days, values)) in enumerate(groups.items()):
            xs = [day_seconds(d) for d in days]
            colour = self._pen(i, len(groups))
            self.plot.addItem(pg.PlotDataItem(xs, values, pen=pg.mkPen(colour, width=2), symbol="o", symbolSize=5,
                                              symbolBrush=colour, symbolPen=None, name=label))
            self.drawn[label] = (xs, list(values))
        self.plot.enableAutoRange()
        every_x = [x for xs, _ in self.drawn.values() for x in xs]
        if every_x and max(every_x) - min(every_x) < 2 * DAY:
            # One or two days: auto-range would zoom the date axis down to fractions of a second.
            self.plot.setXRange(min(every_x) - DAY, max(every_x) + DAY, padding=0)
            self.plot.enableAutoRange(axis="y")

    def draw_bars(self, labels: list[str], groups: dict[str, list[float]]) -> None:
        """Bars at categories ``labels``; one colour per group, side by side (``groups``: label -> heights)."""
        import pyqtgraph as pg

        width = BAR_WIDTH / max(1, len(groups))
        for i, (name, heights) in enumerate(groups.items()):
            xs = [k - BAR_WIDTH / 2 + width * (i + 0.5) for k in range(len(labels))]
            colour = self._pen(i, len(groups))
            self.plot.addItem(pg.BarGraphItem(x=xs, height=heights, width=width, brush=colour, pen=colour,
                                              name=name))
            self.drawn[name] = (xs, list(heights))
        self.plot.getAxis("bottom").setTicks([list(enumerate(labels))])
        self.plot.setXRange(-0.5, max(0, len(labels) - 1) + 0.5, padding=0)
        self.plot.enableAutoRange(axis="y")

    def draw_image_speed(self, series: Series) -> None:
        self._reset(series)
        rows = series.table.to_pylist()
        models = sorted({r["model"] for r in rows})
        sizes = sorted({r["size"] for r in rows})
        value = {(r["model"], r["size"]): r["seconds_per_step"] for r in rows}
        self.draw_bars(models, {size: [value.get((m, size), 0.0) for m in models] for size in sizes})

    def draw_ratings(self, series: Series) -> None:
        """Records per star rating (1-5) per model; unrated records are in the CSV, not drawn."""
        self._reset(series)
        rows = [r for r in series.table.to_pylist() if r["rating"]]
        models = sorted({r["model"] for r in rows})
        count = {(r["model"], r["rating"]): r["records"] for r in rows}
        self.draw_bars(models, {f"{s} star{'s' if s > 1 else ''}": [float(count.get((m, s), 0)) for m in models] for s in range(1, 6)})
        self.empty.setVisible(not rows)

    def draw_disk(self, series: Series) -> None:
        self._reset(series)
        parts = series.column("part")
        mib = [b / 2**20 for b in series.column("bytes")]
        self.draw_bars(parts, {"MiB": mib})
