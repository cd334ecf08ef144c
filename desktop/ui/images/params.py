"""The parameter panel of the Images workspace.

Holds every field of an :class:`ImageParams`: prompt and negative prompt,
steps, guidance, size (multiples of 8), seed (empty: random), scheduler,
batch count, and the img2img init image with its strength.  Family defaults
are applied when a model of another family is chosen; "reuse" actions fill
the panel from a saved record.

Signals:
    changed(): any field changed.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
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

from desktop.core.image.params import MAX_BATCH, MAX_GUIDANCE, MAX_STEPS, ImageParams, defaults_for
from desktop.core.image.pipeline import OFFLOAD_CHOICES
from desktop.core.image.schedulers import SCHEDULER_NAMES


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
        self.steps = QSpinBox()
        self.steps.setRange(1, MAX_STEPS)
        self.guidance = QDoubleSpinBox()
        self.guidance.setRange(0.0, MAX_GUIDANCE)
        self.guidance.setSingleStep(0.5)
        self.guidance.setDecimals(1)
        self.width_box, self.height_box = QSpinBox(), QSpinBox()
        for box in (self.width_box, self.height_box):
            box.setRange(64, 4096)
            box.setSingleStep(64)
            box.setSuffix(" px")
        self.seed = QLineEdit()
        self.seed.setPlaceholderText("random")
        self.seed.setValidator(QRegularExpressionValidator(r"\d{0,20}"))
        self.random_seed = QToolButton()
        self.random_seed.setText("Random")  # plain text: emoji fonts are not everywhere
        self.random_seed.setToolTip("Use a random seed")
        self.scheduler = QComboBox()
        self.scheduler.addItems(list(SCHEDULER_NAMES))
        self.batch = QSpinBox()
        self.batch.setRange(1, MAX_BATCH)
        self.init_image = QLineEdit()
        self.init_image.setPlaceholderText("none: text to image")
        self.init_browse = QPushButton("Choose…")
        self.init_clear = QToolButton()
        self.init_clear.setText("✕")
        self.init_clear.setToolTip("Back to text to image")
        self.strength = QDoubleSpinBox()
        self.strength.setRange(0.01, 1.0)
        self.strength.setSingleStep(0.05)
        self.strength.setValue(0.75)
        self.offload = QComboBox()
        self.offload.addItems(list(OFFLOAD_CHOICES))
        self.offload.setToolTip("auto: offload to the CPU only when VRAM is short (the reason is shown on the card)")

        size_row = QHBoxLayout()
        size_row.addWidget(self.width_box)
        size_row.addWidget(QLabel("×"))
        size_row.addWidget(self.height_box)
        seed_row = QHBoxLayout()
        seed_row.addWidget(self.seed, 1)
        seed_row.addWidget(self.random_seed)
        init_row = QHBoxLayout()
        init_row.addWidget(self.init_image, 1)
        init_row.addWidget(self.init_browse)
        init_row.addWidget(self.init_clear)
        form.addRow("Prompt", self.prompt)
        form.addRow("Negative", self.negative)
        form.addRow("Steps", self.steps)
        form.addRow("Guidance", self.guidance)
        form.addRow("Size", size_row)
        form.addRow("Seed", seed_row)
        form.addRow("Scheduler", self.scheduler)
        form.addRow("Batch count", self.batch)
        form.addRow("Init image", init_row)
        form.addRow("Strength", self.strength)
        form.addRow("Offload", self.offload)

        self.random_seed.clicked.connect(self.seed.clear)
        self.init_browse.clicked.connect(self._choose_init)
        self.init_clear.clicked.connect(self.init_image.clear)
        self.init_image.textChanged.connect(self._update_strength_enabled)
        for signal in (self.prompt.textChanged, self.negative.textChanged, self.steps.valueChanged,
                       self.guidance.valueChanged, self.width_box.valueChanged, self.height_box.valueChanged,
                       self.seed.textChanged, self.scheduler.currentIndexChanged, self.batch.valueChanged,
                       self.init_image.textChanged, self.strength.valueChanged):
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
            strength=round(self.strength.value(), 2))

    def set_params(self, params: ImageParams) -> None:
        """Fill every field from ``params`` (reuse all parameters)."""
        self.prompt.setPlainText(params.prompt)
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

    def _update_strength_enabled(self) -> None:
        self.strength.setEnabled(bool(self.init_image.text().strip()))

    def _choose_init(self) -> None:
        start = str(Path(self.init_image.text()).parent) if self.init_image.text() else ""
        path, _ = QFileDialog.getOpenFileName(self, "Init image", start, "Images (*.png *.jpg *.jpeg *.webp)")
        if path:
            self.init_image.setText(path)
