"""``genlab image``: make images headless with the same engine as the Images workspace.

    genlab image --model PATH_OR_LIBRARY_ID --prompt TEXT [--negative TEXT] [--steps N]
                 [--guidance G] [--width W --height H] [--seed S] [--scheduler NAME]
                 [--batch N] [--init IMAGE --strength X] [--lora NAME_OR_PATH[:WEIGHT]]...
                 [--out FILE] [--no-history] [--json]

Unset options take the model family's defaults (SDXL 1024 px, Turbo 1 step
with guidance 0...).  Progress goes to stderr; the saved path(s), or one JSON
object with ``--json``, go to stdout.  Bad input exits with status 2 and one
``error: ...`` line.

With incognito on (in the app's settings) nothing is recorded and the PNG
carries no prompt or parameters; GenLab keeps no image of its own then, so
``--out`` must name the file.

``--lora`` (repeatable) applies a LoRA at a weight (1 when omitted), like
``<lora:name:0.8>`` in the prompt, which works too.

Each command is one history session: the images of a ``--batch`` share its id.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from desktop.commands._shared import WaitingSink, resolve_model
from desktop.core.errors import GenLabError
from desktop.core.jobs import CancelToken, Progress
from desktop.core.records import NullSink, new_id


def lora_option(text: str):
    """``NAME_OR_PATH[:WEIGHT]`` -> a LoraChoice (a colon not followed by a number is part of the path)."""
    from desktop.core.image.params import LoraChoice

    head, sep, tail = text.rpartition(":")
    if sep and head:
        try:
            return LoraChoice(path=head, weight=float(tail), name=head)
        except ValueError:
            pass
    return LoraChoice(path=text, weight=1.0, name=text)


def _params_from_args(args: argparse.Namespace, model: Path):
    from desktop.core.image.model_files import inspect_model
    from desktop.core.image.params import default_params

    info = inspect_model(model)
    overrides = {
        "prompt": args.prompt, "negative_prompt": args.negative or "", "seed": args.seed,
        "batch_count": args.batch, "init_image": args.init or "",
        "loras": [lora_option(text) for text in args.lora or []],
    }
    for name, value in (("steps", args.steps), ("guidance", args.guidance), ("width", args.width),
                        ("height", args.height), ("scheduler", args.scheduler), ("strength", args.strength)):
        if value is not None:
            overrides[name] = value
    return default_params(info.family, lcm=info.lcm, **overrides)


class _StderrProgress:
    """One self-overwriting status line on stderr."""

    def __init__(self) -> None:
        self.used = False

    def __call__(self, report: Progress) -> None:
        from desktop.core.image.preview import StepPreview

        if isinstance(report.payload, StepPreview) or report.payload is None:
            self.used = True
            print(f"\r{report.message[:70]:<70}", end="", file=sys.stderr, flush=True)

    def end_line(self) -> None:
        if self.used:
            print(file=sys.stderr)
            self.used = False


def run(args: argparse.Namespace) -> int:
    from desktop.core.image.engine import ImageEngine, ImageRequest
    from desktop.core.settings import load_settings

    status = _StderrProgress()
    try:
        model = resolve_model(args.model, (".safetensors", ".ckpt", ".pt", ".pth", ".bin"))
        params = _params_from_args(args, model)
        settings, _ = load_settings()
        private = settings.history.incognito
        if private and not args.out:
            raise GenLabError("Incognito is on, so GenLab keeps no image of its own: name the file with --out.",
                              "Or turn incognito off in the app's Preferences.")
        store = None
        if args.no_history or private:
            sink = NullSink()
        else:
            from desktop.core.history import open_history

            store = open_history(start_embedder=False)
            sink = WaitingSink(store)
        engine = ImageEngine(settings.image)
        request = ImageRequest(str(model), params, out_file=args.out or "", private=private, session_id=new_id())
        try:
            result = engine.generate(request, cancel=CancelToken(), sink=sink,
                                     progress=_no_progress if args.json else status)
        finally:
            engine.close()
            if store is not None:
                store.close()
    except GenLabError as exc:
        status.end_line()
        print(f"error: {exc}", file=sys.stderr)
        return 2
    status.end_line()
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.json:
        print(json.dumps({
            "images": [{"path": str(i.path), "thumbnail": i.thumbnail_path and str(i.thumbnail_path),
                        "seed": i.seed, "id": i.record.id, "sha256": i.record.image_sha256, "timings": i.record.timings}
                       for i in result.images],
            "model": {"name": result.images[0].record.model.name, "sha256": result.images[0].record.model.sha256},
            "parameters": {k: v for k, v in result.images[0].record.parameters.items() if k != "batch_index"},
            "session_id": request.session_id, "warnings": result.warnings,
        }, ensure_ascii=False))
    else:
        for image in result.images:
            print(f"{image.path}  (seed {image.seed})")
    return 0


def _no_progress(_: Progress) -> None:
    pass


def register(subparsers) -> None:
    p = subparsers.add_parser("image", help="generate images with a Stable Diffusion model",
                              description="Generate images; unset options use the model family's defaults.")
    p.add_argument("--model", required=True, help="a diffusers folder, a .safetensors file, or a library id/name")
    p.add_argument("--prompt", required=True, help="what to draw (empty is allowed, with a warning)")
    p.add_argument("--negative", help="what to avoid")
    p.add_argument("--steps", type=int)
    p.add_argument("--guidance", type=float, help="classifier-free guidance scale (CFG)")
    p.add_argument("--width", type=int)
    p.add_argument("--height", type=int)
    p.add_argument("--seed", type=int, help="random when omitted; always printed and recorded")
    p.add_argument("--scheduler", help="Default, Euler, 'Euler a', 'DPM++ 2M', 'DPM++ 2M Karras', DDIM, LCM, UniPC")
    p.add_argument("--batch", type=int, default=1, help="number of images (seeds S, S+1, ...)")
    p.add_argument("--init", help="init image for image-to-image")
    p.add_argument("--strength", type=float, help="img2img strength, 0 < X <= 1")
    p.add_argument("--lora", action="append", metavar="NAME_OR_PATH[:WEIGHT]",
                   help="apply a LoRA (.safetensors path or library name) at WEIGHT (default 1); repeatable")
    p.add_argument("--out", help="save the PNG here instead of the outputs folder")
    p.add_argument("--no-history", action="store_true", help="do not record in the history")
    p.add_argument("--json", action="store_true", help="print one JSON object with the results")
    p.set_defaults(func=run)
