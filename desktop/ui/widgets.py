"""Small widgets and helpers the workspaces share.

:class:`EmptyState` is every pane's "nothing here yet" (History's results,
the Hub before a search, Downloads, Images before a model);
:func:`double_spin_box` and :func:`spin_box` build the number boxes whose
ranges are the core's validation ranges.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QPalette, QStandardItemModel
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QTreeWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.ui import theme
from desktop.ui.icons import IconName, icon

EMPTY_TEXT_WIDTH = 460  # px: a comfortable line length for the explanation
EMPTY_ICON_SIDE = 56


def size_columns(tree: QTreeWidget, stretch: int) -> None:
    """Columns as wide as their contents, column ``stretch`` taking the width that is left."""
    header = tree.header()
    header.setStretchLastSection(False)
    for column in range(tree.columnCount()):
        mode = QHeaderView.ResizeMode.Stretch if column == stretch else QHeaderView.ResizeMode.ResizeToContents
        header.setSectionResizeMode(column, mode)


class ElidedLabel(QLabel):
    """A one-line label that shows as much of its text as fits, then "…".

    Status-bar texts (the running job, the downloads total) can be long; a
    plain QLabel would widen the status bar until its neighbours are clipped.
    ``max_width`` caps the label (None: it takes whatever width its layout
    gives, never asking for more); with ``text_tooltip`` the whole text is
    its tooltip, else the tooltip is the caller's.
    """

    def __init__(self, text: str = "", max_width: int | None = 380, *, text_tooltip: bool = True,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._text_tooltip = text_tooltip
        if max_width is None:
            self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        else:
            self.setMaximumWidth(max_width)
            self.setMinimumWidth(40)
            self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self._full = ""
        self.setText(text)

    def text(self) -> str:  # noqa: D102 - the whole text, not the elided one on screen
        return self._full

    def setText(self, text: str) -> None:  # noqa: N802 - Qt's name
        self._full = text
        if self._text_tooltip:
            self.setToolTip(text if text else "")
        self._elide()

    def sizeHint(self):  # noqa: N802
        hint = super().sizeHint()
        hint.setWidth(min(self.maximumWidth(), self.fontMetrics().horizontalAdvance(self._full) + 8))
        return hint

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        width = max(self.width(), 40) if self.isVisible() else self.maximumWidth()
        super().setText(self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, width))


class EmptyState(QWidget):
    """What a pane shows while it has nothing to list: an icon, a title, a short text and what to do.

    Centred; the icon is drawn in the placeholder colour, the title and text
    take the theme's "title" and "muted" roles and are plain text (a search
    query in a title is never markup).  ``action`` names the call-to-action
    button (``button``, primary; None without one); :meth:`add_button` adds
    more beside it.  :meth:`set_text` rewords it, :meth:`set_action_visible`
    shows or hides the button.

    Signals:
        action_requested(): the call-to-action button was clicked.
    """

    action_requested = Signal()

    def __init__(self, icon_name: IconName | None, title: str, text: str, action: str = "", *,
                 action_icon: IconName | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("emptyState")
        self.picture = QLabel()
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        if icon_name is not None:
            self.picture.setPixmap(icon(icon_name, QPalette.ColorRole.PlaceholderText).pixmap(
                QSize(EMPTY_ICON_SIDE, EMPTY_ICON_SIDE)))
        self.picture.setVisible(icon_name is not None)
        self.title = QLabel(title)
        theme.set_role(self.title, "title")
        self.detail = QLabel(text)
        theme.set_role(self.detail, "muted")
        for label in (self.title, self.detail):
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setWordWrap(True)
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setMaximumWidth(EMPTY_TEXT_WIDTH)
        self._buttons = QHBoxLayout()
        self._buttons.addStretch(1)
        self._buttons.addStretch(1)
        self.button: QPushButton | None = None
        if action:
            self.button = self.add_button(action, action_icon, QPalette.ColorRole.HighlightedText)  # on the accent
            theme.set_role(self.button, "primary")
            self.button.clicked.connect(self.action_requested)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(theme.SPACE_XL, theme.SPACE_XL, theme.SPACE_XL, theme.SPACE_XL)
        layout.setSpacing(theme.SPACE_M)
        layout.addStretch(2)
        layout.addWidget(self.picture)
        for label in (self.title, self.detail):
            row = QHBoxLayout()  # a wrapped label keeps its height in a row, not with an alignment flag
            row.addStretch(1)
            row.addWidget(label, 100)  # as wide as it may be (EMPTY_TEXT_WIDTH), the stretches take the rest
            row.addStretch(1)
            layout.addLayout(row)
        layout.addSpacing(theme.SPACE_S)
        layout.addLayout(self._buttons)
        layout.addStretch(3)

    def add_button(self, text: str, icon_name: IconName | None = None,
                   icon_role: QPalette.ColorRole = QPalette.ColorRole.ButtonText) -> QPushButton:
        """A button after the others (the caller connects it)."""
        button = QPushButton(icon(icon_name, icon_role), text) if icon_name is not None else QPushButton(text)
        self._buttons.insertWidget(self._buttons.count() - 1, button)
        return button

    def set_text(self, title: str, text: str) -> None:
        self.title.setText(title)
        self.detail.setText(text)

    def set_action_visible(self, visible: bool) -> None:
        if self.button is not None:
            self.button.setVisible(visible)


def double_spin_box(minimum: float, maximum: float, step: float, decimals: int = 2) -> QDoubleSpinBox:
    """A decimal box limited to [minimum, maximum] (a validation range), stepping by ``step``."""
    box = QDoubleSpinBox()
    box.setRange(minimum, maximum)
    box.setSingleStep(step)
    box.setDecimals(decimals)
    return box


def spin_box(minimum: int, maximum: int, step: int = 1, special: str = "") -> QSpinBox:
    """A whole-number box limited to [minimum, maximum]; ``special`` is shown for the minimum ("off", "random")."""
    box = QSpinBox()
    box.setRange(minimum, maximum)
    box.setSingleStep(step)
    if special:
        box.setSpecialValueText(special)
    return box


def fill_offer_combo(combo: QComboBox, entries: list[tuple[str, object, str, bool]]) -> None:
    """Refill a combo of things to add, none chosen: (label, data, tooltip, enabled) each; a disabled
    entry stays listed, greyed, with its tooltip saying why.  No signal fires while it is refilled."""
    combo.blockSignals(True)
    combo.clear()
    items = combo.model()
    assert isinstance(items, QStandardItemModel)
    for label, data, tooltip, enabled in entries:
        combo.addItem(label, data)
        item = items.item(combo.count() - 1)
        item.setToolTip(tooltip)
        item.setEnabled(enabled)
    combo.setCurrentIndex(-1)
    combo.blockSignals(False)
