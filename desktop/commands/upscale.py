"""``genlab upscale``: enlarge images with a model upscaler (Real-ESRGAN, SwinIR, HAT...).

    genlab upscale IMAGE... --model NAME_OR_PATH [--tile PX] [--pad PX] [--out FILE]
                   [--no-history] [--json]

The model is a ``.safetensors`` or ``.pth`` file (a ``.pth`` is read with
``torch.load(weights_only=True)`` and refused if it holds more than tensors),
a library model, or a file name in ``<models dir>/upscalers``.  Each image is
saved as a new PNG and recorded in the history (its prompt and seed carried
over from the image's own GenLab record); the source is never changed.
``--tile`` (default 512, 0 = whole image) bounds the memory a big image
needs; each tile sees ``--pad`` pixels of its neighbours, so there is no seam.

Model upscalers need the optional ``upscale`` extra (spandrel); without it
the command says so and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from desktop.commands._shared import ProgressLine, WaitingSink
from desktop.core.errors import GenLabError
from desktop.core.jobs import CancelToken


def run(args: argparse.Namespace) -> int:
    from desktop.core.image.upscale import check_tiling, find_upscaler, load_upscaler, spandrel_module, upscale_file
    from desktop.core.settings import load_settings

    results = []
    store = None
    try:
        spandrel_module()  # says what to install before anything else is checked
        check_tiling(args.tile, args.pad)
        if args.out and len(args.images) > 1:
            raise GenLabError("--out names one file, but several images were given.",
                              "Leave --out out to save each next to the other generated images.")
        settings, _ = load_settings()
        private = settings.history.incognito
        if private and not args.out:
            raise GenLabError("Incognito is on, so GenLab keeps no image of its own: name the file with --out.",
                              "Or turn incognito off in the app's Preferences.")
        upscaler = load_upscaler(find_upscaler(args.model))
        if not (args.no_history or private):
            from desktop.core.history import open_history

            store = open_history(start_embedder=False)
        progress = ProgressLine()
        for source in args.images:
            result = upscale_file(upscaler, source, out=args.out or "", tile=args.tile, pad=args.pad,
                                  private=private, cancel=CancelToken(), progress=progress)
            if store is not None:
                WaitingSink(store).save(result.record)
            results.append(result)
    except GenLabError as exc:
        print(f"\nerror: {exc}", file=sys.stderr)
        return 2
    finally:
        if store is not None:
            store.close()
    if args.json:
        print(json.dumps({"images": [{"path": str(r.path), "id": r.record.id, "sha256": r.record.image_sha256,
                                      "source": r.record.parameters["source_image"],
                                      "size": r.record.parameters["size"], "timings": r.record.timings}
                                     for r in results],
                          "upscaler": results[0].record.parameters["upscaler"] if results else None},
                         ensure_ascii=False))
    else:
        print(file=sys.stderr)
        for r in results:
            width, height = r.record.parameters["size"]
            print(f"{r.path}  ({width}x{height}, from {Path(r.record.parameters['source_image']).name})")
    return 0


def register(subparsers) -> None:
    from desktop.core.image.upscale import DEFAULT_PAD, DEFAULT_TILE

    p = subparsers.add_parser("upscale", help="enlarge images with a model upscaler (Real-ESRGAN, SwinIR...)",
                              description="Enlarge images with an upscaling model; each result is a new PNG "
                                          "recorded in the history.")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="the image file(s) to upscale")
    p.add_argument("--model", required=True,
                   help="a .safetensors/.pth upscaler, a library model, or a name in <models dir>/upscalers")
    p.add_argument("--tile", type=int, default=DEFAULT_TILE,
                   help=f"tile side in input pixels (default {DEFAULT_TILE}; 0 = the whole image at once)")
    p.add_argument("--pad", type=int, default=DEFAULT_PAD,
                   help=f"context pixels around each tile, cut off afterwards (default {DEFAULT_PAD})")
    p.add_argument("--out", help="save the PNG here (one image only) instead of the outputs folder")
    p.add_argument("--no-history", action="store_true", help="do not record in the history")
    p.add_argument("--json", action="store_true", help="print one JSON object with the results")
    p.set_defaults(func=run)
