"""The image engine: one loaded diffusers pipeline, generate with previews and cancel.

Lifecycle: ``ImageEngine()`` holds nothing; ``generate`` (or ``load``) loads
the requested model and keeps it loaded for the next request; asking for
another model unloads the first and frees its memory; ``close()`` unloads.
While a model is loaded the engine holds its cross-process lock
(:func:`desktop.core.models.locks.hold_model`), so no GenLab process deletes it.
One engine per process (``Services.image_engine``);
its methods are job functions, run one at a time on the engine lane.

Each denoising step reports a :class:`Progress` whose payload is a
:class:`StepPreview` (a cheap latent->RGB image, step i/N, ETA); each saved
image is reported with an :class:`ImageResult` payload.  Cancelling sets the
pipeline's ``_interrupt`` flag at the next step end; diffusers still decodes
the half-made latents, and that image is thrown away, never saved or
recorded.  The seed drives a CPU ``torch.Generator``, so an image is the same
as calling the bare pipeline with ``torch.Generator().manual_seed(seed)``.

A ``private`` (incognito) request leaves nothing that tells what was asked:
the PNG has no text chunks, no thumbnail is written, and the file goes to
``request.out_file`` if given, else to the temporary
:func:`~desktop.core.image.output.incognito_folder`, never the data root.
"""

from __future__ import annotations

import gc
import json
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

from desktop.core.errors import GenLabError, InvalidParameter
from desktop.core.hardware import machine_info
from desktop.core.image.embeddings import (
    EmbeddingSlots,
    ResolvedEmbedding,
    a1111_hashes,
    choose_embeddings,
    prompt_for_model,
)
from desktop.core.image.hires import LATENT, HiresPlan, check_hires, upscale_image, upscale_latents
from desktop.core.image.inpaint import (
    OUTPAINT,
    InpaintInputs,
    inpaint_method,
    is_inpainting_checkpoint,
    prepare_inpaint,
)
from desktop.core.image.lora import (
    LoraSlots,
    ResolvedLora,
    a1111_prompt,
    check_family,
    resolve_loras,
    split_prompt_loras,
)
from desktop.core.image.masks import check_mask_unchanged, paste_back, read_mask, write_mask
from desktop.core.image.model_files import ModelInfo, inspect_model
from desktop.core.image.output import (
    SavedImage,
    a1111_parameters,
    incognito_folder,
    mask_path_for,
    new_image_path,
    save_png,
    thumbnail_path_for,
)
from desktop.core.image.params import (
    FLOW_FAMILIES,
    NO_NEGATIVE_PROMPT,
    ImageParams,
    defaults_for,
    validate_params,
)
from desktop.core.image.pipeline import (
    LoadedModel,
    MemoryPlan,
    apply_memory_plan,
    choose_device,
    library_versions,
    load_pipeline,
    model_identity,
    plan_memory,
    report,
    set_vae_tiling,
)
from desktop.core.image.preview import LatentPreviewer, StepPreview
from desktop.core.image.schedulers import DEFAULT, SCHEDULER_NAMES, sampler_name
from desktop.core.jobs import CancelToken, JobCancelled, Progress, ProgressCallback, no_progress
from desktop.core.models.library import Library
from desktop.core.models.locks import ModelHold, hold_model
from desktop.core.records import GenerationRecord, HistorySink, NullSink, new_id
from desktop.core.settings import ImageSettings


class ImageOutOfMemory(GenLabError):
    """The device ran out of memory during generation; the engine stays usable."""


@dataclass
class ImageRequest:
    model: str  # a diffusers folder or a .safetensors file
    params: ImageParams
    out_file: str = ""  # save here instead of the day folder (CLI --out)
    session_id: str = ""
    previews: bool = True
    private: bool = False  # incognito: no metadata, no thumbnail, not under the data root


@dataclass
class ImageResult:
    record: GenerationRecord
    path: Path
    thumbnail_path: Path | None  # None for incognito images
    seed: int
    image: Any  # PIL image


