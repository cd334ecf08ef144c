"""The Chat workspace's side panel: mode, system prompt, sampling, presets, load options.

The panel only edits values; ``sampling()`` reads them back as a
:class:`SamplingParams` (the workspace validates before sending),
``load_options()`` as :class:`LoadOptions`, and presets go through
:mod:`desktop.core.text.params` into the settings.  It scrolls vertically
only and is never narrower than its contents (form rows wrap their label
above the field when space is short), so nothing is cut off in a small
window.

Signals:
    preset_message(str): a preset was saved or deleted, or could not be (for the status line).
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QInputDialog,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from desktop.core.errors import GenLabError, InvalidParameter
from desktop.core.settings import Settings
from desktop.core.text.engine import MIN_CONTEXT, LoadOptions
from desktop.core.text.params import (
    BUILTIN_PRESETS,
    MAX_SEED,
    MAX_STOP_STRINGS,
    RANDOM_SEED_MAX,
    SamplingParams,
    delete_preset,
    load_preset,
    preset_names,
    save_preset,
)
from desktop.ui.widgets import double_spin_box, spin_box

MODES = [("Auto", "auto"), ("Chat", "chat"), ("Completion", "completion")]
GPU_CHOICES = [("Automatic", -2), ("All layers", -1), ("CPU only", 0), ("Custom", 1)]


class ContextSpinBox(QSpinBox):
    """Context size: 0 ("automatic") or MIN_CONTEXT tokens and more, nothing in between.

    A value entered or set in the gap becomes MIN_CONTEXT; stepping down from
    MIN_CONTEXT goes to automatic.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setRange(0, 1_048_576)
        self.setSingleStep(1024)
        self.setSpecialValueText("automatic")
        self.setKeyboardTracking(False)  # "1024" typed passes through 1: check the value once it is entered
        self.valueChanged.connect(self._leave_gap)

    def _leave_gap(self, value: int) -> None:
        if 0 < value < MIN_CONTEXT:
            self.setValue(MIN_CONTEXT)

    def stepBy(self, steps: int) -> None:
        value = self.value()
        if steps < 0 and value <= MIN_CONTEXT:
            self.setValue(0)
        elif steps > 0 and value == 0:
            self.setValue(MIN_CONTEXT if self.singleStep() < MIN_CONTEXT else self.singleStep())
        else:
            super().stepBy(steps)


def _form(parent: QWidget | None = None) -> QFormLayout:
    form = QFormLayout(parent)
    form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)  # narrow: the label goes above the field
    return form


