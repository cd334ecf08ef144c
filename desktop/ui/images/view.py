"""The Images workspace: Stable Diffusion on diffusers, with live previews.

Left: model picker and model card, the parameter panel, Generate / Stop.
Right: before a model is chosen, a call to action (open a folder or a file,
or go to Models); then the big pane, the progress bar with the step status
under it ("Step 7 of 20 · 1.2 s/step") and the gallery of this session's
images with their actions.  The big pane shows the live preview (a cheap
latent->RGB image each step) while an image forms, the final image when a
run ends, and the gallery item last clicked.

An empty prompt asks before it runs.  The session (its gallery) and the
last parameters come back after a restart (see ``images/session.py``).

Every generation is one job on the runner's engine lane calling
:meth:`ImageEngine.generate`; the workspace never touches the pipeline.
A model started from the Library (:meth:`load_model`) loads at once, as one
such job, with its steps ("Checking…", "Loading … on CPU…") in the status
line, so the first Generate does not wait for it.
Previews and finished images arrive through the handle's coalesced
``progressed`` batches; the job's ``finished``/``failed``/``cancelled``
signals end it.  Stop cancels the job: the engine stops before the next
step and discards the half-made image.

Signals:
    preview_updated(int, int): a preview for step i of N is on screen.
    image_added(object): a GenerationRecord was added to the gallery.
    generation_finished(object): the ImageBatchResult of a finished job.
    generation_failed(str): a job failed with this message.
    generation_stopped(): a job was stopped; nothing was saved for the unfinished image.
    model_loaded(object): load_model's job loaded this LoadedModel.
    status_message(str): a one-line status or error message.
    open_models_requested(): the empty state's "Models" was clicked.
    gallery_restored(int): this many images of the last session are back in the gallery.
"""

from __future__ import annotations

import dataclasses
import functools
import html
import logging
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPalette, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.core.errors import GenLabError
from desktop.core.image.engine import ImageBatchResult, ImageEngine, ImageRequest, ImageResult
from desktop.core.image.params import ImageParams
from desktop.core.image.pipeline import LoadedModel
from desktop.core.image.preview import StepPreview
from desktop.core.jobs import Job
from desktop.core.records import GenerationRecord, NullSink
from desktop.core.units import format_duration
from desktop.ui import theme
from desktop.ui.icons import icon
from desktop.ui.images import session
from desktop.ui.images.empty import ImagesEmptyState
from desktop.ui.images.gallery import ImagesGallery
from desktop.ui.images.params import ImagesParamsPanel

log = logging.getLogger(__name__)
PREVIEW_SIDE = 384


def _generate_job(engine: ImageEngine, request: ImageRequest, services, *, cancel, progress) -> ImageBatchResult:
    # Incognito is read when the job runs, so a switch applies to queued jobs too.
    if services.settings.history.incognito:
        request = dataclasses.replace(request, private=True)  # no metadata, a temporary file
        return engine.generate(request, cancel=cancel, progress=progress, sink=NullSink())
    return engine.generate(request, cancel=cancel, progress=progress, sink=services.history)


def _load_job(engine: ImageEngine, path: str, *, cancel, progress) -> LoadedModel:
    return engine.load(path, cancel=cancel, progress=progress)


def _upscale_job(cache: dict, services, source: str | GenerationRecord, model: str, tile: int, pad: int,
                 *, cancel, progress):
    """Upscale ``source`` (an image path, or an upscale record to re-run) and record the new image.

    ``cache`` keeps the last loaded upscaler (by path and mtime) between jobs; only
    engine jobs touch it, and they run one at a time.
    """
    from desktop.core.image.upscale import load_upscaler, rerun_inputs, upscale_file
    from desktop.core.jobs import Progress

    if isinstance(source, GenerationRecord):
        progress(Progress(None, "Finding the upscaler and the source image by their sha256…"))
        inputs = rerun_inputs(source, cancel=cancel)
        source, model, tile, pad = str(inputs.source_path), str(inputs.upscaler_path), inputs.tile, inputs.pad
    path = Path(model)
    key = (str(path.resolve()), path.stat().st_mtime_ns if path.is_file() else 0)
    upscaler = cache.get(key)
    if upscaler is None:
        progress(Progress(None, f"Loading {path.name}…"))
        cache.clear()  # one upscaler in memory at a time
        upscaler = load_upscaler(path)
        cache[key] = upscaler
    private = services.settings.history.incognito  # read when the job runs, as for generations
    result = upscale_file(upscaler, source, tile=tile, pad=pad, private=private, cancel=cancel, progress=progress)
    if not private:
        services.history.save(result.record)
    return result


