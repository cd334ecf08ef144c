"""``genlab history rerun ID [--json] [--no-history]``: make a record again, exactly, and check it.

A text record is generated again with its conversation (the earlier records
of its thread), system prompt, mode, sampling parameters and seed, on the
library's file with the record's sha256, in a fresh context; an image record
with its parameters and seed; an upscaled image with the same upscaler file
and source image (both found by sha256) and tiling.  What could make the output differ (another
device, GenLab or library version) is said on stderr before it runs.  The
new output is compared with the recorded one, text byte for byte, images
pixel for pixel: exit 0 when it matches, 1 with a diff summary when not, 2
with one ``error:`` line when the record or its model cannot be found.  Like
a re-run in the app, the new output is recorded (not with ``--no-history``
or in incognito).
"""

from __future__ import annotations

import argparse
import json
import sys

from desktop.commands._shared import WaitingSink
from desktop.core.jobs import CancelToken, Progress
from desktop.core.records import GenerationRecord, HistorySink, NullSink, new_id


def register(sub) -> None:
    rerun = sub.add_parser("rerun", help="make a record again exactly and say whether it matches",
                           description=__doc__.split("\n\n", 1)[1],
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    rerun.add_argument("id")
    rerun.add_argument("--json", action="store_true", help="print one JSON object with the verdict")
    rerun.add_argument("--no-history", action="store_true", help="do not record the new output")


def run(args: argparse.Namespace) -> int:
    from desktop.core.history.rerun import rerun_model_path
    from desktop.core.history.store import HistoryStore
    from desktop.core.services import Services

    services = Services()
    store = HistoryStore(embedder=None)
    try:
        record = store.get(args.id)
        if record.kind not in ("text", "image"):
            print(f"error: A {record.kind!r} record cannot be re-run.", file=sys.stderr)
            return 2
        from desktop.core.image.upscale import is_upscale_record

        upscaled = is_upscale_record(record)  # no library model: the upscaler is found by sha256
        model_path = "" if upscaled else rerun_model_path(record, services.library)
        private = services.settings.history.incognito
        sink: HistorySink = NullSink() if args.no_history or private else WaitingSink(store)
        if upscaled:
            outcome = _rerun_upscale(record, sink, private, quiet=args.json)
        elif record.kind == "text":
            outcome = _rerun_text(services, store, record, model_path, sink, quiet=args.json)
        else:
            outcome = _rerun_image(services, record, model_path, sink, private, quiet=args.json)
    finally:
        services.close()
        store.close()
    output, check, warnings, new_record = outcome
    if args.json:
        print(json.dumps({"id": record.id, "kind": record.kind, "matches": check.matches, "diff": check.diff,
                          "warnings": warnings, "output": output,
                          "new_id": new_record.id if new_record is not None else ""}, ensure_ascii=False))
    elif check.matches:
        print(f"The re-run of {record.id} matches the recorded output.")
    else:
        print(f"The re-run of {record.id} differs from the recorded output:\n{check.diff}".rstrip())
    return 0 if check.matches else 1


def _warn(warnings: list[str], quiet: bool) -> None:
    if not quiet:
        for warning in warnings:
            print(f"warning: {warning}", file=sys.stderr)


def _rerun_text(services, store, record: GenerationRecord, model_path: str, sink: HistorySink, *, quiet: bool):
    from desktop.core.history.rerun import (
        chain_lookup,
        compare_text,
        exactness_warnings,
        record_chain,
        text_rerun_request,
    )
    from desktop.core.knowledge.grounding import recorded_knowledge
    from desktop.core.text.engine import LoadOptions, TextEngine, versions

    chain, complete = record_chain(record, chain_lookup(store))
    warnings = [] if complete else ["Some earlier turns of this conversation are no longer in the history, "
                                    "so the output may differ."]
    params = record.parameters or {}
    options = LoadOptions(n_ctx=int(params.get("n_ctx") or 0), n_threads=int(params.get("n_threads") or 0),
                          n_gpu_layers=int(params.get("n_gpu_layers", services.settings.text.n_gpu_layers)))
    engine = TextEngine(history=sink, library=services.library)
    try:
        loaded = engine.load(model_path, options, cancel=CancelToken(), progress=_quiet)
        warnings += exactness_warnings(record, versions=versions(), device=loaded.device)
        _warn(warnings, quiet)
        request = text_rerun_request(chain)
        if recorded_knowledge(record) is None:
            result = engine.generate(request, cancel=CancelToken(), progress=_quiet)
        else:  # a grounded reply: the same chunks again, by id
            result = _rerun_grounded(store, engine, record, request, sink, warnings, quiet)
    finally:
        engine.close()
    return result.text, compare_text(record.output_text, result.text), warnings, result.record


def _rerun_grounded(store, engine, record: GenerationRecord, request, sink: HistorySink, warnings: list[str],
                    quiet: bool):
    """Regenerate a grounded reply with the chunks it recorded; a chunk deleted since is said as a warning."""
    from desktop.core.knowledge.budget import EngineBudget
    from desktop.core.knowledge.errors import KnowledgeError
    from desktop.core.knowledge.grounding import grounded_generate, reground
    from desktop.core.knowledge.store import Knowledge

    knowledge = Knowledge(embedder=None, history=store)
    try:
        grounding = reground(record, request, knowledge, EngineBudget(engine))
    finally:
        knowledge.close()
    if grounding.missing:
        warnings.append(f"{grounding.message} {grounding.hint}")
        _warn(warnings[-1:], quiet)
    if not grounding.generate:
        raise KnowledgeError(grounding.message, grounding.hint)
    return grounded_generate(engine, grounding, sink=sink, cancel=CancelToken(), progress=_quiet)


def _rerun_image(services, record: GenerationRecord, model_path: str, sink: HistorySink, private: bool, *,
                 quiet: bool):
    from desktop.core.history.rerun import compare_images, exactness_warnings, image_rerun_params
    from desktop.core.image.engine import ImageEngine, ImageRequest

    engine = ImageEngine(services.settings.image, library=services.library)
    try:
        loaded = engine.load(model_path, cancel=CancelToken(), progress=_quiet)
        warnings = exactness_warnings(record, versions=dict(loaded.versions), device=loaded.device)
        _warn(warnings, quiet)
        request = ImageRequest(model_path, image_rerun_params(record), session_id=new_id(), previews=False,
                               private=private)
        result = engine.generate(request, cancel=CancelToken(), progress=_quiet, sink=sink)
    finally:
        engine.close()
    image = result.images[0]
    warnings += result.warnings
    return str(image.path), compare_images(record.image_path, image.path), warnings, image.record


def _rerun_upscale(record: GenerationRecord, sink: HistorySink, private: bool, *, quiet: bool):
    from desktop.core.history.rerun import compare_images, exactness_warnings
    from desktop.core.image.upscale import load_upscaler, rerun_inputs, upscale_file, upscaler_versions

    inputs = rerun_inputs(record)
    upscaler = load_upscaler(inputs.upscaler_path)
    warnings = exactness_warnings(record, versions=upscaler_versions(), device=upscaler.device)
    _warn(warnings, quiet)
    result = upscale_file(upscaler, inputs.source_path, tile=inputs.tile, pad=inputs.pad, private=private,
                          cancel=CancelToken(), progress=_quiet)
    sink.save(result.record)
    return str(result.path), compare_images(record.image_path, result.path), warnings, result.record


def _quiet(_: Progress) -> None:
    pass
