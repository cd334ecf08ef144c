"""The Insights workspace (Ctrl+6): how the history's generations, speeds, ratings and disk use change.

A filter bar (kind; From / To days, "Any" when open; Refresh) above a
scrolling grid of :class:`~desktop.ui.insights.plots.PlotCard`s: generations
per day by kind and by model, tokens/s and time to first token per model
over time, image seconds per step per model and size, ratings per model and
disk use.  Every card saves its plot as PNG and its numbers as CSV.

Loading is one ``io`` job calling
:func:`~desktop.core.insights.compute.compute_insights` on the shared history
store (``Services.history_store``); the result reaches the view by the job's
signal, and a result for filters that were changed since is dropped.  A
bad range (From after To) is the job's error, shown in the notice line.
The history's saved listener marks the plots stale: they reload when the
workspace is next shown (or at once, after a short pause, while it is).
The listener is removed from the store when the workspace is destroyed, so
a closed view is neither kept alive nor called by the writer thread.

Hooks (replaceable in tests): ``choose_path(suggested, file_filter) -> str``.

Signals:
    status_message(str): a line for the status bar.
    insights_shown(object): the Insights now plotted.
    load_failed(str): reading the insights failed; the message shown.
    exported(str): a PNG or CSV file was written (its path).
"""

from __future__ import annotations

import logging
import threading
from datetime import date
from pathlib import Path

from PySide6.QtCore import QDate, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from desktop.core.errors import GenLabError
from desktop.core.insights import Insights, InsightsQuery, compute_insights
from desktop.core.jobs import Job
from desktop.ui import theme
from desktop.ui.insights.plots import PlotCard

log = logging.getLogger(__name__)
KIND_CHOICES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Text and images", ("text", "image")), ("Text", ("text",)), ("Images", ("image",)))
ANY_DAY = QDate(2000, 1, 1)  # the date edits' minimum, shown as "Any": an open end of the range
RELOAD_MS = 500  # a burst of saves becomes one reload


class SavedSubscription:
    """One view's saved listener on the history store, added lazily (on the io job that first opens the
    store) and removed by :meth:`close`; a close before the add makes the add a no-op."""

    def __init__(self, listener) -> None:
        self.listener = listener
        self.store = None
        self.closed = False
        self._lock = threading.Lock()  # attach runs on a worker thread, close on the GUI thread

    def attach(self, store) -> None:
        with self._lock:
            if self.closed or self.store is not None:
                return
            store.add_saved_listener(self.listener)
            self.store = store

    def close(self, *_args) -> None:
        with self._lock:
            self.closed = True
            if self.store is not None:
                self.store.remove_saved_listener(self.listener)
                self.store = None


