"""The parameter panel of the Images workspace.

Holds every field of an :class:`ImageParams`: prompt and negative prompt,
steps, guidance, size, seed (empty: random), scheduler, batch count, the
img2img init image with its strength, its inpainting mask and outpaint
margins, the hires fix (:mod:`.inpaint_controls`), and the LoRAs
(:mod:`.loras`, a view of the prompt's ``<lora:…>`` tags whose rows go into
the request), and the embeddings (:mod:`.embedding_panel`, which writes
their names into the prompts).  The
boxes only take what a model can make: sizes in steps of 8 within the family's range (a typed 100 becomes
104 when the box is left), at least one step, guidance from 0, strength
above 0 and at most 1.  A size preset combo offers the family's aspect
ratios at its native size.  Family defaults are applied when a model of
another family is chosen; "reuse" actions fill the panel from a saved record.

Signals:
    changed(): any field changed.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtGui import QRegularExpressionValidator, QValidator
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QToolButton,
    QWidget,
)

from desktop.core.image.params import (
    MAX_BATCH,
    MAX_GUIDANCE,
    MAX_STEPS,
    MIN_SIDE,
    SIZE_MULTIPLE,
    ImageParams,
    defaults_for,
)
from desktop.core.image.pipeline import OFFLOAD_CHOICES
from desktop.core.image.schedulers import SCHEDULER_NAMES
from desktop.ui.icons import icon
from desktop.ui.images.embedding_panel import EmbeddingPanel
from desktop.ui.images.inpaint_controls import HiresControl, MaskControl, OutpaintControl
from desktop.ui.images.loras import LoraPanel
from desktop.ui.images.presets import SizePreset, presets_for
from desktop.ui.widgets import double_spin_box, spin_box

CUSTOM_SIZE = "Custom"


class SizeSpinBox(QSpinBox):
    """A pixel size in steps of 8: a typed value that is not a multiple is rounded when the box is left."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setRange(MIN_SIDE, 2048)
        self.setSingleStep(SIZE_MULTIPLE)
        self.setSuffix(" px")
        self.setAccelerated(True)

    def validate(self, text: str, pos: int):  # noqa: D102 - Qt override
        state, text, pos = super().validate(text, pos)
        if state == QValidator.State.Acceptable and self.valueFromText(text) % SIZE_MULTIPLE:
            state = QValidator.State.Intermediate  # still typing, or fixed up on leaving
        return state, text, pos

    def fixup(self, text: str) -> str:  # noqa: D102 - Qt override
        digits = "".join(ch for ch in text if ch.isdigit())
        if not digits:
            return super().fixup(text)
        value = (int(digits) + SIZE_MULTIPLE // 2) // SIZE_MULTIPLE * SIZE_MULTIPLE  # half up: 100 -> 104
        return self.textFromValue(max(self.minimum(), min(self.maximum(), value)))

    def setMaximum(self, value: int) -> None:  # noqa: N802 - Qt's name
        super().setMaximum(value - value % SIZE_MULTIPLE)


class ImagesParamsPanel(QWidget):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        self.prompt = QPlainTextEdit()
        self.prompt.setPlaceholderText("Describe the image…")
        self.prompt.setFixedHeight(80)
        self.negative = QPlainTextEdit()
        self.negative.setPlaceholderText("What to avoid (optional)")
        self.negative.setFixedHeight(48)
        self.loras = LoraPanel(self.prompt)
        self.embeddings = EmbeddingPanel(self.prompt, self.negative)
        self.steps = spin_box(1, MAX_STEPS)
        self.guidance = double_spin_box(0.0, MAX_GUIDANCE, 0.5, decimals=1)
        self.width_box, self.height_box = SizeSpinBox(), SizeSpinBox()
        self.width_box.setToolTip("Width, in steps of 8 pixels")
        self.height_box.setToolTip("Height, in steps of 8 pixels")
        self.size_preset = QComboBox()
        self.size_preset.setToolTip("Aspect ratios at this model's native size")
        self._presets: list[SizePreset] = []
        self.seed = QLineEdit()
        self.seed.setPlaceholderText("random")
        self.seed.setValidator(QRegularExpressionValidator(r"\d{0,20}"))
        self.random_seed = QToolButton()
        self.random_seed.setIcon(icon("shuffle"))
        self.random_seed.setToolTip("Use a random seed")
        self.scheduler = QComboBox()
        self.scheduler.addItems(list(SCHEDULER_NAMES))
        self.batch = spin_box(1, MAX_BATCH)
        self.init_image = QLineEdit()
        self.init_image.setPlaceholderText("none: text to image")
        self.init_browse = QPushButton("Choose…")
        self.init_browse.setIcon(icon("image-square"))
        self.init_clear = QToolButton()
        self.init_clear.setIcon(icon("x"))
        self.init_clear.setToolTip("Back to text to image")
        self.strength = double_spin_box(0.01, 1.0, 0.05)
        self.strength.setValue(0.75)
        self.mask_control = MaskControl(lambda: self.init_image.text().strip())
        self.outpaint = OutpaintControl()
        self.hires = HiresControl()
        self.offload = QComboBox()
        self.offload.addItems(list(OFFLOAD_CHOICES))
        self.offload.setToolTip("auto: offload to the CPU only when VRAM is short (the reason is shown on the card)")

        size_row = QHBoxLayout()
        size_row.addWidget(self.width_box, 1)
        size_row.addWidget(QLabel("×"))
        size_row.addWidget(self.height_box, 1)
        seed_row = QHBoxLayout()
        seed_row.addWidget(self.seed, 1)
        seed_row.addWidget(self.random_seed)
        init_row = QHBoxLayout()
        init_row.addWidget(self.init_image, 1)
        init_row.addWidget(self.init_browse)
        init_row.addWidget(self.init_clear)
        form.addRow("Prompt", self.prompt)
        form.addRow("Negative", self.negative)
        form.addRow("LoRAs", self.loras)
        form.addRow("Embeddings", self.embeddings)
        form.addRow("Steps", self.steps)
        form.addRow("Guidance scale", self.guidance)
        form.addRow("Size", size_row)
        form.addRow("Aspect", self.size_preset)
        form.addRow("Seed", seed_row)
        form.addRow("Scheduler", self.scheduler)
        form.addRow("Batch count", self.batch)
        form.addRow("Init image", init_row)
        form.addRow("Strength", self.strength)
        form.addRow("Mask", self.mask_control)
        form.addRow("Outpaint", self.outpaint)
        form.addRow("Hires fix", self.hires)
        form.addRow("Offload", self.offload)

        self.random_seed.clicked.connect(self.seed.clear)
        self.init_browse.clicked.connect(self._choose_init)
        self.init_clear.clicked.connect(self.init_image.clear)
        self.init_image.textChanged.connect(self.mask_control.clear)  # a mask belongs to the image it was painted on
        self.init_image.textChanged.connect(self._update_strength_enabled)
        self.size_preset.activated.connect(self._preset_chosen)
        self.width_box.valueChanged.connect(self._show_matching_preset)
        self.height_box.valueChanged.connect(self._show_matching_preset)
        for signal in (self.prompt.textChanged, self.negative.textChanged, self.steps.valueChanged,
                       self.guidance.valueChanged, self.width_box.valueChanged, self.height_box.valueChanged,
                       self.seed.textChanged, self.scheduler.currentIndexChanged, self.batch.valueChanged,
                       self.init_image.textChanged, self.strength.valueChanged, self.mask_control.changed,
                       self.outpaint.changed, self.hires.changed):
            signal.connect(self.changed)
        self.apply_family_defaults("sd1")
        self._update_strength_enabled()

    # --- reading and writing ------------------------------------------------------
    def params(self) -> ImageParams:
        seed_text = self.seed.text().strip()
        return ImageParams(
            prompt=self.prompt.toPlainText(), negative_prompt=self.negative.toPlainText(),
            steps=self.steps.value(), guidance=round(self.guidance.value(), 2),
            width=self.width_box.value(), height=self.height_box.value(),
            seed=int(seed_text) if seed_text else None, scheduler=self.scheduler.currentText(),
            batch_count=self.batch.value(), init_image=self.init_image.text().strip(),
            strength=round(self.strength.value(), 2),
            loras=self.loras.choices(), lora_tags=False,  # the panel's rows are the prompt's tags
            mask_image=self.mask_control.path, mask_blur=self.mask_control.feather, outpaint=self.outpaint.pads(),
            hires_scale=self.hires.hires_scale(), hires_strength=round(self.hires.strength.value(), 2),
            hires_method=self.hires.method.currentText())

    def set_params(self, params: ImageParams) -> None:
        """Fill every field from ``params`` (reuse all parameters)."""
        self.prompt.setPlainText(params.prompt)
        self.loras.restore(params.loras)
        self.negative.setPlainText(params.negative_prompt)
        self.steps.setValue(params.steps)
        self.guidance.setValue(params.guidance)
        self.width_box.setValue(params.width)
        self.height_box.setValue(params.height)
        self.set_seed(params.seed)
        index = self.scheduler.findText(params.scheduler)
        self.scheduler.setCurrentIndex(index if index >= 0 else 0)
        self.batch.setValue(params.batch_count)
        self.init_image.setText(params.init_image)
        self.strength.setValue(params.strength)
        self.mask_control.set_mask(params.mask_image if Path(params.mask_image).is_file() else "", params.mask_blur)
        self.outpaint.set_pads(list(params.outpaint))
        self.hires.set_values(params.hires_scale, params.hires_strength, params.hires_method)

    def set_seed(self, seed: int | None) -> None:
        self.seed.setText("" if seed is None else str(seed))

    def set_init_image(self, path: str) -> None:
        self.init_image.setText(path)

    def apply_family_defaults(self, family: str, lcm: bool = False) -> None:
        d = defaults_for(family, lcm=lcm)
        self.steps.setValue(d.steps)
        self.guidance.setValue(d.guidance)
        self.width_box.setMaximum(d.max_side)
        self.height_box.setMaximum(d.max_side)
        self.width_box.setValue(d.width)
        self.height_box.setValue(d.height)
        self.scheduler.setCurrentText(d.scheduler)
        self._presets = presets_for(family, lcm=lcm)
        self.size_preset.clear()
        for preset in self._presets:
            self.size_preset.addItem(preset.label)
        self.size_preset.addItem(CUSTOM_SIZE)
        self._show_matching_preset()

    def _preset_chosen(self, index: int) -> None:
        if 0 <= index < len(self._presets):
            preset = self._presets[index]
            self.width_box.setValue(preset.width)
            self.height_box.setValue(preset.height)

    def _show_matching_preset(self) -> None:
        size = (self.width_box.value(), self.height_box.value())
        index = next((i for i, p in enumerate(self._presets) if (p.width, p.height) == size), len(self._presets))
        self.size_preset.setCurrentIndex(index)

    def _update_strength_enabled(self) -> None:
        has_init = bool(self.init_image.text().strip())
        self.strength.setEnabled(has_init)
        self.outpaint.setEnabled(has_init)
        self.mask_control.update_enabled()

    def _choose_init(self) -> None:
        start = str(Path(self.init_image.text()).parent) if self.init_image.text() else ""
        path, _ = QFileDialog.getOpenFileName(self, "Init image", start, "Images (*.png *.jpg *.jpeg *.webp)")
        if path:
            self.init_image.setText(path)