class ChatSettingsPanel(QScrollArea):
    preset_message = Signal(str)

    def __init__(self, settings: Settings, save_settings=lambda: None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._settings = settings
        self._save_settings = save_settings
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        body = QWidget()
        self.setWidget(body)
        layout = QVBoxLayout(body)

        self.mode = QComboBox()
        for label, value in MODES:
            self.mode.addItem(label, value)
        self.mode.setToolTip("Auto uses the model's chat template when it has one, else plain completion.")
        self.system_prompt = QPlainTextEdit()
        self.system_prompt.setPlaceholderText("System prompt (optional)")
        self.system_prompt.setMaximumHeight(90)
        self.keep_partial = QCheckBox("Keep partial reply on Stop")
        self.keep_partial.setToolTip("When you stop a reply, keep the text generated so far (and save it "
                                     "to the history); otherwise discard it.")
        self.keep_partial.setChecked(True)
        top = _form()
        top.addRow("Mode", self.mode)
        layout.addLayout(top)
        layout.addWidget(self.system_prompt)
        layout.addWidget(self.keep_partial)

        group = QGroupBox("Sampling")
        form = _form(group)
        # The ranges are SamplingParams.validated()'s, so a box cannot hold a value the engine refuses.
        self.temperature = double_spin_box(0, 10, 0.05)
        self.temperature.setToolTip("0 is greedy: the same reply every time")
        self.top_k = spin_box(0, 100_000, special="off")
        self.top_p = double_spin_box(0.01, 1, 0.01)
        self.min_p = double_spin_box(0, 1, 0.01)
        self.repeat_penalty = double_spin_box(0.01, 10, 0.05)
        self.repeat_penalty.setToolTip("1 is off")
        self.max_tokens = spin_box(1, 1_000_000)
        self.seed = spin_box(-1, RANDOM_SEED_MAX, special="random")
        self.stop_strings = QLineEdit()
        self.stop_strings.setPlaceholderText(r"e.g. \n\n | User:   (separate with |)")
        for label, widget in (("Temperature", self.temperature), ("Top-k", self.top_k), ("Top-p", self.top_p),
                              ("Min-p", self.min_p), ("Repeat penalty", self.repeat_penalty),
                              ("Max tokens", self.max_tokens), ("Seed", self.seed),
                              ("Stop strings", self.stop_strings)):
            form.addRow(label, widget)
        layout.addWidget(group)

        presets = QGroupBox("Presets")
        grid = QGridLayout(presets)
        self.presets = QComboBox()
        self.presets.setMinimumContentsLength(8)
        self.presets.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.load_button = QPushButton("Apply")
        self.save_button = QPushButton("Save as…")
        self.delete_button = QPushButton("Delete")
        grid.addWidget(self.presets, 0, 0)  # two buttons a row keep the panel narrow
        grid.addWidget(self.load_button, 0, 1)
        grid.addWidget(self.save_button, 1, 0)
        grid.addWidget(self.delete_button, 1, 1)
        grid.setColumnStretch(0, 1)  # the buttons take their size, the names get the rest: "Precise (greedy)" shows whole
        layout.addWidget(presets)
        layout.addWidget(self._build_load_options(settings))
        layout.addStretch(1)

        self.load_button.clicked.connect(lambda: self.apply_preset(self.presets.currentText()))
        self.save_button.clicked.connect(self._ask_preset_name)
        self.delete_button.clicked.connect(lambda: self.delete_preset(self.presets.currentText()))
        self.presets.currentTextChanged.connect(
            lambda name: self.delete_button.setEnabled(bool(name) and name not in BUILTIN_PRESETS))
        self.refresh_presets()
        self.set_sampling(SamplingParams())

    def _build_load_options(self, settings: Settings) -> QGroupBox:
        text = settings.text
        group = QGroupBox("Model loading")
        form = _form(group)
        self.context = ContextSpinBox()
        self.context.setValue(text.context_size)
        self.context.setToolTip(f"automatic: the model's training context, at most 8192 tokens; "
                                f"else {MIN_CONTEXT} tokens or more")
        self.threads = spin_box(0, 256, special="automatic")
        self.threads.setValue(text.threads)
        self.gpu = QComboBox()
        for label, value in GPU_CHOICES:
            self.gpu.addItem(label, value)
        self.gpu.setToolTip("Layers to offload to the GPU. A CPU-only llama.cpp build runs every layer "
                            "on the CPU whatever is chosen here; the model card says where it runs.")
        self.gpu_layers = spin_box(1, 1000)
        self.gpu_layers.setToolTip("How many layers to offload to the GPU")
        self.gpu_layers.valueChanged.connect(self._pluralise_layers)
        self._pluralise_layers(self.gpu_layers.value())
        index = self.gpu.findData(text.n_gpu_layers)
        if index < 0:
            index = self.gpu.findData(1)
            self.gpu_layers.setValue(max(1, text.n_gpu_layers))
        self.gpu.setCurrentIndex(index)
        form.addRow("Context", self.context)
        form.addRow("Threads", self.threads)
        form.addRow("GPU offload", self.gpu)
        form.addRow("", self.gpu_layers)
        self._load_form = form
        self._show_gpu_layers()  # only "Custom" has a layer count to set
        self.gpu.currentIndexChanged.connect(self._show_gpu_layers)
        return group

    def _pluralise_layers(self, value: int) -> None:
        self.gpu_layers.setSuffix(" layer" if value == 1 else " layers")

    def _show_gpu_layers(self) -> None:
        custom = self.gpu.currentData() == 1
        self._load_form.setRowVisible(self.gpu_layers, custom)

    def minimumSizeHint(self) -> QSize:
        """As wide as the contents plus the vertical scroll bar: the panel scrolls, it never clips."""
        bar = self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent, None, self)
        width = self.widget().minimumSizeHint().width() + bar + 2 * self.frameWidth()
        return QSize(width, super().minimumSizeHint().height())

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        return QSize(max(hint.width(), self.minimumSizeHint().width()), hint.height())

    def load_options(self) -> LoadOptions:
        gpu = self.gpu.currentData()
        return LoadOptions(n_ctx=self.context.value(), n_threads=self.threads.value(),
                           n_gpu_layers=self.gpu_layers.value() if gpu == 1 else gpu)

    # --- values -------------------------------------------------------------------
    def set_sampling(self, params: SamplingParams) -> None:
        self.temperature.setValue(params.temperature)
        self.top_k.setValue(params.top_k)
        self.top_p.setValue(params.top_p)
        self.min_p.setValue(params.min_p)
        self.repeat_penalty.setValue(params.repeat_penalty)
        self.max_tokens.setValue(params.max_tokens)
        self.seed.setValue(min(params.seed, RANDOM_SEED_MAX))
        self.stop_strings.setText(" | ".join(s.encode("unicode_escape").decode("ascii") for s in params.stop))

    def check(self) -> None:
        """Raise InvalidParameter, in the words on screen, for what the boxes' ranges cannot rule out."""
        count = len(self.sampling().stop)
        if count > MAX_STOP_STRINGS:
            raise InvalidParameter(f"Stop strings has {count} entries, but at most {MAX_STOP_STRINGS} are allowed.",
                                   "Remove some of the stop strings (they are separated by |).")

    def sampling(self) -> SamplingParams:
        """The panel's values (not validated: the workspace validates and shows errors)."""
        stops = [s.strip() for s in self.stop_strings.text().split("|")]
        stops = [s.encode("ascii", "backslashreplace").decode("unicode_escape") for s in stops if s]
        return SamplingParams(
            temperature=round(self.temperature.value(), 4), top_k=self.top_k.value(),
            top_p=round(self.top_p.value(), 4), min_p=round(self.min_p.value(), 4),
            repeat_penalty=round(self.repeat_penalty.value(), 4), max_tokens=self.max_tokens.value(),
            seed=min(self.seed.value(), MAX_SEED), stop=stops)

    def set_mode(self, mode: str) -> None:
        self.mode.setCurrentIndex(max(0, self.mode.findData(mode)))

    # --- presets ------------------------------------------------------------------
    def refresh_presets(self, select: str = "") -> None:
        current = select or self.presets.currentText()
        self.presets.blockSignals(True)
        self.presets.clear()
        self.presets.addItems(preset_names(self._settings))
        self.presets.blockSignals(False)
        index = self.presets.findText(current)
        self.presets.setCurrentIndex(max(0, index))
        name = self.presets.currentText()
        self.delete_button.setEnabled(bool(name) and name not in BUILTIN_PRESETS)

    def apply_preset(self, name: str) -> None:
        try:
            self.set_sampling(load_preset(self._settings, name))
        except GenLabError as exc:
            self.preset_message.emit(str(exc))

    def save_preset_as(self, name: str) -> bool:
        try:
            save_preset(self._settings, name, self.sampling())
            self._save_settings()
        except GenLabError as exc:
            self.preset_message.emit(str(exc))
            return False
        self.refresh_presets(select=name.strip())
        self.preset_message.emit(f"Preset “{name.strip()}” saved.")
        return True

    def delete_preset(self, name: str) -> None:
        try:
            delete_preset(self._settings, name)
            self._save_settings()
        except GenLabError as exc:
            self.preset_message.emit(str(exc))
            return
        self.refresh_presets()
        self.preset_message.emit(f"Preset “{name}” deleted.")

    def _ask_preset_name(self) -> None:
        name, ok = QInputDialog.getText(self, "Save preset", "Preset name:")
        if ok:
            self.save_preset_as(name)