def _session_images_job(services, session_id: str, *, cancel, progress) -> list[GenerationRecord]:
    return session.session_images(services, session_id)


class ImagesWorkspace(QWidget):
    preview_updated = Signal(int, int)
    image_added = Signal(object)
    generation_finished = Signal(object)
    generation_failed = Signal(str)
    generation_stopped = Signal()
    model_loaded = Signal(object)
    status_message = Signal(str)
    open_models_requested = Signal()
    gallery_restored = Signal(int)

    def __init__(self, services, runner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.runner = runner
        self.engine = services.image_engine
        restoring = bool(services.settings.image.session_id)
        self.session_id = session.session_id(services.settings.image)
        self.shown_path: str | None = None  # the image file in the big pane; None: a preview or nothing
        self._step_rate: float | None = None  # seconds per step of the running job
        self._handle = None
        self._rerun_of: GenerationRecord | None = None  # the record the running generation re-runs
        self.rerun_question: QMessageBox | None = None  # the "Run anyway?" question of the last re-run
        self._added: set[str] = set()
        self._upscalers: dict = {}  # the last loaded upscaler, touched by engine jobs only
        self.upscale_dialog = None  # the last "Upscale…" dialog (tests answer it)
        self._family: tuple[str, bool] | None = None

        # left column
        self.picker = QComboBox()
        self.picker.setPlaceholderText("Choose a Stable Diffusion model")
        self.picker.setMinimumContentsLength(12)
        self.open_folder_button = QPushButton(icon("folder-open"), "Folder…")
        self.open_folder_button.setToolTip("Open a diffusers model folder (with model_index.json)")
        self.open_file_button = QPushButton(icon("file"), "File…")
        self.open_file_button.setToolTip("Open a single .safetensors checkpoint")
        self.card = QLabel("No model chosen.")
        self.card.setObjectName("modelCard")
        theme.set_role(self.card, "card")
        self.card.setWordWrap(True)
        self.card.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.params_panel = ImagesParamsPanel()
        self.params_panel.offload.setCurrentText(services.settings.image.offload)
        self.generate_button = QPushButton(icon("sparkle", QPalette.ColorRole.HighlightedText), "Generate")
        self.generate_button.setToolTip("Ctrl+Enter")
        self.generate_button.setDefault(True)
        theme.set_role(self.generate_button, "primary")
        self.stop_button = QPushButton(icon("stop"), "Stop")
        self.stop_button.setToolTip("Esc: stops before the next step; the unfinished image is discarded")
        self.stop_button.setEnabled(False)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setSpacing(theme.SPACE_M)
        pick_row = QHBoxLayout()
        pick_row.addWidget(self.open_folder_button)
        pick_row.addWidget(self.open_file_button)
        pick_row.addStretch(1)
        left_layout.addWidget(self.picker)
        left_layout.addLayout(pick_row)
        left_layout.addWidget(self.card)
        left_layout.addWidget(self.params_panel)
        buttons = QHBoxLayout()
        buttons.addWidget(self.generate_button, 1)
        buttons.addWidget(self.stop_button)
        left_layout.addLayout(buttons)
        left_layout.addStretch(1)
        left_scroll = QScrollArea()
        left_scroll.setWidget(left)
        left_scroll.setWidgetResizable(True)
        left_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        left_scroll.setMinimumWidth(left.sizeHint().width() + left_scroll.verticalScrollBar().sizeHint().width())

        # right column
        self.preview = QLabel("The preview appears here while an image forms.")
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setMinimumSize(256, 256)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setFormat("")
        self.status = QLabel("")
        theme.set_role(self.status, "muted")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.gallery = ImagesGallery()
        working = QWidget()
        right_layout = QVBoxLayout(working)
        right_layout.setSpacing(theme.SPACE_S)
        right_layout.addWidget(self.preview, 3)
        right_layout.addWidget(self.progress)
        right_layout.addWidget(self.status)
        right_layout.addWidget(self.gallery, 2)
        self.empty_state = ImagesEmptyState()
        self.right = QStackedWidget()
        self.right.addWidget(self.empty_state)
        self.right.addWidget(working)

        splitter = QSplitter()
        splitter.addWidget(left_scroll)
        splitter.addWidget(self.right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([420, 720])
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(splitter)

        self.generate_button.clicked.connect(self.generate)
        self.stop_button.clicked.connect(self.stop)
        self.open_folder_button.clicked.connect(self._ask_folder)
        self.open_file_button.clicked.connect(self._ask_file)
        self.picker.currentIndexChanged.connect(self._model_chosen)
        self.params_panel.offload.currentTextChanged.connect(self._offload_changed)
        self.gallery.reuse_requested.connect(self.reuse_parameters)
        self.gallery.reuse_seed_requested.connect(self.params_panel.set_seed)
        self.gallery.init_requested.connect(self.params_panel.set_init_image)
        self.gallery.upscale_requested.connect(self.ask_upscale)
        self.gallery.image_selected.connect(self._show_record)
        self.empty_state.open_folder_requested.connect(self._ask_folder)
        self.empty_state.open_file_requested.connect(self._ask_file)
        self.empty_state.models_requested.connect(self.open_models_requested)
        self.refresh_library()
        self._restore_last_params()
        self._update_empty_state()
        if restoring:
            self._restore_gallery()

    # --- models ---------------------------------------------------------------------
    def refresh_library(self) -> None:
        """List the library's image models, plus the last one used."""
        try:
            from desktop.core.models.library import Library

            models = [m for m in Library().models(kind="image")]
        except Exception:  # an unreadable library must not break the workspace
            log.exception("could not read the model library")
            models = []
        self.picker.blockSignals(True)
        for model in models:
            if self.picker.findData(model.path) < 0:
                self.picker.addItem(model.name, model.path)
        self.picker.blockSignals(False)
        self.params_panel.loras.refresh_library()
        self.params_panel.embeddings.refresh_library()
        last = self.services.settings.image.last_model
        if last and Path(last).exists():
            self.select_model(last)

    def select_model(self, path: str) -> None:
        """Choose ``path`` in the picker (adding it if it is not listed) and show its card."""
        index = self.picker.findData(str(path))
        if index < 0:
            self.picker.addItem(Path(path).name, str(path))
            index = self.picker.count() - 1
        if index == self.picker.currentIndex():
            self._model_chosen()
        else:
            self.picker.setCurrentIndex(index)
        self._update_empty_state()

    def load_model(self, path: str):
        """Choose ``path`` and load its pipeline now, as one engine job (Generate would load it too);
        the job's handle, or None when another job runs."""
        self.select_model(path)
        if self.busy:
            self._set_status("Wait for the current job to finish or stop it first.")
            return None
        name = Path(path).name
        handle = self._start(Job(f"Load {name}", functools.partial(_load_job, self.engine, path), kind="engine"))
        handle.finished.connect(self._on_loaded)
        handle.cancelled.connect(lambda: self._stopped(f"Stopped loading {name}."))
        self.progress.setFormat("Loading model…")
        self._set_status(f"Loading {name}…")
        return handle

    def _on_loaded(self, loaded: LoadedModel) -> None:
        self.services.settings.image.last_model = str(loaded.info.path)
        self.progress.setFormat("Model ready")
        self._set_status(f"Loaded {loaded.info.name} on {loaded.device.upper()} in "
                         f"{format_duration(loaded.load_seconds)}.")
        self._model_chosen()  # the card now shows device, memory plan and hash
        self.model_loaded.emit(loaded)

    def current_model(self) -> str:
        return self.picker.currentData() or ""

    def _model_chosen(self, *_: object) -> None:
        path = self.current_model()
        if not path:
            return
        from desktop.core.image.model_files import inspect_model

        try:
            info = inspect_model(Path(path))
        except GenLabError as exc:
            self._family = None
            self.params_panel.loras.set_model(None)
            self.params_panel.embeddings.set_model(None)
            self.card.setText(f"<span style='color:{theme.colours().danger}'>{html.escape(str(exc))}</span>")
            return
        loaded = self.engine.loaded
        rows = [("Family", info.family_label), ("Layout", "diffusers folder" if info.layout == "folder"
                                                else "single .safetensors file"),
                ("Size", f"{info.size / 1024 ** 2:,.1f} MB")]
        if loaded is not None and loaded.info.path.resolve() == info.path.resolve():
            rows += [("Device", f"{loaded.device.upper()} · {loaded.dtype}"), ("Memory", loaded.plan.reason),
                     ("sha256", loaded.identity.sha256[:16] + "…")]
        state = "<b>Loaded</b>" if len(rows) > 3 else "Loads on first Generate"
        muted = theme.colours().muted
        body = "".join(f"<tr><td style='color:{muted}; padding-right:8px'>{html.escape(k)}</td>"
                       f"<td>{html.escape(v)}</td></tr>" for k, v in rows)
        self.card.setText(f"{state}<table>{body}</table>")
        self.params_panel.loras.set_model(info.family, info.name)
        self.params_panel.embeddings.set_model(info.family, info.name)
        family = (info.family, info.lcm)
        if family != self._family:
            self._family = family
            self.params_panel.apply_family_defaults(*family)

    def _ask_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Diffusers model folder")
        if path:
            self.select_model(path)

    def _ask_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Stable Diffusion checkpoint", "",
                                              "Safetensors (*.safetensors);;All files (*)")
        if path:
            self.select_model(path)

    def _offload_changed(self, value: str) -> None:
        self.services.settings.image.offload = value

    def _update_empty_state(self) -> None:
        """The call to action until a model is chosen (or the session already has images)."""
        empty = not self.current_model() and self.gallery.count() == 0
        self.right.setCurrentIndex(0 if empty else 1)

    # --- the session across restarts -------------------------------------------------
    def _restore_last_params(self) -> None:
        data = self.services.settings.image.last_params
        if not data:
            return
        params = ImageParams.from_dict(data)
        if params.init_image and not Path(params.init_image).is_file():
            params.init_image = ""
        self.params_panel.set_params(params)

    def _restore_gallery(self) -> None:
        """Bring back the last session's images from the history, off the GUI thread."""
        job = Job("Restoring the Images gallery",
                  functools.partial(_session_images_job, self.services, self.session_id), kind="io")
        handle = self.runner.submit(job)
        handle.finished.connect(self._gallery_restored)
        handle.failed.connect(lambda message, _tb: log.warning("gallery not restored: %s", message))

    def _gallery_restored(self, records: list[GenerationRecord]) -> None:
        for record in records:  # oldest first: the newest ends on top
            if record.image_path not in self._added:
                self._added.add(record.image_path)
                self.gallery.add(record)
        self.gallery_restored.emit(len(records))
        self._update_empty_state()

    # --- generation -------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self._handle is not None

    def generate(self) -> None:
        """Start a generation with the panel's parameters (Ctrl+Enter)."""
        if self.busy:
            return
        path = self.current_model()
        if not path:
            self._set_status("Choose a model first.", error=True)
            return
        params = self.params_panel.params()
        if not params.prompt.strip() and not self._confirm_empty_prompt():
            self._set_status("Not generated: the prompt is empty. Describe the image, or confirm the empty prompt.")
            return
        self._submit(path, params)

    def _confirm_empty_prompt(self) -> bool:
        answer = QMessageBox.question(
            self, "Empty prompt", "Generate with an empty prompt?\n\n"
            "Without a prompt the model makes an unguided image.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def _submit(self, path: str, params: ImageParams) -> None:
        self.services.settings.image.last_model = path
        if not self.services.settings.history.incognito:  # an incognito prompt never reaches the data folder
            self.services.settings.image.last_params = params.to_dict()
        self._step_rate = None
        request = ImageRequest(path, params, session_id=self.session_id)
        incognito = self.services.settings.history.incognito  # the job's name reaches the log on a crash
        job = Job("Image (incognito)" if incognito else f"Image: {params.prompt[:40] or '(empty prompt)'}",
                  functools.partial(_generate_job, self.engine, request, self.services), kind="engine")
        handle = self._start(job)
        handle.finished.connect(self._on_finished)
        handle.cancelled.connect(self._on_cancelled)
        self._set_status("Waiting for the engine…")

    def _start(self, job: Job):
        """Submit an engine job (a load or a generation); the Generate button waits for its end."""
        handle = self.runner.submit(job)
        self._handle = handle
        handle.progressed.connect(self._on_progress)
        handle.failed.connect(self._on_failed)
        handle.ended.connect(self._on_ended)
        self.generate_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.progress.setValue(0)
        self.progress.setFormat("Queued…")
        return handle

    def stop(self) -> None:
        """Stop the running generation (Esc); the unfinished image is discarded."""
        if self._handle is not None:
            self._handle.cancel()
            self.stop_button.setEnabled(False)
            self._set_status("Stopping after this step…")

    def _on_progress(self, reports: list) -> None:
        last_preview = None
        for report in reports:
            if isinstance(report.payload, StepPreview):
                last_preview = report
            elif isinstance(report.payload, ImageResult):
                self._add_image(report.payload.record)
                last_preview = None  # the saved image stays in the big pane, not an older preview
            elif report.message:
                self._set_status(report.message)
            if report.fraction is not None:
                self.progress.setValue(int(report.fraction * 1000))
        if last_preview is not None:
            preview: StepPreview = last_preview.payload
            self.progress.setFormat(last_preview.message)
            self._set_status(self._step_status(preview))
            if preview.rgb is not None:
                self._show_rgb(preview.rgb)
            self.preview_updated.emit(preview.step, preview.total)

    def _step_status(self, preview: StepPreview) -> str:
        """ "Image 2 of 4 · Step 7 of 20 · 1.2 s/step · 16 s left".

        The rate is the engine's mean step time (its ETA over the steps left), kept for the last step.
        """
        left = (preview.total - preview.step) + (preview.batch_count - preview.image_index - 1) * preview.total
        if preview.eta_seconds is not None and left > 0:
            self._step_rate = preview.eta_seconds / left
        parts = [f"Image {preview.image_index + 1} of {preview.batch_count}"] if preview.batch_count > 1 else []
        parts.append(f"Step {preview.step} of {preview.total}")
        if self._step_rate is not None:
            parts.append(f"{self._step_rate:.1f} s/step")
        if preview.eta_seconds is not None and preview.eta_seconds >= 1:
            parts.append(f"{preview.eta_seconds:.0f} s left")
        return " · ".join(parts)

    def _show_rgb(self, rgb) -> None:
        h, w = rgb.shape[0], rgb.shape[1]
        image = QImage(rgb.tobytes(), w, h, 3 * w, QImage.Format.Format_RGB888)
        side = min(PREVIEW_SIDE, max(self.preview.width(), 64), max(self.preview.height(), 64))
        self.shown_path = None
        self.preview.setPixmap(QPixmap.fromImage(image).scaled(
            side, side, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation))

    def _show_record(self, record: GenerationRecord) -> None:
        self._show_file(record.image_path)

    def _show_file(self, path: str) -> None:
        pixmap = QPixmap(path)
        if not pixmap.isNull():
            self.shown_path = path
            side = min(PREVIEW_SIDE * 2, max(self.preview.width(), 64), max(self.preview.height(), 64))
            self.preview.setPixmap(pixmap.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio,
                                                 Qt.TransformationMode.SmoothTransformation))

    def _add_image(self, record: GenerationRecord) -> None:
        if record.image_path in self._added:
            return
        self._added.add(record.image_path)
        self.gallery.add(record)  # selecting it shows it in the big pane
        self._update_empty_state()
        self.image_added.emit(record)

    def _on_finished(self, result: ImageBatchResult) -> None:
        for image in result.images:
            self._add_image(image.record)
        if result.images:  # the run's last image, whatever preview came last
            self._show_file(result.images[-1].record.image_path)
        self.progress.setValue(1000)
        self.progress.setFormat("Done")
        seeds = ", ".join(str(i.seed) for i in result.images)
        timings = result.images[-1].record.timings if result.images else {}
        per_step = timings.get("per_step_s")
        text = f"Done: {len(result.images)} image(s), seed {seeds}"
        if per_step:
            text += f" · {per_step:.2f} s/step"
        for warning in result.warnings:
            text += f"\nWarning: {warning}"
        rerun_of, self._rerun_of = self._rerun_of, None
        if rerun_of is not None and result.images:
            from desktop.core.history.rerun import compare_images

            check = compare_images(rerun_of.image_path, result.images[0].record.image_path)
            text += ("\nPixel-identical to the recorded image." if check.matches
                     else f"\nThe re-run differs from the recorded image: {check.diff}")
        self._set_status(text)
        self._model_chosen()  # the card now shows device, memory plan and hash
        self.generation_finished.emit(result)

    def _on_failed(self, message: str, _traceback: str) -> None:
        self._rerun_of = None
        self.progress.setFormat("Failed")
        self._set_status(message, error=True)
        self.generation_failed.emit(message)

    def _on_cancelled(self) -> None:
        self._rerun_of = None
        self._stopped("Stopped. The unfinished image was discarded; nothing was saved for it.")
        self.generation_stopped.emit()

    def _stopped(self, text: str) -> None:
        self.progress.setFormat("Stopped")
        self._set_status(text)

    def _on_ended(self) -> None:
        self._handle = None
        self.generate_button.setEnabled(True)
        self.stop_button.setEnabled(False)

    def _set_status(self, text: str, error: bool = False) -> None:
        if error:
            self.status.setText(f"<span style='color:{theme.colours().danger}'>{html.escape(text)}</span>")
        else:
            self.status.setText(html.escape(text).replace("\n", "<br>"))
        self.status_message.emit(text)

    # --- upscaling --------------------------------------------------------------------
    def ask_upscale(self, record: GenerationRecord) -> None:
        """The gallery's Upscale…: choose an upscaler and tiling, then upscale on the engine lane."""
        from desktop.ui.images.upscale_dialog import UpscaleDialog

        if self.busy:
            self._set_status("Wait for the running job to finish or stop it first.", error=True)
            return
        if not Path(record.image_path).is_file():
            self._set_status(f"The image {record.image_path or '(no file)'} is gone, so it cannot be upscaled.",
                             error=True)
            return
        dialog = UpscaleDialog(record.image_path, self, last_model=self.services.settings.image.last_upscaler)
        self.upscale_dialog = dialog

        def accepted() -> None:
            model, tile, pad = dialog.choice()
            self.services.settings.image.last_upscaler = model
            self.upscale(record.image_path, model, tile=tile, pad=pad)

        dialog.accepted.connect(accepted)
        dialog.open()

    def upscale(self, image_path: str, model: str, *, tile: int, pad: int):
        """Upscale one image file with the upscaler file ``model``; the result joins the gallery."""
        if self.busy:
            self._set_status("Wait for the running job to finish or stop it first.", error=True)
            return None
        job = Job(f"Upscale {Path(image_path).name}",
                  functools.partial(_upscale_job, self._upscalers, self.services, image_path, model, tile, pad),
                  kind="engine")
        return self._start_upscale(job, None)

    def rerun_upscale(self, record: GenerationRecord):
        """Upscale a record's source image again with its exact upscaler (both found by sha256) and
        say whether the result is pixel-identical to the recorded one."""
        if self.busy:
            self._set_status("Wait for the running job to finish or stop it first.", error=True)
            return None
        job = Job(f"Re-run upscale of {Path(record.image_path).name}",
                  functools.partial(_upscale_job, self._upscalers, self.services, record, "", 0, 0), kind="engine")
        return self._start_upscale(job, record)

    def _start_upscale(self, job: Job, rerun_of: GenerationRecord | None):
        handle = self._start(job)
        handle.finished.connect(lambda result: self._on_upscaled(result, rerun_of))
        handle.cancelled.connect(lambda: self._stopped("Stopped upscaling; nothing was saved."))
        self._set_status("Waiting for the engine…")
        return handle

    def _on_upscaled(self, result, rerun_of: GenerationRecord | None) -> None:
        record = result.record
        self._add_image(record)
        self._show_file(str(result.path))
        self.progress.setValue(1000)
        self.progress.setFormat("Done")
        p = record.parameters
        (w0, h0), (w1, h1) = p["source_size"], p["size"]
        text = (f"Upscaled {p['upscaler']['scale']}× with {p['upscaler']['name']}: {w0}×{h0} → {w1}×{h1} "
                f"in {format_duration(record.timings.get('upscale_s', 0.0))}.")
        if rerun_of is not None:
            from desktop.core.history.rerun import compare_images, exactness_warnings

            check = compare_images(rerun_of.image_path, result.path)
            text += ("\nPixel-identical to the recorded image." if check.matches
                     else f"\nThe re-run differs from the recorded image: {check.diff}")
            for warning in exactness_warnings(rerun_of, versions=record.versions, device=record.device):
                text += f"\nNote: {warning}"
        self._set_status(text)
        self.generation_finished.emit(result)

    # --- reuse ------------------------------------------------------------------------
    def reuse_parameters(self, record: GenerationRecord) -> None:
        """Fill the panel (and the model picker) from a saved image's record."""
        from desktop.core.image.upscale import is_upscale_record

        if is_upscale_record(record):
            self._set_status("This image was made by an upscaler, not from a prompt, so it has no generation "
                             "parameters. Reuse those of the image it was upscaled from.", error=True)
            return
        params = ImageParams.from_dict(record.parameters)
        params.seed = record.seed
        params.batch_count = 1  # exactly this image: its own seed, not its batch's first
        model_path = record.parameters.get("model_path", "")
        if model_path and Path(model_path).exists() and model_path != self.current_model():
            self.select_model(model_path)
        self.params_panel.set_params(params)
        self._set_status(f"Parameters of seed {record.seed} restored.")

    def rerun_record(self, record: GenerationRecord, model_path: str) -> None:
        """Make ``record``'s image again, exactly: its model (``model_path``, the library's
        file with the record's sha256), every parameter and its seed.

        The panel shows the record's parameters, but the job takes them from the
        record itself, so values the panel rounds (guidance has one decimal) stay
        exact.  The new image is a new record in this workspace's session.  Once
        the model is loaded, a question asks first when another device or library
        version than recorded may change the pixels; the status then says whether
        the image is pixel-identical to the recorded one.
        """
        if record.kind != "image":
            self._set_status("Only image records can be re-run in Images.", error=True)
            return
        if self.busy:
            self._set_status("Wait for the running generation to finish or stop it first.", error=True)
            return
        from desktop.core.history.rerun import image_rerun_params

        params = image_rerun_params(record)
        self.select_model(model_path)
        self.params_panel.set_params(params)
        if self._holds(model_path):
            self._ask_then_rerun(record, model_path, params)
            return
        handle = self.load_model(model_path)  # the device and library versions are known once it is loaded
        if handle is None:
            return

        def loaded() -> None:  # on ended: after _on_ended, so the workspace is free again
            if self._holds(model_path):
                self._ask_then_rerun(record, model_path, params)

        handle.ended.connect(loaded)

    def _holds(self, path: str) -> bool:
        loaded = self.engine.loaded
        return loaded is not None and loaded.info.path.resolve() == Path(path).resolve()

    def _ask_then_rerun(self, record: GenerationRecord, path: str, params: ImageParams) -> None:
        """Re-run now, or first ask when another device or library version could change the pixels."""
        from desktop.core.history.rerun import exactness_warnings
        from desktop.ui.rerun_notice import ask_run_anyway

        loaded = self.engine.loaded
        assert loaded is not None
        warnings = exactness_warnings(record, versions=dict(loaded.versions), device=loaded.device)

        def run() -> None:
            if self.busy:
                self._set_status("Wait for the running generation to finish or stop it first.", error=True)
                return
            self._rerun_of = record
            self._submit(path, params)

        if warnings:
            self.rerun_question = ask_run_anyway(self, warnings, run,
                                                 cancelled=lambda: self._set_status("Re-run cancelled."))
        else:
            run()
