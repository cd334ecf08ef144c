"""The Arena's setup form: the kind, two or more contenders (a model and a preset each), the prompt source.

A contender row holds a model (a file, a library name or a remote server's
``remote:<source>/<model>``, marked with the same remote badge as in Chat's
picker), an optional
preset (``temperature=0.2, top_p=0.9``; for images ``scheduler=euler,
steps=8``) and an optional name for the leaderboard; two rows of one model
with different presets compete as two contenders.  The prompt source is
typed prompts, a prompt file, an experiment's prompts (by name) or a history
search.  :meth:`ArenaSetup.request` reads the form into an
:class:`ArenaRequest`; the checks that need the library or the history
(identical contenders, an empty file, an experiment with no prompts, a
search that finds nothing) run in the generation job and come back as its
failure message.

Hooks (replaceable in tests): ``choose_file() -> str``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QWidget,
)

from desktop.core.arena.prompts import EXPERIMENT, FILE, SEARCH, TYPED, PromptSource
from desktop.core.models.remote import REMOTE_BADGE, RemoteError, display_name, is_remote_ref

SOURCE_CHOICES = ((TYPED, "Typed prompts"), (FILE, "A prompt file"), (EXPERIMENT, "An experiment's prompts"),
                  (SEARCH, "A history search"))
PRESET_HINTS = {"text": "preset, e.g. temperature=0.2, top_p=0.9 (empty: the model's defaults)",
                "image": "preset, e.g. scheduler=euler, steps=8 (empty: the defaults)"}
MAX_CONTENDERS = 8


@dataclass(frozen=True)
class ContenderSpec:
    """One row as typed: parsed and checked by the job (make_contender)."""

    model: str
    preset: str = ""
    label: str = ""


@dataclass(frozen=True)
class ArenaRequest:
    kind: str
    contenders: tuple[ContenderSpec, ...]
    source: PromptSource
    common: dict[str, Any] = field(default_factory=dict)  # max_tokens (text) or steps (image), both sides


class ContenderRow:
    """The widgets of one contender: model, preset, name, and a remove button."""

    def __init__(self, kind: str) -> None:
        self.model = QLineEdit()
        self.model.setPlaceholderText("a model file, a model of the library or remote:<server>/<model>")
        self.badge = QLabel(REMOTE_BADGE)
        self.badge.setObjectName("remoteBadge")
        self.badge.setVisible(False)
        self.model_cell = QWidget()
        cell = QHBoxLayout(self.model_cell)
        cell.setContentsMargins(0, 0, 0, 0)
        cell.addWidget(self.model, 1)
        cell.addWidget(self.badge)
        self.model.textChanged.connect(self._show_badge)
        self.preset = QLineEdit()
        self.preset.setPlaceholderText(PRESET_HINTS[kind])
        self.label = QLineEdit()
        self.label.setPlaceholderText("name (optional)")
        self.remove = QPushButton("Remove")
        self.remove.setToolTip("Remove this contender")

    def widgets(self) -> tuple[QWidget, ...]:
        return self.model_cell, self.preset, self.label, self.remove

    def _show_badge(self, text: str) -> None:
        remote = is_remote_ref(text.strip())
        self.badge.setVisible(remote)
        if remote:
            try:
                self.badge.setToolTip(f"{display_name(text.strip())}: a model of a remote server")
            except RemoteError as exc:
                self.badge.setToolTip(str(exc))

    def spec(self) -> ContenderSpec:
        return ContenderSpec(self.model.text().strip(), self.preset.text().strip(), self.label.text().strip())


class ArenaSetup(QWidget):
    """The form above the pair (see the module docstring)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.choose_file = self._choose_file
        self.kind = QComboBox()
        self.kind.addItems(["text", "image"])
        self.kind.currentTextChanged.connect(self._kind_changed)
        self.rows: list[ContenderRow] = []
        self.grid = QGridLayout()
        self.grid.setColumnStretch(0, 3)
        self.grid.setColumnStretch(1, 3)
        self.grid.setColumnStretch(2, 1)
        self.add_button = QPushButton("Add contender")
        self.add_button.clicked.connect(lambda: self.add_row())
        for _ in range(2):
            self.add_row()

        self.source = QComboBox()
        for key, label in SOURCE_CHOICES:
            self.source.addItem(label, key)
        self.typed = QPlainTextEdit()
        self.typed.setPlaceholderText("One prompt a line")
        self.typed.setMaximumHeight(80)
        self.file = QLineEdit()
        self.file.setPlaceholderText("a UTF-8 text file, one prompt a line")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        file_page = QWidget()
        file_row = QHBoxLayout(file_page)
        file_row.setContentsMargins(0, 0, 0, 0)
        file_row.addWidget(self.file, 1)
        file_row.addWidget(browse)
        self.experiment = QLineEdit()
        self.experiment.setPlaceholderText("the experiment's name (or the start of its id)")
        self.query = QLineEdit()
        self.query.setPlaceholderText("words to search the history for: its best 50 matching prompts")
        self.mode = QComboBox()
        self.mode.addItems(["keyword", "hybrid", "semantic"])
        search_page = QWidget()
        search_row = QHBoxLayout(search_page)
        search_row.setContentsMargins(0, 0, 0, 0)
        search_row.addWidget(self.query, 1)
        search_row.addWidget(self.mode)
        self.pages = QStackedWidget()
        for page in (self.typed, file_page, self.experiment, search_page):
            self.pages.addWidget(page)
        self.source.currentIndexChanged.connect(self._source_changed)
        self._source_changed(0)
        self.max_tokens = QSpinBox()
        self.max_tokens.setRange(1, 8192)
        self.max_tokens.setValue(256)
        self.steps = QSpinBox()
        self.steps.setRange(1, 200)
        self.steps.setValue(20)
        self.length_label = QLabel("Max tokens")
        self.steps.hide()
        length = QHBoxLayout()
        length.addWidget(self.max_tokens)
        length.addWidget(self.steps)
        length.addStretch(1)

        contenders = QWidget()
        contenders.setLayout(self.grid)
        add_row = QHBoxLayout()
        add_row.addWidget(self.add_button)
        add_row.addStretch(1)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Kind", self.kind)
        form.addRow("Contenders", contenders)
        form.addRow("", add_row)
        form.addRow("Prompts from", self.source)
        form.addRow("", self.pages)
        form.addRow(self.length_label, length)

    # --- contenders ----------------------------------------------------------------
    def add_row(self, model: str = "", preset: str = "", label: str = "") -> ContenderRow:
        row = ContenderRow(self.kind.currentText())
        row.model.setText(model)
        row.preset.setText(preset)
        row.label.setText(label)
        row.remove.clicked.connect(lambda: self.remove_row(row))
        self.rows.append(row)
        self._lay_out_rows()
        return row

    def remove_row(self, row: ContenderRow) -> None:
        self.rows.remove(row)
        for widget in row.widgets():
            self.grid.removeWidget(widget)
            widget.deleteLater()
        self._lay_out_rows()

    def _lay_out_rows(self) -> None:
        for n, row in enumerate(self.rows):
            for column, widget in enumerate(row.widgets()):
                self.grid.addWidget(widget, n, column)
            row.remove.setEnabled(len(self.rows) > 2)  # the arena needs two: the last two stay
        self.add_button.setEnabled(len(self.rows) < MAX_CONTENDERS)

    def _kind_changed(self, kind: str) -> None:
        for row in self.rows:
            row.preset.setPlaceholderText(PRESET_HINTS[kind])
        text = kind == "text"
        self.max_tokens.setVisible(text)
        self.steps.setVisible(not text)
        self.length_label.setText("Max tokens" if text else "Steps")

    # --- prompts ---------------------------------------------------------------------
    def _source_changed(self, index: int) -> None:
        self.pages.setCurrentIndex(index)
        # A stack is as tall as its tallest page: a one-line page would float in the typed box's height.
        page = self.pages.currentWidget()
        self.pages.setMaximumHeight(min(page.sizeHint().height(), page.maximumHeight()))

    def set_source(self, source: str) -> None:
        self.source.setCurrentIndex([key for key, _ in SOURCE_CHOICES].index(source))

    def _source(self) -> PromptSource:
        source = self.source.currentData()
        text = {TYPED: self.typed.toPlainText(), FILE: self.file.text(), EXPERIMENT: self.experiment.text(),
                SEARCH: self.query.text()}[source]
        return PromptSource(source, text, self.mode.currentText())

    def _browse(self) -> None:
        path = self.choose_file()
        if path:
            self.file.setText(path)

    def _choose_file(self) -> str:
        return QFileDialog.getOpenFileName(self, "Prompts file", "", "Text files (*.txt);;All files (*)")[0]

    def request(self) -> ArenaRequest:
        kind = self.kind.currentText()
        common = {"max_tokens": self.max_tokens.value()} if kind == "text" else {"steps": self.steps.value()}
        specs = tuple(spec for spec in (row.spec() for row in self.rows) if spec.model or spec.preset)
        return ArenaRequest(kind, specs, self._source(), common)
