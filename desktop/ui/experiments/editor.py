"""The spec editor: a sweep written as TOML, opened from and saved to a file, checked before it runs.

"Check" asks the workspace to parse and plan the text (an ``io`` job); the
answer goes to :meth:`show_plan` (cells, model loads, time estimate) or
:meth:`show_error` (the spec's error in words).  "Run" checks and then
starts the experiment.  Relative paths in the spec are relative to the
folder of the file it was opened from or saved to (``base_dir``).

Hooks (replaceable, so tests answer them without a modal dialog):
    choose_path(save: bool) -> str: a spec file to open or save ("" for none).

Signals:
    check_requested(): Check was pressed (read ``text()`` and ``base_dir``).
    run_requested(): Run was pressed.
    message(str): a line for the status bar (a file that could not be read or written).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.ui import theme
from desktop.ui.icons import icon

STARTER = '''name = "Two temperatures, two prompts"
kind = "text"            # or "image"
[fixed]
model = "/path/to/model.gguf"   # a path or a library name; or make it an axis
max_tokens = 24
seed = 7
mode = "completion"
[axes]
temperature = [0.0, 0.7]
prompt = ["Once upon a time", "The little dog"]
'''
SPEC_FILTER = "Sweep specs (*.toml *.json)"


class SpecEditor(QWidget):
    check_requested = Signal()
    run_requested = Signal()
    message = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.base_dir: Path | None = None
        self.title = QLabel("New experiment")
        theme.set_role(self.title, "subtitle")
        self.text_edit = QPlainTextEdit()
        self.text_edit.setObjectName("specText")
        self.text_edit.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text_edit.setPlainText(STARTER)
        self.text_edit.setTabChangesFocus(True)
        self.open_button = QPushButton(icon("folder-open"), "Open spec…")
        self.save_button = QPushButton(icon("download-simple"), "Save spec…")
        self.check_button = QPushButton(icon("check"), "Check")
        self.check_button.setToolTip("Count the cells and model loads and estimate the time, without running")
        self.run_button = QPushButton(icon("play"), "Run")
        theme.set_role(self.run_button, "primary")
        self.plan_label = QLabel("Check the spec to see its cells, model loads and time.")
        self.plan_label.setObjectName("planLabel")
        self.plan_label.setWordWrap(True)
        theme.set_role(self.plan_label, "muted")
        buttons = QHBoxLayout()
        for b in (self.open_button, self.save_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.check_button)
        buttons.addWidget(self.run_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.text_edit, 1)
        layout.addWidget(self.plan_label)
        layout.addLayout(buttons)
        self.open_button.clicked.connect(self.open_spec)
        self.save_button.clicked.connect(self.save_spec)
        self.check_button.clicked.connect(self.check_requested)
        self.run_button.clicked.connect(self.run_requested)
        self.text_edit.textChanged.connect(self._edited)

    def choose_path(self, save: bool) -> str:
        if save:
            return QFileDialog.getSaveFileName(self, "Save spec", "sweep.toml", SPEC_FILTER)[0]
        return QFileDialog.getOpenFileName(self, "Open spec", "", SPEC_FILTER)[0]

    def text(self) -> str:
        return self.text_edit.toPlainText()

    def set_text(self, text: str, base_dir: Path | None = None) -> None:
        self.text_edit.setPlainText(text)
        self.base_dir = base_dir

    def open_spec(self) -> None:
        path = self.choose_path(False)
        if not path:
            return
        try:
            raw = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            self.show_error(f"Cannot read {path}: {exc}")
            return
        if path.lower().endswith(".json"):
            raw = json_to_toml(raw)
        self.set_text(raw, Path(path).parent)
        self.title.setText(Path(path).name)

    def save_spec(self) -> None:
        path = self.choose_path(True)
        if not path:
            return
        try:
            Path(path).write_text(self.text(), encoding="utf-8")
        except OSError as exc:
            self.show_error(f"Cannot save {path}: {exc.strerror or exc}")
            return
        self.base_dir = Path(path).parent
        self.title.setText(Path(path).name)
        self.message.emit(f"Saved the spec to {path}.")

    def show_plan(self, summary: str) -> None:
        theme.set_role(self.plan_label, "muted")
        self.plan_label.setText(summary)

    def show_error(self, message: str) -> None:
        theme.set_role(self.plan_label, "error")
        self.plan_label.setText(message)

    def set_busy(self, busy: bool) -> None:
        self.run_button.setEnabled(not busy)
        self.check_button.setEnabled(not busy)

    def _edited(self) -> None:
        if self.plan_label.property("role") == "error":
            self.show_plan("Check the spec to see its cells, model loads and time.")


def json_to_toml(raw: str) -> str:
    """A JSON spec as the TOML the editor shows (the editor edits one format); JSON it cannot read is kept."""
    import json

    try:
        data = json.loads(raw)
    except ValueError:
        return raw
    return spec_toml(data) if isinstance(data, dict) else raw


def spec_toml(data: dict) -> str:
    """A spec dict (``ExperimentSpec.to_dict``) as TOML: top-level fields, then [fixed] and [axes]."""
    lines = [f"{k} = {_toml(v)}" for k, v in data.items() if not isinstance(v, dict)]
    for table in ("fixed", "axes"):
        if isinstance(data.get(table), dict):
            lines.append(f"[{table}]")
            lines += [f"{k} = {_toml(v)}" for k, v in data[table].items()]
    return "\n".join(lines) + "\n"


def _toml(value) -> str:
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)  # a TOML basic string is JSON's escaping
