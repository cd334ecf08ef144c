"""The text engine: the process's one llama.cpp model, loaded, used and switched.

Lifecycle::

    engine = TextEngine(history=sink_or_callable)
    engine.load(path, LoadOptions(), cancel=..., progress=...)   # job function
    engine.generate(TextRequest(...), cancel=..., progress=...)   # job function, streams
    engine.load(other_path, ...)                                  # frees the first model first
    engine.unload() / engine.close()

Only the engine touches the ``Llama`` object, and only under its lock, so two
threads can never drive llama.cpp at once; in the GUI every call comes from
the job runner's single engine lane anyway.  A stop is honoured after every
generated token, between prompt batches (:func:`text_stream.prefill`) and
right after llama.cpp returns from loading; a new file is first test-loaded
in a child process (:mod:`desktop.core.text.probe`).  Before a file reaches llama.cpp
its GGUF metadata is read and validated (:mod:`desktop.core.text.gguf`).
While a model is loaded the engine holds its cross-process lock
(:func:`desktop.core.models.locks.hold_model`), so no GenLab process deletes it.
Every finished or stopped-and-kept reply becomes a
:class:`~desktop.core.records.GenerationRecord` handed to the history sink.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from desktop.core.errors import InvalidParameter, ModelFileError
from desktop.core.jobs import CancelToken, JobCancelled, Progress, ProgressCallback, no_progress
from desktop.core.models.library import Library
from desktop.core.models.locks import ModelHold, hold_model
from desktop.core.records import GenerationRecord, HistorySink, ModelIdentity, NullSink
from desktop.core.text.gguf import GgufInfo, read_gguf_info
from desktop.core.text.gpu import AUTO, GpuCapability, GpuPlan, detect_gpu, plan_gpu_layers
from desktop.core.text.prompt import PromptBuilder, PromptPlan, TextRequest
from desktop.core.text.stream import PromptState, StreamOutcome, canonical_tokens, reusable_prefix, stream_tokens

log = logging.getLogger(__name__)

DEFAULT_MAX_CONTEXT = 8192
FALLBACK_CONTEXT = 2048  # when the file does not say its training context
MIN_CONTEXT = 64


@dataclass
class LoadOptions:
    n_ctx: int = 0  # 0: min(training context, 8192)
    n_threads: int = 0  # 0: llama.cpp's default
    n_gpu_layers: int = AUTO  # -2 automatic, -1 all, N exactly N

    def validated(self) -> "LoadOptions":
        # Worded with the Chat panel's labels (Context, Threads, GPU offload), like SamplingParams.
        if not isinstance(self.n_ctx, int) or (self.n_ctx != 0 and not MIN_CONTEXT <= self.n_ctx <= 1_048_576):
            raise InvalidParameter(
                f"Context must be 0 (automatic) or between {MIN_CONTEXT} and 1,048,576 tokens (got {self.n_ctx!r}).",
                "Leave it automatic, or use 2048 or more for a conversation.")
        if not isinstance(self.n_threads, int) or not 0 <= self.n_threads <= 1024:
            raise InvalidParameter(f"Threads must be 0 (automatic) or between 1 and 1024 (got {self.n_threads!r}).",
                                   "0 lets llama.cpp choose.")
        if not isinstance(self.n_gpu_layers, int) or self.n_gpu_layers < AUTO:
            raise InvalidParameter(
                f"GPU offload must be automatic (-2), all layers (-1) or a number of layers (got {self.n_gpu_layers!r}).",
                "0 runs on the CPU only.")
        return self


@dataclass
class LoadedModel:
    """What is loaded now, for the model card and the records."""

    info: GgufInfo
    sha256: str
    n_ctx: int
    n_threads: int
    gpu: GpuPlan
    device: str
    load_s: float
    chat_available: bool
    template_note: str = ""
    options: LoadOptions = field(default_factory=LoadOptions)

    @property
    def path(self) -> Path:
        return self.info.path


@dataclass
class TextResult:
    text: str
    finish_reason: str  # "stop" | "length" | "cancelled"
    mode: str  # "chat" | "completion"
    prompt_tokens: int
    completion_tokens: int
    ttft_s: float
    total_s: float
    tokens_per_s: float
    n_ctx: int
    seed: int
    mode_note: str = ""  # the model has no chat template, so the prompt went as plain completion
    other_note: str = ""  # turns dropped to fit the context, a history save that failed
    record_id: str = ""
    record: GenerationRecord | None = None

    @property
    def note(self) -> str:
        """Everything worth telling about this reply, in one line."""
        return " ".join(n for n in (self.mode_note, self.other_note) if n)

    @property
    def context_used(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def _std_fds_usable() -> bool:
    """llama-cpp-python's verbose=False silences loading by dup2 on fds 1 and 2,
    which fails where they do not exist (a frozen windowed app)."""
    try:
        os.fstat(1)
        os.fstat(2)
        return True
    except OSError:
        return False


def versions() -> dict[str, str]:
    import llama_cpp

    from desktop import __version__

    return {"genlab": __version__, "llama_cpp_python": str(getattr(llama_cpp, "__version__", "?"))}


class TextEngine:
    """Owns one ``Llama``; see the module docstring for the lifecycle."""

    def __init__(self, history: HistorySink | Callable[[], HistorySink] | None = None,
                 gpu_probe: Callable[[], GpuCapability] = detect_gpu, *, safe_load: bool = True,
                 library: Library | None = None) -> None:
        # safe_load: test-load each new file in a child process first (text_probe).
        # library: where loaded models are listed (Services passes its one; None: the data root's at load).
        self._history = history
        self._library = library
        self._safe_load = safe_load
        self._gpu_probe = gpu_probe
        self._lock = threading.RLock()
        self._llm: Any = None
        self._builder: PromptBuilder | None = None
        self._loaded: LoadedModel | None = None
        self._hold: ModelHold | None = None  # tells other GenLab processes the model is loaded
        self._canonical: list[int] = []  # cached tokens a fresh context would hold the same (text_stream)
        self._prompt: PromptState | None = None  # the last prompt, to skip evaluating it when asked again

    # --- state -------------------------------------------------------------
    @property
    def loaded(self) -> LoadedModel | None:
        return self._loaded

    def _sink(self) -> HistorySink:
        history = self._history
        if history is None:
            return NullSink()
        return history() if callable(history) and not hasattr(history, "save") else history

    def is_loaded(self, path: Path) -> bool:
        """Whether ``path`` is the loaded model (for the library's delete guard)."""
        loaded = self._loaded
        return loaded is not None and Path(path).resolve() == loaded.path.resolve()

    @staticmethod
    def inspect(path: Path) -> GgufInfo:
        """Read and validate a file's metadata without loading it."""
        return read_gguf_info(Path(path))

    def plan(self, info: GgufInfo, options: LoadOptions,
             gpu: GpuCapability | None = None) -> tuple[int, GpuPlan]:
        """(context size, GPU plan) that ``load`` would use for this file."""
        n_ctx = options.n_ctx or min(info.context_length or FALLBACK_CONTEXT, DEFAULT_MAX_CONTEXT)
        gpu = gpu or self._gpu_probe()
        return n_ctx, plan_gpu_layers(info, gpu, n_ctx=n_ctx, requested=options.n_gpu_layers)

    # --- load / unload -----------------------------------------------------
    def load(self, path: Path, options: LoadOptions | None = None, *, cancel: CancelToken | None = None,
             progress: ProgressCallback = no_progress) -> LoadedModel:
        """Load ``path`` (unloading any other model first); a job function."""
        cancel = cancel or CancelToken()
        options = (options or LoadOptions()).validated()
        path = Path(path)
        progress(Progress(None, f"Reading {path.name}"))
        info = read_gguf_info(path)
        cancel.raise_if_cancelled()
        with self._lock:
            current = self._loaded
            if current is not None and current.info.path == path and current.options == options \
                    and current.info.file_size == info.file_size:
                return current
        hold = hold_model(path)  # before hashing: a delete from elsewhere now waits for our unload
        try:
            loaded = self._load_held(path, info, options, cancel, progress, hold)
        except BaseException:
            hold.release()
            raise
        # Listed (a file opened by path as a link) and stamped as used, so a re-run finds it by sha256.
        (self._library or Library()).register_opened(path, sha256=loaded.sha256)
        return loaded

    def _load_held(self, path: Path, info: GgufInfo, options: LoadOptions, cancel: CancelToken,
                   progress: ProgressCallback, hold: ModelHold) -> LoadedModel:
        from desktop.core.models.hashing import model_sha256

        try:
            sha = model_sha256(path, cancel=cancel, progress=progress)
        except OSError as exc:
            raise ModelFileError(f"Cannot read {path.name}: {exc.strerror or exc}.",
                                 "Check that the file still exists and is readable.") from exc
        if self._safe_load:
            from desktop.core.text.probe import ensure_loadable

            progress(Progress(None, f"Checking {path.name}"))
            ensure_loadable(path, sha, cancel=cancel)
        gpu = self._gpu_probe()
        n_ctx, gpu_plan = self.plan(info, options, gpu)
        cancel.raise_if_cancelled()
        with self._lock:
            self.unload()  # free the old model before the new one needs the memory
            progress(Progress(None, f"Loading {path.name} ({gpu_plan.reason})"))
            start = time.perf_counter()
            llm = self._construct(path, n_ctx, options.n_threads, gpu_plan.n_gpu_layers)
            load_s = time.perf_counter() - start
            if cancel.cancelled:  # llama.cpp cannot be interrupted mid-load; honour it now
                llm.close()
                raise JobCancelled()
            builder = self._make_builder(llm, info, n_ctx)
            device = "cpu" if gpu_plan.n_gpu_layers == 0 else f"{gpu.backend}:{gpu.name}".rstrip(":")
            self._llm, self._builder, self._hold = llm, builder, hold
            self._canonical, self._prompt = [], None
            self._loaded = LoadedModel(
                info=info, sha256=sha, n_ctx=n_ctx, n_threads=int(llm.n_threads or 0), gpu=gpu_plan,
                device=device, load_s=load_s, chat_available=builder.has_chat,
                template_note="" if builder.has_chat else builder.template_note, options=options)
            progress(Progress(1.0, f"Loaded {path.name}"))
            return self._loaded

    @staticmethod
    def _construct(path: Path, n_ctx: int, n_threads: int, n_gpu_layers: int) -> Any:
        import jinja2
        import llama_cpp

        quiet = _std_fds_usable()
        try:
            llm = llama_cpp.Llama(model_path=str(path), n_ctx=n_ctx, n_threads=n_threads or None,
                                  n_gpu_layers=n_gpu_layers, verbose=not quiet)
        except jinja2.TemplateSyntaxError as exc:  # llama-cpp-python compiles the template on load
            raise ModelFileError(f"{path.name} has a chat template that is not valid Jinja ({exc}), "
                                 "so llama-cpp-python cannot load it.",
                                 "Use a fixed version of the model file.") from exc
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelFileError(
                f"llama.cpp could not load {path.name}: {exc}.",
                "The file may be damaged, or made for a model type this llama.cpp does not support.") from exc
        if not quiet:  # verbose was only to avoid dup2; keep llama.cpp quiet from now on
            logging.getLogger("llama-cpp-python").setLevel(logging.ERROR)
        return llm

    @staticmethod
    def _make_builder(llm: Any, info: GgufInfo, n_ctx: int) -> PromptBuilder:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        def tokenize(data: bytes, add_bos: bool, special: bool) -> list[int]:
            return llm.tokenize(data, add_bos=add_bos, special=special)

        formatter, note = None, ""
        if info.chat_template:
            eos_id, bos_id = llm.token_eos(), llm.token_bos()
            eos = llm._model.token_get_text(eos_id) if eos_id != -1 else ""
            bos = llm._model.token_get_text(bos_id) if bos_id != -1 else ""
            try:
                formatter = Jinja2ChatFormatter(template=info.chat_template, eos_token=eos, bos_token=bos,
                                                stop_token_ids=[eos_id])
            except Exception as exc:  # a template Jinja cannot parse
                note = f"The model's chat template could not be read ({exc}); using plain completion."
        return PromptBuilder(tokenize, n_ctx, formatter, note)

    def unload(self) -> None:
        """Free the loaded model (no-op when none)."""
        with self._lock:
            llm, self._llm, self._builder, self._loaded = self._llm, None, None, None
            hold, self._hold = self._hold, None
            if llm is not None:
                llm.close()
                del llm
                gc.collect()
            if hold is not None:  # after the memory map is gone
                hold.release()

    def close(self) -> None:
        self.unload()

    # --- generation ----------------------------------------------------------
    def prepare(self, request: TextRequest) -> PromptPlan:
        """Validate and tokenize ``request``; raises ContextOverflow before any generation."""
        request.validated()
        with self._lock:
            if self._builder is None:
                raise ModelFileError("No model is loaded.", "Load a GGUF model first.")
            return self._builder.build(request)

    def generate(self, request: TextRequest, *, cancel: CancelToken | None = None,
                 progress: ProgressCallback = no_progress, sink: HistorySink | None = None) -> TextResult:
        """Stream a reply; a job function.  Progress payloads are StreamChunks.

        ``sink``: where this one reply's record goes instead of the engine's history (a served request's).
        """
        cancel = cancel or CancelToken()
        request.validated()
        params = request.sampling.with_seed()
        with self._lock:
            loaded, llm, builder = self._loaded, self._llm, self._builder
            if loaded is None or llm is None or builder is None:
                raise ModelFileError("No model is loaded.", "Load a GGUF model first.")
            plan = builder.build(request)
            cancel.raise_if_cancelled()
            fresh = request.fresh_context
            reuse = 0 if fresh else reusable_prefix(self._canonical, plan.tokens, int(llm.n_batch))
            cached = None if fresh else self._prompt
            self._canonical, self._prompt = [], None  # until the cache holds this prompt
            outcome = stream_tokens(llm, plan.tokens, params, plan.stop, cancel=cancel, progress=progress,
                                    reuse=reuse, cached=cached)
            self._canonical, self._prompt = canonical_tokens(llm, plan.tokens), outcome.prompt
        if outcome.finish_reason == "cancelled" and not request.keep_partial:
            raise JobCancelled()
        if request.reply_so_far:  # a continuation: the reply is the text before it and the new tokens
            outcome = replace(outcome, text=request.reply_so_far + outcome.text)
        result = TextResult(
            text=outcome.text, finish_reason=outcome.finish_reason, mode=plan.mode,
            prompt_tokens=len(plan.tokens), completion_tokens=outcome.completion_tokens,
            ttft_s=outcome.ttft_s, total_s=outcome.total_s, tokens_per_s=outcome.tokens_per_s,
            n_ctx=loaded.n_ctx, seed=params.seed, mode_note=plan.mode_note, other_note=plan.fit_note)
        record = self._record(request, params, plan, outcome, loaded)
        result.record, result.record_id = record, record.id
        try:
            (sink if sink is not None else self._sink()).save(record)
        except Exception as exc:  # a full disk must not lose the reply on screen
            log.exception("could not save the generation to the history")
            result.other_note = f"{result.other_note} Not saved to the history: {exc}".strip()
        return result

    @staticmethod
    def _record(request: TextRequest, params: Any, plan: PromptPlan, outcome: StreamOutcome,
                loaded: LoadedModel) -> GenerationRecord:
        info = loaded.info
        parameters = params.to_dict()
        parameters.update(mode=plan.mode, n_ctx=loaded.n_ctx, n_threads=loaded.n_threads,
                          n_gpu_layers=loaded.gpu.n_gpu_layers, finish_reason=outcome.finish_reason,
                          dropped_turns=plan.dropped_turns, history_messages=len(plan.history),
                          engine_note=plan.note)
        if request.continues_record:
            parameters["continues"] = request.continues_record
        return GenerationRecord(
            kind="text", prompt=request.prompt, session_id=request.thread_id, parent_id=request.parent_id,
            system_prompt=request.system_prompt, output_text=outcome.text,
            model=ModelIdentity(name=info.name, file=info.path.name, sha256=loaded.sha256,
                                size=info.file_size, quantization=info.file_type),
            parameters=parameters, seed=params.seed,
            timings={"ttft_s": outcome.ttft_s, "total_s": outcome.total_s,
                     "tokens_per_s": outcome.tokens_per_s, "prompt_tokens": len(plan.tokens),
                     "cached_prompt_tokens": outcome.cached_tokens,
                     "completion_tokens": outcome.completion_tokens, "load_s": loaded.load_s},
            device=loaded.device, versions=versions(),
        )
