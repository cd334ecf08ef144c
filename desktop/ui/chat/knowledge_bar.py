"""The row above Chat's input that grounds the thread: which collections, how many chunks, the
relevance threshold, and what to do when nothing reaches it.

"Answer from" is a menu of the collections (the history first, then the
folders; ticks for the chosen ones); the other three settings apply, and are
shown, only while at least one is ticked.  The bar shows one thread's choice (:meth:`show_choice`)
and says when the person changes it.

Signals:
    changed(object): the ThreadGrounding the person just set.
    menu_opened(): the collections menu is about to show (the list is read again).
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QSpinBox,
    QWidget,
)

from desktop.core.knowledge.grounding import ANSWER, MAX_K, STOP
from desktop.core.knowledge.registry import HISTORY, Collection
from desktop.ui.chat.grounding_choices import ThreadGrounding
from desktop.ui.flow_layout import FlowLayout

POLICIES = ((ANSWER, "Answer anyway"), (STOP, "Do not answer"))
NONE_CHOSEN = "Nothing (plain chat)"


class KnowledgeBar(QWidget):
    changed = Signal(object)
    menu_opened = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chatKnowledgeBar")
        self._available: list[Collection] = []
        self._chosen: list[str] = []
        self.picker = QPushButton()  # a push button with a menu: framed like the other controls, with an arrow
        self.picker.setObjectName("chatCollections")
        self.picker.setMinimumWidth(110)
        self.picker.setStyleSheet("text-align: left; padding-left: 8px; padding-right: 8px")
        self.picker.setToolTip("The collections this chat answers from: its sources are shown before each "
                               "reply and cited as [1], [2]")
        self.menu = QMenu(self.picker)
        self.picker.setMenu(self.menu)
        self.k = QSpinBox()
        self.k.setRange(1, MAX_K)
        self.k.setToolTip("The most chunks put into the prompt of one reply")
        self.k.setMaximumWidth(64)
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.0, 1.0)
        self.threshold.setSingleStep(0.05)
        self.threshold.setDecimals(2)
        self.threshold.setMaximumWidth(72)
        self.threshold.setToolTip("How relevant a chunk must be to be used (0: every chunk; the score is the "
                                  "similarity of the chunk to your message)")
        self.no_context = QComboBox()
        for value, label in POLICIES:
            self.no_context.addItem(label, value)
        self.no_context.setToolTip("What to do when no chunk reaches the threshold")
        self._labels = [QLabel("Answer from:"), QLabel("Chunks:"), QLabel("Threshold:"), QLabel("None relevant:")]
        # Label and control stay together; the pairs wrap onto a second line in a narrow window.
        row = FlowLayout(self, spacing=8)
        self._settings: list[QWidget] = []  # the pairs that apply only while something is chosen
        for label, control in zip(self._labels, (self.picker, self.k, self.threshold, self.no_context)):
            pair = QWidget()
            if control is not self.picker:
                self._settings.append(pair)
            pair_layout = QHBoxLayout(pair)
            pair_layout.setContentsMargins(0, 0, 0, 0)
            pair_layout.addWidget(label)
            pair_layout.addWidget(control)
            row.addWidget(pair)
        self.menu.aboutToShow.connect(self.menu_opened)
        self.k.valueChanged.connect(self._emit)
        self.threshold.valueChanged.connect(self._emit)
        self.no_context.currentIndexChanged.connect(self._emit)
        self._quiet = False
        self.show_choice(ThreadGrounding())

    # --- what can be chosen -----------------------------------------------------------------
    def set_available(self, collections: list[Collection]) -> None:
        """The collections to offer (the history first); a chosen one that is gone stays, marked."""
        self._available = list(collections)
        self._rebuild_menu()

    def available_names(self) -> list[str]:
        return [c.name for c in self._available]

    def _rebuild_menu(self) -> None:
        self.menu.clear()
        names = [c.name for c in self._available] or [HISTORY]
        names += [n for n in self._chosen if n not in names]
        for name in names:
            known = self._collection(name)
            label = "History (your past generations)" if name == HISTORY else name
            if known is None and name != HISTORY:
                label += " (not found)"
            elif known is not None and known.state.missing_folders:
                label += " (folder missing)"
            elif known is not None and not known.is_history and not known.state.indexed_at:
                label += " (not indexed yet)"
            action = self.menu.addAction(label)
            action.setCheckable(True)
            action.setChecked(name in self._chosen)
            action.setData(name)
            action.toggled.connect(lambda on, name=name: self.toggle(name, on))
        self.menu.addSeparator()
        manage = self.menu.addAction("Add folders in the Knowledge workspace (Ctrl+8)")
        manage.setEnabled(False)

    def _collection(self, name: str) -> Collection | None:
        return next((c for c in self._available if c.name == name), None)

    # --- the choice -------------------------------------------------------------------------
    def toggle(self, name: str, on: bool) -> None:
        """Tick or untick ``name`` (what the menu does)."""
        if on and name not in self._chosen:
            self._chosen.append(name)
        elif not on and name in self._chosen:
            self._chosen.remove(name)
        else:
            return
        self._show_chosen()
        self._emit()

    def show_choice(self, choice: ThreadGrounding) -> None:
        """Show a thread's choice without emitting ``changed``."""
        self._quiet = True
        self._chosen = list(choice.collections)
        self.k.setValue(choice.k)
        self.threshold.setValue(choice.threshold)
        self.no_context.setCurrentIndex(max(0, self.no_context.findData(choice.no_context)))
        self._quiet = False
        self._rebuild_menu()
        self._show_chosen()

    def choice(self) -> ThreadGrounding:
        return ThreadGrounding(list(self._chosen), self.k.value(), round(self.threshold.value(), 2),
                               self.no_context.currentData())

    def _show_chosen(self) -> None:
        text = ", ".join("History" if n == HISTORY else n for n in self._chosen) or NONE_CHOSEN
        self.picker.setText(text if len(text) <= 40 else text[:39] + "…")
        grounded = bool(self._chosen)
        for pair in self._settings:  # plain chat: one short row, so the conversation keeps the height
            pair.setVisible(grounded)

    def _emit(self, *_args) -> None:
        if not self._quiet:
            self.changed.emit(self.choice())
