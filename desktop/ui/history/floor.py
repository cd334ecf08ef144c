"""The relevance floor of the History search: shown, adjustable, and what it hid.

Semantic and hybrid searches leave out results below a relevance floor
(``SearchQuery.min_relevance``; the default is measured per embedding model,
see :mod:`desktop.core.history.search`).  ``RelevanceFloor`` owns two
widgets the workspace places: ``spin`` ("Relevance ≥ 0.28", in the filter
row; disabled for keyword searches, which are never cut) and ``note`` (a line
above the results: "3 weaker matches hidden · Show them").  Until the person
changes the spin it follows the floor the search applied and the query asks
for the default (None); "Show them" sets it to 0 and the note then offers
"Use the default floor" again.

Signals:
    changed(): the person chose another floor; search again.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QDoubleSpinBox, QLabel, QSizePolicy, QWidget

STEP = 0.05


class RelevanceFloor(QObject):
    changed = Signal()

    def __init__(self, parent: QWidget, default: float = 0.0) -> None:
        super().__init__(parent)
        self.override: float | None = None  # None: the search's default floor
        self._default = default  # the default floor; then as the last semantic/hybrid search applied it
        self.spin = QDoubleSpinBox(parent)
        self.spin.setObjectName("relevanceFloor")
        self.spin.setRange(0.0, 1.0)
        self.spin.setSingleStep(STEP)
        self.spin.setDecimals(2)
        self.spin.setPrefix("Relevance ≥ ")
        self.spin.setValue(default)
        self.spin.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.spin.setToolTip("Meaning-based results scoring below this are not listed (every record is somewhat "
                             "similar to any query). 0 lists everything; keyword matches are always listed.")
        self.spin.valueChanged.connect(self._picked)
        self.note = QLabel(parent)
        self.note.setObjectName("floorNote")
        self.note.setTextFormat(Qt.TextFormat.RichText)
        self.note.linkActivated.connect(self._link)
        self.note.setVisible(False)

    def query_value(self) -> float | None:
        """What the next ``SearchQuery.min_relevance`` should be."""
        return self.override

    def set_mode(self, mode: str) -> None:
        self.spin.setEnabled(mode != "keyword")

    def show_result(self, result) -> None:
        """Follow the floor a search applied and say how many results it hid."""
        cut = result.mode in ("semantic", "hybrid")
        if cut and self.override is None:
            self._default = result.min_relevance
            self._show_value(result.min_relevance)
        lines = []
        if cut and result.hidden:
            n = result.hidden
            lines.append(f"{n} weaker match{'es' if n != 1 else ''} hidden (relevance below "
                         f"{result.min_relevance:.2f}) · <a href='show'>Show them</a>")
        elif cut and self.override is not None and self._default and self.override < self._default:
            lines.append(f"Showing matches down to relevance {self.override:.2f} · "
                         f"<a href='default'>Use the default floor ({self._default:.2f})</a>")
        self.note.setText("".join(lines))
        self.note.setVisible(bool(lines))

    def reset(self) -> bool:
        """Back to the default floor (the filters were cleared); whether it was another one."""
        if self.override is None:
            return False
        self.override = None
        self._show_value(self._default)
        return True

    def _show_value(self, value: float) -> None:
        self.spin.blockSignals(True)
        self.spin.setValue(value)
        self.spin.blockSignals(False)

    def _picked(self, value: float) -> None:
        self.override = round(value, 2)
        self.changed.emit()

    def _link(self, target: str) -> None:
        if target == "show":
            self.spin.setValue(0.0)  # emits changed
        else:
            self.reset()
            self.changed.emit()