class InsightsWorkspace(QWidget):
    status_message = Signal(str)
    insights_shown = Signal(object)
    load_failed = Signal(str)
    exported = Signal(str)
    _history_changed = Signal()  # from the store's writer thread; queued to the GUI thread

    def __init__(self, services, runner, parent=None) -> None:
        super().__init__(parent)
        self.services = services
        self.runner = runner
        self.insights: Insights | None = None
        self.cards: dict[str, PlotCard] = {}
        self.stale = True
        self._request = 0  # the newest load; older results are dropped
        emit = self._history_changed.emit
        self.subscription = SavedSubscription(lambda _records: emit())
        # Not a bound method of self: destroyed fires while the C++ half is going away.
        self.destroyed.connect(self.subscription.close)
        self.choose_path = self._choose_path
        self._reload = QTimer(self, singleShot=True, interval=RELOAD_MS)
        self._reload.timeout.connect(self.load)
        self._history_changed.connect(self._on_history_changed)

        self.kind_box = QComboBox()
        for label, _ in KIND_CHOICES:
            self.kind_box.addItem(label)
        self.date_from = self._date_edit("First day shown (Any: from the first record)")
        self.date_to = self._date_edit("Last day shown (Any: up to today)")
        self.refresh_button = QPushButton("Refresh")
        self.notice = QLabel("")
        self.notice.setWordWrap(True)
        theme.set_role(self.notice, "muted")
        for signal in (self.kind_box.currentIndexChanged, self.date_from.dateChanged, self.date_to.dateChanged):
            signal.connect(lambda *_: self.load())
        self.refresh_button.clicked.connect(self.load)
        bar = QHBoxLayout()
        for widget in (QLabel("Kind:"), self.kind_box, QLabel("From:"), self.date_from, QLabel("To:"), self.date_to,
                       self.refresh_button):
            bar.addWidget(widget)
        bar.addStretch(1)
        self.grid = QGridLayout()
        self.grid.setSpacing(theme.SPACE_M)
        body = QWidget()
        body.setLayout(self.grid)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # two columns fit 900 px
        scroll.setWidget(body)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.notice)
        layout.addWidget(scroll, 1)

    @staticmethod
    def _date_edit(tip: str) -> QDateEdit:
        edit = QDateEdit()
        edit.setCalendarPopup(True)
        edit.setDisplayFormat("yyyy-MM-dd")
        edit.setMinimumDate(ANY_DAY)
        edit.setSpecialValueText("Any")
        edit.setDate(ANY_DAY)
        edit.setToolTip(tip)
        return edit

    # --- filters -------------------------------------------------------------
    def query(self) -> InsightsQuery:
        def day(edit: QDateEdit) -> date | None:
            value = edit.date()
            return None if value == ANY_DAY else date(value.year(), value.month(), value.day())

        return InsightsQuery(date_from=day(self.date_from), date_to=day(self.date_to),
                             kinds=KIND_CHOICES[self.kind_box.currentIndex()][1])

    def set_filters(self, *, kinds: tuple[str, ...] | None = None, date_from: date | None = None,
                    date_to: date | None = None) -> None:
        """Set the filter widgets (None: open day); one reload follows."""
        widgets = (self.kind_box, self.date_from, self.date_to)
        for w in widgets:
            w.blockSignals(True)
        if kinds is not None:
            self.kind_box.setCurrentIndex([k for _, k in KIND_CHOICES].index(tuple(kinds)))
        self.date_from.setDate(QDate(date_from.year, date_from.month, date_from.day) if date_from else ANY_DAY)
        self.date_to.setDate(QDate(date_to.year, date_to.month, date_to.day) if date_to else ANY_DAY)
        for w in widgets:
            w.blockSignals(False)
        self.load()

    # --- loading -----------------------------------------------------------------
    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        if self.stale:
            self.load()
        if not self.cards:  # built (pyqtgraph imported) while the worker reads the history
            self._build_cards()

    def load(self) -> None:
        """Read the insights for the filters shown, on an ``io`` job."""
        self.stale = False
        self._reload.stop()
        self._request += 1
        request, query = self._request, self.query()
        services, subscription = self.services, self.subscription

        def work(*, cancel, progress):
            store = services.history_store
            subscription.attach(store)
            return compute_insights(store, query, library=services.library, cancel=cancel, progress=progress)

        self.notice.setText("Reading the history…")
        handle = self.runner.submit(Job("Read insights", work, kind="io", reports_failure=True))
        handle.finished.connect(lambda result: self._loaded(request, result))
        handle.failed.connect(lambda message, _trace: self._failed(request, message))

    def _loaded(self, request: int, insights: Insights) -> None:
        if request != self._request:
            return
        self.insights = insights
        self._draw(insights)
        n = insights.records
        self.notice.setText(f"{n:,} generation{'s' if n != 1 else ''} in these filters.")
        self.insights_shown.emit(insights)

    def _failed(self, request: int, message: str) -> None:
        if request != self._request:
            return
        self.notice.setText(message)
        self.status_message.emit(message)
        self.load_failed.emit(message)

    def _on_history_changed(self) -> None:
        self.stale = True
        if self.isVisible():
            self._reload.start()

    # --- plots -------------------------------------------------------------------
    def _build_cards(self) -> None:
        specs = (("per_day_kind", "Generations per day by kind", True, "generations"),
                 ("per_day_model", "Generations per day by model", True, "generations"),
                 ("tokens_per_s", "Tokens/s per model over time", True, "tokens/s (daily mean)"),
                 ("ttft_s", "Time to first token per model over time", True, "seconds (daily mean)"),
                 ("image_speed", "Image seconds per step per model and size", False, "s / step"),
                 ("ratings", "Ratings per model", False, "records"),
                 ("disk", "Disk used", False, "MiB"))
        for i, (key, title, dates, unit) in enumerate(specs):
            card = PlotCard(title, dates=dates, y_label=unit)
            card.setObjectName(f"insights_{key}")
            card.export_png_requested.connect(self.export_png)
            card.export_csv_requested.connect(self.export_csv)
            self.cards[key] = card
            self.grid.addWidget(card, i // 2, i % 2)

    def _draw(self, insights: Insights) -> None:
        if not self.cards:
            self._build_cards()
        c = self.cards
        c["per_day_kind"].draw_lines(insights.per_day_kind, "kind", "generations", zero_days=True)
        c["per_day_model"].draw_lines(insights.per_day_model, "model", "generations", zero_days=True)
        c["tokens_per_s"].draw_lines(insights.text_speed, "model", "tokens_per_s")
        c["ttft_s"].draw_lines(insights.text_speed, "model", "ttft_s")
        c["image_speed"].draw_image_speed(insights.image_speed)
        c["ratings"].draw_ratings(insights.ratings)
        c["disk"].draw_disk(insights.disk)

    # --- exports -------------------------------------------------------------------
    def _choose_path(self, suggested: str, file_filter: str) -> str:
        path, _ = QFileDialog.getSaveFileName(self, "Save as", suggested, file_filter)
        return path

    def export_png(self, card: PlotCard) -> str:
        """Save ``card``'s plot as a PNG file (the path chosen); returns the path, "" when none was chosen."""
        from pyqtgraph.exporters import ImageExporter

        path = self.choose_path(f"{card.objectName()}.png", "PNG image (*.png)")
        if not path:
            return ""
        target = Path(path)
        before = target.stat().st_mtime_ns if target.exists() else None
        ImageExporter(card.plot.plotItem).export(str(target))
        # the exporter does not say whether QImage.save worked; the file does
        if not target.exists() or target.stat().st_mtime_ns == before:
            self._say(f"Could not write {target}. Choose a folder you can write to, with free space.")
            return ""
        return self._done(target)

    def export_csv(self, card: PlotCard) -> str:
        """Save the numbers behind ``card`` as CSV; returns the path, "" when none was chosen or it failed."""
        if card.series is None:
            return ""
        path = self.choose_path(f"{card.objectName()}.csv", "CSV (*.csv)")
        if not path:
            return ""
        try:
            return self._done(card.series.write_csv(path))
        except GenLabError as exc:
            self._say(str(exc))
            return ""

    def _done(self, path: Path) -> str:
        self._say(f"Saved {path}")
        self.exported.emit(str(path))
        return str(path)

    def _say(self, text: str) -> None:
        self.notice.setText(text)
        self.status_message.emit(text)
