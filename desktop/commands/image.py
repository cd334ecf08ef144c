"""``genlab image``: make images headless with the same engine as the Images workspace.

    genlab image --model PATH_OR_LIBRARY_ID --prompt TEXT [--negative TEXT] [--steps N]
                 [--guidance G] [--width W --height H] [--seed S] [--scheduler NAME]
                 [--batch N] [--init IMAGE --strength X] [--lora NAME_OR_PATH[:WEIGHT]]...
                 [--embedding NAME_OR_PATH]...
                 [--mask FILE [--mask-blur PX] | --outpaint L,T,R,B] [--hires SCALE:STRENGTH
                 [--hires-upscaler latent|bicubic|lanczos]] [--out FILE] [--no-history] [--json]

Unset options take the model family's defaults (SDXL 1024 px, Turbo 1 step
with guidance 0...).  Progress goes to stderr; the saved path(s), or one JSON
object with ``--json``, go to stdout.  Bad input exits with status 2 and one
``error: ...`` line.

With incognito on (in the app's settings) nothing is recorded and the PNG
carries no prompt or parameters; GenLab keeps no image of its own then, so
``--out`` must name the file.

``--lora`` (repeatable) applies a LoRA at a weight (1 when omitted), like
``<lora:name:0.8>`` in the prompt, which works too.

Textual-inversion embeddings work as in A1111: write an embedding's name
(its file name without ``.safetensors``) in the prompt or the negative prompt
and it is used, when it is in the library or in ``<models dir>/embeddings``.
``--embedding`` (repeatable) adds one from anywhere else; its token still has
to be in a prompt to change anything.

``--mask`` (white = repaint) inpaints the ``--init`` image; ``--outpaint``
extends it by L,T,R,B pixels and paints the new area (strength 1 unless
``--strength`` says otherwise).  Both work at the init image's size unless
``--width``/``--height`` are given; the rest of the picture keeps its pixels.
``--hires 2:0.5`` makes the image, enlarges it 2x and denoises it again at
strength 0.5 (A1111's "hires fix").

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


def _init_size(path: str, multiple: int) -> tuple[int, int] | None:
    """The init image's size rounded to the family's size step (None: unreadable; the engine says why)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            width, height = img.size
    except (UnidentifiedImageError, OSError, ValueError):
        return None
    def rounded(side: int) -> int:
        return max(multiple, (side + multiple // 2) // multiple * multiple)

    return rounded(width), rounded(height)


def _params_from_args(args: argparse.Namespace, model: Path):
    from desktop.core.errors import InvalidParameter
    from desktop.core.image.hires import parse_hires
    from desktop.core.image.model_files import inspect_model
    from desktop.core.image.outpaint import parse_pads
    from desktop.core.image.params import EmbeddingChoice, default_params, defaults_for

    if args.mask and not args.init:
        raise InvalidParameter("--mask needs --init: the mask marks what to repaint in that image.",
                               "Add --init IMAGE (white in the mask = repaint, black = keep).")
    if args.outpaint and not args.init:
        raise InvalidParameter("--outpaint needs --init: it extends that image.", "Add --init IMAGE.")
    info = inspect_model(model)
    overrides = {
        "prompt": args.prompt, "negative_prompt": args.negative or "", "seed": args.seed,
        "batch_count": args.batch, "init_image": args.init or "",
        "loras": [lora_option(text) for text in args.lora or []],
        "embeddings": [EmbeddingChoice(path=text, name=text) for text in args.embedding or []],
        "mask_image": args.mask or "",
    }
    if args.outpaint:
        overrides["outpaint"] = list(parse_pads(args.outpaint))
        overrides["strength"] = 1.0  # the new area starts as noise-filled edges: repaint it fully
    if args.hires:
        overrides["hires_scale"], overrides["hires_strength"] = parse_hires(args.hires)
        overrides["hires_method"] = args.hires_upscaler
    if (args.mask or args.outpaint) and args.width is None and args.height is None:
        size = _init_size(args.init, defaults_for(info.family, lcm=info.lcm).size_multiple)
        if size is not None:
            overrides["width"], overrides["height"] = size
    for name, value in (("steps", args.steps), ("guidance", args.guidance), ("width", args.width),
                        ("height", args.height), ("scheduler", args.scheduler), ("strength", args.strength),
                        ("mask_blur", args.mask_blur)):
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
    p.add_argument("--embedding", action="append", metavar="NAME_OR_PATH",
                   help="use a textual-inversion embedding (.safetensors path or library name) where its token "
                        "is in the prompt; embeddings in the library are found from the prompt without it; "
                        "repeatable")
    p.add_argument("--mask", metavar="FILE", help="inpaint: a PNG mask of the --init image, white = repaint")
    p.add_argument("--mask-blur", type=int, metavar="PX", help="feather of the mask's edge in px (default 4)")
    p.add_argument("--outpaint", metavar="L,T,R,B", help="extend the --init image by these pixels and paint them")
    p.add_argument("--hires", metavar="SCALE:STRENGTH",
                   help="hires fix: enlarge by SCALE (1 < SCALE <= 4) and denoise again at STRENGTH (0 < S <= 1)")
    p.add_argument("--hires-upscaler", choices=("latent", "bicubic", "lanczos"), default="lanczos",
                   help="how the hires fix enlarges: the latents, or the pixels (default lanczos)")
    p.add_argument("--out", help="save the PNG here instead of the outputs folder")
    p.add_argument("--no-history", action="store_true", help="do not record in the history")
    p.add_argument("--json", action="store_true", help="print one JSON object with the results")
    p.set_defaults(func=run)
