"""The LoRA panel of the Images workspace.

One source of truth: the prompt.  Every LoRA that applies is a
``<lora:name:weight>`` tag in the prompt, as in A1111; the panel is a view
of those tags with controls that edit them.  Adding a LoRA from the library
appends its tag, moving its weight rewrites the tag, Remove deletes it, and
a tag typed (or pasted) into the prompt shows up as a row at once.  The one
thing a tag cannot say, "off for now", lives in the panel only: unticking a
row takes its tag out of the prompt and keeps the row (and its weight)
greyed, so ticking it again puts the tag back.  Edits go through the
prompt's undo stack (Ctrl+Z in the prompt undoes a panel change).

The generation request carries the rows that are on as
``ImageParams.loras`` -- one :class:`LoraChoice` each, built exactly as
``genlab image --lora NAME:WEIGHT`` builds it -- with ``lora_tags`` off, so
the engine resolves each LoRA once.  A reused record's LoRAs come back as
rows keeping their sha256 (a re-run finds that exact file again); a LoRA it
applied without a tag gets one appended, so the prompt still shows every
LoRA.

The library's LoRAs (the ``lora`` kind in Models) are offered in a combo:
those made for the chosen model's family first, the others greyed with the
reason (the engine's own family check, :func:`check_family`, on the file's
header).  A row whose file is missing, is no LoRA, or is for another family
says so under its name; Generate then fails with the engine's message
naming both families, and the workspace stays usable.

Signals: none of its own; every change edits the prompt, whose
``textChanged`` the parameter panel already reports.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QStandardItemModel, QTextCursor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.core.errors import GenLabError, InvalidParameter
from desktop.core.image.lora import ResolvedLora, check_family, family_label, find_lora, lora_base
from desktop.core.image.params import MAX_LORA_WEIGHT, LoraChoice
from desktop.ui import theme
from desktop.ui.icons import icon
from desktop.ui.images.lora_tags import add_tag, prompt_tags, remove_tag, set_weight
from desktop.ui.widgets import double_spin_box, fill_offer_combo

log = logging.getLogger(__name__)
SLIDER_STEPS = 100  # slider units per 1.0 of weight
SLIDER_RANGE = 2.0  # the slider spans ±2; the box takes the engine's whole range


@dataclass(frozen=True)
class LoraFit:
    """What the panel knows about one LoRA name before any image is made."""

    path: Path | None  # the file the engine would load; None when it is not found
    family: str  # the family it was made for, as a label ("" when unknown)
    problem: str  # why it cannot be applied to the chosen model ("" when it can, as far as its header says)


def lora_fit(name: str, model: tuple[str, str] | None, library, path: Path | None = None) -> LoraFit:
    """Find ``name`` as the engine would (unless ``path`` is known) and check its header against
    ``model`` (family, name)."""
    try:
        path = path or find_lora(name, library)
        base = lora_base(path)
    except GenLabError as exc:
        return LoraFit(None, "", exc.message)
    label = family_label(base.family) if base.family else ""
    if model is None:
        return LoraFit(path, label, "")
    try:
        check_family(ResolvedLora(name=name, path=path, sha256="", weight=1.0, base=base), *model)
    except InvalidParameter as exc:
        return LoraFit(path, label, exc.message)
    return LoraFit(path, label, "")


class LoraRow(QWidget):
    """One LoRA of the panel: on/off, its weight (slider and box), remove, and a note when it cannot apply.

    Signals:
        toggled(bool): the check box was ticked or unticked.
        weight_changed(float): the weight was changed with the slider or the box.
        remove_requested(): the remove button was clicked.
    """

    toggled = Signal(bool)
    weight_changed = Signal(float)
    remove_requested = Signal()

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.sha256 = ""  # from a reused record: the exact file
        self.path = ""  # idem: where that file was
        self.check = QCheckBox(Path(name).stem if ("/" in name or "\\" in name) else name)
        self.check.setChecked(True)
        self.check.setToolTip(f"<lora:{name}:…> in the prompt; untick to leave it out for now")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(int(-SLIDER_RANGE * SLIDER_STEPS), int(SLIDER_RANGE * SLIDER_STEPS))
        self.slider.setSingleStep(5)
        self.slider.setPageStep(25)
        self.slider.setMinimumWidth(90)
        self.weight = double_spin_box(-MAX_LORA_WEIGHT, MAX_LORA_WEIGHT, 0.05)
        self.weight.setToolTip(f"Weight, from {-MAX_LORA_WEIGHT:g} to {MAX_LORA_WEIGHT:g}; 0 is the bare model")
        self.remove_button = QToolButton()
        self.remove_button.setIcon(icon("x"))
        self.remove_button.setToolTip("Remove this LoRA (and its tag in the prompt)")
        self.note = QLabel()
        self.note.setWordWrap(True)
        theme.set_role(self.note, "error")
        self.note.hide()
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.check, 1)
        top.addWidget(self.slider, 1)
        top.addWidget(self.weight)
        top.addWidget(self.remove_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(theme.SPACE_XS)
        layout.addLayout(top)
        layout.addWidget(self.note)
        self.check.toggled.connect(self.toggled)
        self.slider.valueChanged.connect(lambda v: self.weight.setValue(v / SLIDER_STEPS))
        self.weight.valueChanged.connect(self._weight_edited)
        self.remove_button.clicked.connect(self.remove_requested)

    @property
    def on(self) -> bool:
        return self.check.isChecked()

    def value(self) -> float:
        return round(self.weight.value(), 2)

    def show_state(self, on: bool, weight: float) -> None:
        """Show what the prompt says, without reporting it back as an edit."""
        for widget in (self.check, self.weight, self.slider):
            widget.blockSignals(True)
        self.check.setChecked(on)
        self.weight.setValue(weight)
        self._follow(weight)
        for widget in (self.check, self.weight, self.slider):
            widget.blockSignals(False)

    def set_note(self, text: str) -> None:
        self.note.setText(text)
        self.note.setVisible(bool(text))

    def _follow(self, weight: float) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(round(max(-SLIDER_RANGE, min(SLIDER_RANGE, weight)) * SLIDER_STEPS))
        self.slider.blockSignals(False)

    def _weight_edited(self, weight: float) -> None:
        self._follow(weight)
        self.weight_changed.emit(round(weight, 2))


class LoraPanel(QWidget):
    """The LoRAs of the next image, kept in step with the ``<lora:…>`` tags of ``prompt`` (see the module)."""

    def __init__(self, prompt: QPlainTextEdit, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.prompt = prompt
        self.rows: dict[str, LoraRow] = {}
        self._model: tuple[str, str] | None = None  # (family, name) of the chosen model
        self._fits: dict[str, LoraFit] = {}
        self._writing = False
        self.library_combo = QComboBox()
        self.library_combo.setPlaceholderText("Add a LoRA from the library…")
        self.library_combo.setMinimumContentsLength(10)
        self.library_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.add_button = QPushButton(icon("plus"), "Add")
        self.add_button.setEnabled(False)
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        theme.set_role(self.hint, "muted")
        self.problem = QLabel()  # a tag the prompt cannot be read with
        self.problem.setWordWrap(True)
        theme.set_role(self.problem, "error")
        self.problem.hide()
        self.rows_layout = QVBoxLayout()
        self.rows_layout.setContentsMargins(0, 0, 0, 0)
        self.rows_layout.setSpacing(theme.SPACE_XS)
        pick = QHBoxLayout()
        pick.setContentsMargins(0, 0, 0, 0)
        pick.addWidget(self.library_combo, 1)
        pick.addWidget(self.add_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(theme.SPACE_XS)
        layout.addLayout(pick)
        layout.addWidget(self.hint)
        layout.addLayout(self.rows_layout)
        layout.addWidget(self.problem)
        self.library_combo.currentIndexChanged.connect(self._update_add_button)
        self.add_button.clicked.connect(self._add_chosen)
        self.prompt.textChanged.connect(self._sync_from_prompt)
        self.refresh_library()

    # --- the library and the model -------------------------------------------------
    def _library(self):
        from desktop.core.models.library import Library

        return Library()

    def refresh_library(self) -> None:
        """Re-read the library's LoRAs and check each against the chosen model."""
        self._fits.clear()
        try:
            library = self._library()
            loras = library.models(kind="lora")
        except Exception:  # an unreadable library must not break the workspace
            log.exception("could not read the model library")
            library, loras = None, []  # nothing to offer; typed tags still work
        offered = []
        for model in loras:
            name = Path(model.path).stem
            fit = lora_fit(name, self._model, library, Path(model.path))
            offered.append((bool(fit.problem), name.lower(), name, fit))
        fill_offer_combo(self.library_combo, [
            (f"{name} — {fit.family}" if fit.family else name, name,
             fit.problem or (str(fit.path) if fit.path else ""), not refused)
            for refused, _, name, fit in sorted(offered)])
        greyed = sum(1 for r, *_ in offered if r)
        if not offered:
            self.hint.setText("No LoRAs in the library yet: import a LoRA .safetensors file in Models, or put it "
                              "in the models folder's loras/ and scan. A <lora:name:0.8> tag in the prompt works too.")
        elif greyed and self._model is not None:
            self.hint.setText(f"{greyed} of {len(offered)} LoRA(s) are greyed: they are not for "
                              f"{family_label(self._model[0])}.")
        else:
            self.hint.setText("")
        self.hint.setVisible(bool(self.hint.text()))
        self._update_add_button()
        for name, row in self.rows.items():
            row.set_note(self._fit(name).problem)

    def set_model(self, family: str | None, name: str = "") -> None:
        """The chosen model's family (None: no usable model): LoRAs are checked against it."""
        model = (family, name) if family else None
        if model != self._model:
            self._model = model
            self.refresh_library()

    def _fit(self, name: str) -> LoraFit:
        if name not in self._fits:
            try:
                library = self._library()
            except Exception:
                log.exception("could not read the model library")
                return LoraFit(None, "", "")
            self._fits[name] = lora_fit(name, self._model, library)
        return self._fits[name]

    def _update_add_button(self, *_: object) -> None:
        index = self.library_combo.currentIndex()
        items = self.library_combo.model()
        assert isinstance(items, QStandardItemModel)
        self.add_button.setEnabled(index >= 0 and items.item(index).isEnabled())

    def _add_chosen(self) -> None:
        if self.add_button.isEnabled():
            self.add(self.library_combo.currentData())
            self.library_combo.setCurrentIndex(-1)

    # --- rows and the prompt ---------------------------------------------------------
    def add(self, name: str, weight: float = 1.0) -> None:
        """Apply the LoRA ``name`` (its tag goes into the prompt); a greyed row of it is switched on."""
        row = self.rows.get(name)
        if row is not None and not row.on:
            weight = row.value()
        self._write_prompt(add_tag(self.prompt.toPlainText(), name, weight))

    def remove(self, name: str) -> None:
        row = self.rows.pop(name, None)
        if row is not None:
            row.setParent(None)
            row.deleteLater()
        self._write_prompt(remove_tag(self.prompt.toPlainText(), name))

    def set_on(self, name: str, on: bool) -> None:
        row = self.rows[name]
        if on:
            self._write_prompt(add_tag(self.prompt.toPlainText(), name, row.value()))
        else:
            row.show_state(False, row.value())  # greyed first, so the sync keeps the row
            self._write_prompt(remove_tag(self.prompt.toPlainText(), name))

    def set_weight(self, name: str, weight: float) -> None:
        row = self.rows[name]
        if row.on:
            self._write_prompt(set_weight(self.prompt.toPlainText(), name, weight))
        else:
            row.show_state(False, weight)

    def choices(self) -> list[LoraChoice]:
        """The LoRAs that are on, in the prompt's order, as ``--lora NAME:WEIGHT`` gives them to the engine."""
        try:
            order = [tag.name for tag in prompt_tags(self.prompt.toPlainText())]
        except InvalidParameter:
            order = list(self.rows)  # the engine reports the unreadable tag itself
        rows = [self.rows[name] for name in order if name in self.rows and self.rows[name].on]
        return [LoraChoice(path=row.path or row.name, weight=row.value(), sha256=row.sha256, name=row.name)
                for row in rows]

    def restore(self, choices: list[LoraChoice]) -> None:
        """Show a reused request's LoRAs: greyed rows go, each choice is a row (with a tag in the prompt)."""
        for name in [n for n, row in self.rows.items() if not row.on]:
            self.remove(name)
        for choice in choices:
            name = choice.name or Path(choice.path).stem
            if ":" in name or ">" in name:  # a tag cannot hold it; the row finds the file by sha256 or path
                name = Path(choice.path).stem
            self._write_prompt(add_tag(self.prompt.toPlainText(), name, choice.weight))
            row = self.rows.get(name)
            if row is not None:
                row.sha256, row.path = choice.sha256, (choice.path if choice.sha256 else "")

    def _write_prompt(self, text: str) -> None:
        """Replace the prompt's text as one undoable edit, then show what it says."""
        if text != self.prompt.toPlainText():
            cursor = self.prompt.textCursor()
            position = cursor.position()
            self._writing = True  # the edit's intermediate states are no news
            try:
                cursor.beginEditBlock()
                cursor.select(QTextCursor.SelectionType.Document)
                cursor.insertText(text)
                cursor.endEditBlock()
            finally:
                self._writing = False
            cursor.setPosition(min(position, len(text)))
            self.prompt.setTextCursor(cursor)
        self._sync_from_prompt()

    def _sync_from_prompt(self) -> None:
        """Rows for the prompt's tags: new tags get a row, a deleted tag's row goes, greyed rows stay."""
        if self._writing:
            return
        try:
            tags = prompt_tags(self.prompt.toPlainText())
        except InvalidParameter as exc:
            self.problem.setText(exc.message)
            self.problem.show()
            return
        self.problem.hide()
        weights = {tag.name: tag.weight for tag in tags}
        for name in [n for n, row in self.rows.items() if row.on and n not in weights]:
            row = self.rows.pop(name)
            row.setParent(None)
            row.deleteLater()
        for name, weight in weights.items():
            row = self.rows.get(name) or self._new_row(name)
            row.show_state(True, weight)

    def _new_row(self, name: str) -> LoraRow:
        row = LoraRow(name)
        row.set_note(self._fit(name).problem)
        row.toggled.connect(lambda on, n=name: self.set_on(n, on))
        row.weight_changed.connect(lambda w, n=name: self.set_weight(n, w))
        row.remove_requested.connect(lambda n=name: self.remove(n))
        self.rows[name] = row
        self.rows_layout.addWidget(row)
        return row