@dataclass
class ImageBatchResult:
    images: list[ImageResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    model_card: str = ""


def is_out_of_memory(exc: BaseException) -> bool:
    import torch

    if isinstance(exc, torch.OutOfMemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text)


def out_of_memory_error(params: ImageParams, device: str, plan: MemoryPlan) -> ImageOutOfMemory:
    """A readable OOM error with the concrete next step."""
    where = "GPU" if device in ("cuda", "mps") else "system"
    steps = []
    if device == "cuda" and plan.offload == "none":
        steps.append("enable model CPU offload (Settings → Images → Offload: model)")
    elif device == "cuda" and plan.offload == "model":
        steps.append("switch offload to 'sequential' in Settings → Images")
    if params.width * params.height > 512 * 512:
        w, h = max(64, params.width // 2 // 8 * 8), max(64, params.height // 2 // 8 * 8)
        steps.append(f"make a smaller image (for example {w}x{h})")
    else:
        steps.append("close other programs using the GPU or choose a smaller model")
    return ImageOutOfMemory(
        f"Out of {where} memory while making a {params.width}x{params.height} image on {device.upper()}.",
        "Try to " + ", or ".join(steps) + ". Nothing was lost; the model is still loaded.")


def _free_device_memory() -> None:
    gc.collect()
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    mps = getattr(torch, "mps", None)
    if mps is not None and getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        mps.empty_cache()


def load_init_image(path: str, width: int, height: int) -> Any:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img.load()
            rgb = img.convert("RGB")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InvalidParameter(f"The init image {Path(path).name} is not an image GenLab can read.",
                               "Choose a PNG, JPEG or WebP file.") from exc
    if rgb.size != (width, height):
        rgb = rgb.resize((width, height), Image.Resampling.LANCZOS)
    return rgb


def family_dtype(family: str, device: str, dtype: Any, *, bf16_supported: bool | None = None) -> Any:
    """bfloat16 instead of float16 for FLUX on a GPU that has it: FLUX's activations overflow
    float16 (black or noise images), and its weights are published in bfloat16."""
    import torch

    if family not in NO_NEGATIVE_PROMPT or device != "cuda" or dtype != torch.float16:
        return dtype
    if bf16_supported is None:
        bf16_supported = bool(torch.cuda.is_bf16_supported())
    return torch.bfloat16 if bf16_supported else dtype


class ImageEngine:
    """Owns the loaded pipeline (see the module docstring for the lifecycle)."""

    def __init__(self, settings: ImageSettings | None = None, history: HistorySink | None = None, *,
                 library: Library | None = None) -> None:
        self.settings = settings or ImageSettings()
        self.history = history
        # Where loaded models are listed (Services passes its one; None: the data root's at load).
        self.library = library
        self.loaded: LoadedModel | None = None
        self._loras: LoraSlots | None = None  # the adapters loaded into self.loaded's pipeline
        self._embeddings: EmbeddingSlots | None = None  # the textual inversions loaded into it
        self._hold: ModelHold | None = None  # tells other GenLab processes the model is loaded
        self._lock = threading.RLock()

    # --- loading ------------------------------------------------------------
    def load(self, model: str | Path, *, cancel: CancelToken | None = None,
             progress: ProgressCallback = no_progress) -> LoadedModel:
        """Load ``model`` (or keep it if it is already loaded) and return it."""
        cancel = cancel or CancelToken()
        return self._ensure_loaded(inspect_model(Path(model)), cancel, progress)

    def _ensure_loaded(self, info: ModelInfo, cancel: CancelToken, progress: ProgressCallback) -> LoadedModel:
        with self._lock:
            current = self.loaded
            if (current is not None and current.info.path.resolve() == info.path.resolve()
                    and current.plan_override == self.settings.offload and current.files_unchanged()):
                return current
            self.unload()
            hold = hold_model(info.path)
            try:
                loaded = self._load(info, cancel, progress)
            except BaseException:
                hold.release()
                raise
            self._hold = hold
            return loaded

    def _load(self, info: ModelInfo, cancel: CancelToken, progress: ProgressCallback) -> LoadedModel:
        start = time.perf_counter()
        report(progress, f"Checking {info.name}…")
        identity = model_identity(info, cancel=cancel, progress=progress)
        cancel.raise_if_cancelled()
        # Listed (a folder opened by path as a link) and stamped as used, so a re-run finds it by sha256.
        (self.library or Library()).register_opened(info.path, sha256=identity.sha256)
        device, dtype = choose_device()
        dtype = family_dtype(info.family, device, dtype)
        report(progress, f"Loading {info.name} ({info.family_label}) on {device.upper()}…")
        pipe = load_pipeline(info, dtype)
        pipe.set_progress_bar_config(disable=True)
        machine = machine_info(probe_torch=True)
        weights = info.size // 2 if (str(dtype).endswith("float16") and info.variant is None) else info.size
        if info.transformer_gguf and weights != info.size:  # the GGUF's quantized weights stay their size
            quantized = (info.path / info.transformer_gguf).stat().st_size
            weights = quantized + (info.size - quantized) // 2
        side = 1024 if info.is_xl else 512
        plan = plan_memory(device, vram_free=machine.vram_free, ram_total=machine.ram_total,
                           weights_bytes=weights, width=side, height=side, xl=info.is_xl,
                           override=self.settings.offload)
        apply_memory_plan(pipe, device, plan)
        cancel.raise_if_cancelled()
        loaded = LoadedModel(info=info, identity=identity, pipe=pipe, device=device,
                             dtype=str(dtype).replace("torch.", ""), plan=plan,
                             load_seconds=time.perf_counter() - start,
                             scheduler_config=dict(pipe.scheduler.config), versions=library_versions())
        loaded.plan_override = self.settings.offload
        self.loaded = loaded
        return loaded

    def unload(self) -> None:
        """Drop the loaded pipeline and give its memory back."""
        with self._lock:
            if self.loaded is None:
                return
            self.loaded = None
            self._loras = None
            self._embeddings = None
            hold, self._hold = self._hold, None
        _free_device_memory()
        if hold is not None:
            hold.release()

    close = unload

    def _inspect(self, path: Path) -> ModelInfo:
        """The loaded model's info when its files are unchanged (a stat each), else a fresh inspection."""
        loaded = self.loaded
        if loaded is not None and loaded.info.path.resolve() == path.resolve() and loaded.files_unchanged():
            return loaded.info
        return inspect_model(path)

    # --- generating -----------------------------------------------------------
    def generate(self, request: ImageRequest, *, cancel: CancelToken | None = None,
                 progress: ProgressCallback = no_progress, sink: HistorySink | None = None) -> ImageBatchResult:
        """Make ``request.params.batch_count`` images; save and record each one."""
        cancel = cancel or CancelToken()
        sink = sink if sink is not None else (self.history or NullSink())
        info = self._inspect(Path(request.model))
        # Flow-matching transformers (SD 3.x, FLUX) keep their own scheduler; the SD samplers do not apply.
        schedulers = (DEFAULT,) if info.family in FLOW_FAMILIES else SCHEDULER_NAMES
        checked = validate_params(request.params, info.family, lcm=info.lcm, known_schedulers=schedulers)
        params = checked.params
        if info.family in NO_NEGATIVE_PROMPT:
            params = replace(params, negative_prompt="")  # validate_params warned that it is left out
        init = load_init_image(params.init_image, params.width, params.height) if params.is_img2img else None
        warnings = list(checked.warnings)
        if params.is_inpaint and params.mask_image:
            check_mask_unchanged(params.mask_image, params.mask_sha256)
            # Reads and checks the mask before any model is loaded; notes say what was adjusted.
            warnings += read_mask(params.mask_image, (params.width, params.height)).notes
        prompt, tags = split_prompt_loras(params.prompt)
        library = self.library or Library()
        loras = resolve_loras(params.loras, tags if params.lora_tags else [], library)
        for lora in loras:
            check_family(lora, info.family, info.name)
        embeddings, notes = choose_embeddings(params, prompt, info.family, info.name, library)
        warnings += notes
        with self._lock:
            was_loaded = self.loaded is not None and self.loaded.info.path.resolve() == info.path.resolve()
            loaded = self._ensure_loaded(info, cancel, progress)
            load_s = 0.0 if was_loaded else loaded.load_seconds
            if is_inpainting_checkpoint(loaded.pipe) and not params.is_inpaint:
                raise InvalidParameter(f"{info.name} is an inpainting model: it repaints the masked part of "
                                       "an image and cannot make one from scratch.",
                                       "Give an init image with a mask (--init, --mask) or outpaint it "
                                       "(--outpaint), or choose an ordinary model.")
            self.lora_slots(loaded).apply(loras)
            self.embedding_slots(loaded).apply(embeddings)
            result = ImageBatchResult(warnings=warnings, model_card=loaded.describe())
            session = request.session_id or new_id()
            first_seed = int(params.seed or 0)  # validate_params filled it in
            for index in range(params.batch_count):
                cancel.raise_if_cancelled()
                one = params.with_seed((first_seed + index) % 2**64)
                image_result = self._generate_one(loaded, request, one, init, loras, embeddings, index,
                                                  params.batch_count, session, load_s if index == 0 else 0.0,
                                                  cancel, progress)
                sink.save(image_result.record)
                result.images.append(image_result)
                progress(Progress((index + 1) / params.batch_count, f"Saved {image_result.path.name}",
                                  index + 1, params.batch_count, payload=image_result))
            return result

    def lora_slots(self, loaded: LoadedModel) -> LoraSlots:
        """The LoRA adapters of ``loaded``'s pipeline (new for each loaded pipeline)."""
        if self._loras is None or self._loras.pipe is not loaded.pipe:
            self._loras = LoraSlots(loaded.pipe)
        return self._loras

    def embedding_slots(self, loaded: LoadedModel) -> EmbeddingSlots:
        """The textual inversions of ``loaded``'s pipeline (new for each loaded pipeline)."""
        if self._embeddings is None or self._embeddings.pipe is not loaded.pipe:
            self._embeddings = EmbeddingSlots(loaded.pipe)
        return self._embeddings

    def _generate_one(self, loaded: LoadedModel, request: ImageRequest, params: ImageParams, init: Any,
                      loras: list[ResolvedLora], embeddings: list[ResolvedEmbedding], index: int, batch: int,
                      session: str, load_s: float, cancel: CancelToken, progress: ProgressCallback) -> ImageResult:
        import torch

        seed = int(params.seed or 0)  # set by generate() for each image
        # Outpainting's fill noise is seeded by each image's seed, so it is prepared per image.
        inputs = prepare_inpaint(params, init, seed=seed) if params.is_inpaint else None
        hires = self._hires_plan(loaded, params) if params.is_hires else None
        if inputs is not None:
            pipe = loaded.inpaint_pipe()
        else:
            pipe = loaded.img2img_pipe() if init is not None else loaded.pipe
        pipe.scheduler = loaded.scheduler_for(params.scheduler)
        width, height = inputs.size if inputs is not None else (params.width, params.height)
        final_w, final_h = hires.final if hires is not None else (width, height)
        set_vae_tiling(pipe, loaded.plan.vae_tiling or final_w * final_h > 1024 * 1024)
        first_total = max(1, int(params.steps * params.strength)) if init is not None else params.steps
        total = first_total + (int(params.steps * hires.strength) if hires is not None else 0)
        before = [0]  # steps of earlier passes (the hires pass counts on from the first)
        # The previewer maps SD's 4 latent channels to RGB; SD 3.x and FLUX latents have 16 (FLUX's packed).
        flow = loaded.info.family in FLOW_FAMILIES
        previewer = LatentPreviewer(loaded.info.is_xl) if request.previews and not flow else None
        step_times: list[float] = []
        start = time.perf_counter()
        last = [start]

        def on_step_end(p: Any, step: int, timestep: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
            now = time.perf_counter()
            step_times.append(now - last[0])
            last[0] = now
            if cancel.cancelled:
                p._interrupt = True  # diffusers skips the remaining steps
                return kwargs
            done = before[0] + step + 1
            mean = sum(step_times) / len(step_times)
            eta = mean * ((total - done) + (batch - index - 1) * total)
            rgb = previewer.rgb(kwargs["latents"]) if previewer is not None else None
            label = f"Image {index + 1}/{batch} · " if batch > 1 else ""
            progress(Progress((index * total + done) / (batch * total),
                              f"{label}Step {done}/{total} · ETA {eta:.0f} s", done, total,
                              payload=StepPreview(done, total, index, batch, rgb, eta)))
            return kwargs

        call: dict[str, Any] = dict(
            prompt=prompt_for_model(split_prompt_loras(params.prompt)[0], embeddings),
            negative_prompt=prompt_for_model(params.negative_prompt, embeddings) or None,
            num_inference_steps=params.steps, guidance_scale=float(params.guidance),
            generator=torch.Generator("cpu").manual_seed(seed),
            callback_on_step_end=on_step_end, callback_on_step_end_tensor_inputs=["latents"])
        if inputs is not None:
            call.update(image=inputs.image, mask_image=inputs.mask, strength=float(params.strength),
                        width=width, height=height)
        elif init is not None:
            call.update(image=init, strength=float(params.strength))
            if _takes_size(pipe):  # SD 3.x and FLUX img2img would resize the image to their default size
                call.update(width=params.width, height=params.height)
        else:
            call.update(width=params.width, height=params.height)
        if hires is not None and hires.method == LATENT:
            call["output_type"] = "latent"
        output = self._call(pipe, call, params, loaded)
        if cancel.cancelled:
            raise JobCancelled()  # the decoded half-made image is discarded
        if hires is not None:
            before[0] = first_total
            second = loaded.img2img_pipe()  # the same components: nothing is loaded again
            second.scheduler = loaded.scheduler_for(params.scheduler)
            bigger = (upscale_latents(output.images, hires.final, pipe.vae_scale_factor) if hires.method == LATENT
                      else upscale_image(output.images[0], hires.final, hires.method))
            call.pop("output_type", None)
            call.pop("width", None)
            call.pop("height", None)
            call.update(image=bigger, strength=hires.strength, generator=torch.Generator("cpu").manual_seed(seed))
            if _takes_size(second):
                call.update(width=hires.final[0], height=hires.final[1])
            output = self._call(second, call, params, loaded)
            if cancel.cancelled:
                raise JobCancelled()
        finished = time.perf_counter()
        image = output.images[0]
        if inputs is not None:
            image = paste_back(inputs.image, image, inputs.feathered)
        record = self._record(loaded, request, params, pipe, init is not None, loras, embeddings, index, session)
        sampler = sampler_name(params.scheduler, loaded.scheduler_config.get("_class_name", ""),
                               loaded.scheduler_config)
        record.parameters["sampler"] = sampler
        record.parameters["scheduler_class"] = type(pipe.scheduler).__name__
        target = self._target_path(request, seed, record.id, index, batch)
        if inputs is not None:
            record.parameters["inpaint"] = self._keep_mask(inputs, pipe, params, target, request.private,
                                                           record.parameters)
        if hires is not None:
            record.parameters["hires"] = hires.to_dict()
        record.image_path = str(target)
        record.thumbnail_path = "" if request.private else str(thumbnail_path_for(target))
        steps_s = sum(step_times)
        record.timings = {"load_s": round(load_s, 4), "steps_s": round(steps_s, 4),
                          "per_step_s": round(steps_s / max(1, len(step_times)), 5),
                          "decode_s": round(finished - last[0], 4)}
        if request.private:
            saved: SavedImage = save_png(image, target, None, None, thumbnail=False)
        else:
            saved = save_png(image, target, a1111_text(record, sampler, loras, embeddings),
                             json.dumps(record.to_dict(), ensure_ascii=False))
        record.image_sha256 = saved.sha256
        record.timings["save_s"] = round(time.perf_counter() - finished, 4)
        record.timings["total_s"] = round(time.perf_counter() - start + load_s, 4)
        return ImageResult(record, saved.path, Path(record.thumbnail_path) if record.thumbnail_path else None,
                           seed, image)

    @staticmethod
    def _call(pipe: Any, call: dict[str, Any], params: ImageParams, loaded: LoadedModel) -> Any:
        try:
            return pipe(**call)
        except Exception as exc:
            if not is_out_of_memory(exc):
                raise
        # Only an out-of-memory error gets here, outside the handler, so its traceback's tensors can be freed.
        _free_device_memory()
        raise out_of_memory_error(params, loaded.device, loaded.plan)

    @staticmethod
    def _hires_plan(loaded: LoadedModel, params: ImageParams) -> HiresPlan:
        d = defaults_for(loaded.info.family, lcm=loaded.info.lcm)
        return check_hires(params.hires_scale, params.hires_strength, params.hires_method,
                           width=params.width, height=params.height, multiple=d.size_multiple,
                           max_side=d.max_side, latent_ok=loaded.info.family not in FLOW_FAMILIES)

    @staticmethod
    def _keep_mask(inputs: InpaintInputs, pipe: Any, params: ImageParams, target: Path, private: bool,
                   parameters: dict[str, Any]) -> dict[str, Any]:
        """Store the mask beside the image; the record points at it (path and sha256), so a re-run
        takes exactly these pixels.  Incognito images keep no mask."""
        path, digest = "", ""
        if not private:
            path = str(mask_path_for(target))
            digest = write_mask(inputs.mask, path)
        if inputs.kind != OUTPAINT:  # an outpaint's mask is made again from the pads
            parameters["mask_image"], parameters["mask_sha256"] = path, digest
        return {"kind": inputs.kind, "method": inpaint_method(pipe), "mask_path": path, "mask_sha256": digest,
                "blur": params.mask_blur, "size": list(inputs.size),
                "pads": list(inputs.pads) if inputs.pads is not None else None}

    @staticmethod
    def _target_path(request: ImageRequest, seed: int, record_id: str, index: int, batch: int) -> Path:
        if not request.out_file:
            if request.private:
                return incognito_folder() / f"{seed}-{record_id[:8]}.png"
            return new_image_path(seed, record_id)
        out = Path(request.out_file).expanduser()
        if out.suffix.lower() != ".png":
            out = out.with_suffix(".png")
        return out if batch == 1 else out.with_name(f"{out.stem}-{index + 1}{out.suffix}")

    @staticmethod
    def _record(loaded: LoadedModel, request: ImageRequest, params: ImageParams, pipe: Any, img2img: bool,
                loras: list[ResolvedLora], embeddings: list[ResolvedEmbedding], index: int,
                session: str) -> GenerationRecord:
        parameters = params.to_dict()
        # Every LoRA applied, by sha256, from the tags and the explicit list alike: the list is complete,
        # so making this image again reads no tags (a tag's name may mean another file by then).
        parameters["loras"] = [asdict(lora.choice()) for lora in loras]
        parameters["lora_tags"] = False
        # Likewise every embedding used, by sha256 and token; an image that used none records neither
        # key (ImageParams.from_dict reads such a record as using none).
        parameters.pop("embeddings", None)
        parameters.pop("embedding_auto", None)
        if embeddings:
            parameters["embeddings"] = [asdict(emb.choice()) for emb in embeddings]
            parameters["embedding_auto"] = False
        if not img2img:
            parameters.pop("strength", None)
        # Only the settings a record used: an ordinary image's record stays as it was.
        if not params.is_inpaint:
            for name in ("mask_image", "mask_sha256", "mask_blur", "outpaint"):
                parameters.pop(name, None)
        if not params.is_hires:
            for name in ("hires_scale", "hires_strength", "hires_method"):
                parameters.pop(name, None)
        mode = "img2img" if img2img else "txt2img"
        if params.is_inpaint:
            mode = OUTPAINT if params.outpaint else "inpaint"
        parameters.update(
            mode=mode, batch_index=index, family=loaded.info.family,
            pipeline=type(pipe).__name__,
            dtype=loaded.dtype, offload=loaded.plan.offload,
            attention_slicing=loaded.plan.attention_slicing, model_path=str(loaded.info.path))
        return GenerationRecord(kind="image", prompt=params.prompt, negative_prompt=params.negative_prompt,
                                session_id=session, model=loaded.identity, parameters=parameters,
                                seed=params.seed, device=loaded.device, versions=dict(loaded.versions))


def _takes_size(pipe: Any) -> bool:
    """Whether the pipeline's call takes width and height (the SD 1.x/SDXL img2img ones do not)."""
    import inspect

    return "width" in inspect.signature(type(pipe).__call__).parameters


def a1111_text(record: GenerationRecord, sampler: str, loras: Sequence[ResolvedLora] = (),
               embeddings: Sequence[ResolvedEmbedding] = ()) -> str:
    p = record.parameters
    fields: dict[str, Any] = {
        "Steps": p["steps"], "Sampler": sampler, "CFG scale": f"{float(p['guidance']):g}",
        "Seed": record.seed, "Size": f"{p['width']}x{p['height']}",
        "Model hash": record.model.sha256[:10], "Model": record.model.name,
    }
    if p.get("mode") in ("img2img", "inpaint", OUTPAINT):
        fields["Denoising strength"] = f"{float(p['strength']):g}"
    if p.get("mode") in ("inpaint", OUTPAINT):
        fields["Mask blur"] = p.get("mask_blur", (p.get("inpaint") or {}).get("blur"))
        if p.get("inpaint"):  # an outpainted image is bigger than the request's width and height
            fields["Size"] = "x".join(str(side) for side in p["inpaint"]["size"])
    hires = p.get("hires")
    if hires:  # as A1111 writes a hires-fixed image
        fields["Denoising strength"] = f"{float(hires['strength']):g}"
        fields["Hires upscale"] = f"{float(hires['scale']):g}"
        fields["Hires upscaler"] = {"latent": "Latent (bicubic)", "bicubic": "Bicubic"}.get(hires["method"], "Lanczos")
    if embeddings:
        fields["TI hashes"] = a1111_hashes(embeddings)
    fields["Version"] = (f"GenLab {record.versions.get('genlab', '')} "
                         f"(diffusers {record.versions.get('diffusers', '')})")
    return a1111_parameters(a1111_prompt(record.prompt, list(loras)), record.negative_prompt, fields)
