"""``genlab text``: run a GGUF language model headless with the Chat workspace's engine.

    genlab text --model PATH_OR_LIBRARY_ID --prompt TEXT [--system TEXT] [--max-tokens N]
                [--temperature T] [--top-p P] [--top-k K] [--min-p P] [--repeat-penalty R]
                [--seed S] [--stop TEXT ...] [--chat|--completion] [--ctx N] [--threads N]
                [--gpu-layers N] [--no-history] [--json]
                [--knowledge NAME ...] [--k N] [--threshold T] [--no-context answer|stop]

The reply streams to stdout as it is generated; with ``--json`` one JSON
object (text, token counts, ttft_ms, tokens_per_s, model sha256, history id
and session id...) is printed at the end instead.  Notes (no chat template,
GPU plan) go to stderr.  Bad input exits with status 2 and one ``error: ...``
line.  Each command is one history session, like a thread in the Chat
workspace.

With ``--knowledge`` the reply is grounded in those document collections (or
``history``): see :mod:`desktop.commands.text_knowledge`; the reply is followed
by its sources, and ``--json`` adds them under ``knowledge``.
"""

from __future__ import annotations

import argparse
import json
import sys

from desktop.commands import text_knowledge
from desktop.commands._shared import WaitingSink, resolve_model
from desktop.core.errors import GenLabError
from desktop.core.jobs import CancelToken, Progress
from desktop.core.records import NullSink, new_id


def _sampling(args: argparse.Namespace):
    from desktop.core.text.params import SamplingParams

    return SamplingParams.given(
        temperature=args.temperature, top_k=args.top_k, top_p=args.top_p, min_p=args.min_p,
        repeat_penalty=args.repeat_penalty, max_tokens=args.max_tokens, seed=args.seed,
        stop=list(args.stop or []),
    ).validated()


def _stream_to_stdout(report: Progress) -> None:
    chunk = getattr(report.payload, "text", "")
    if chunk:
        sys.stdout.write(chunk)
        sys.stdout.flush()


def _quiet(_: Progress) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    from desktop.core.settings import load_settings
    from desktop.core.text.engine import LoadOptions, TextEngine
    from desktop.core.text.prompt import TextRequest

    store = None
    engine = None
    knowledge = None
    grounding = None
    try:
        request = TextRequest(args.prompt, system_prompt=args.system or "",
                              mode="chat" if args.chat else "completion" if args.completion else "auto",
                              sampling=_sampling(args), thread_id=new_id()).validated()
        grounded = text_knowledge.options(args) if args.knowledge else None
        settings, _ = load_settings()
        options = LoadOptions(
            n_ctx=settings.text.context_size if args.ctx is None else args.ctx,
            n_threads=settings.text.threads if args.threads is None else args.threads,
            n_gpu_layers=settings.text.n_gpu_layers if args.gpu_layers is None else args.gpu_layers,
        )
        saving = not (args.no_history or settings.history.incognito)
        if saving or grounded is not None:  # grounding reads the collections beside the history
            from desktop.core.history import open_history

            store = open_history(start_embedder=False)
        sink = WaitingSink(store) if saving else NullSink()
        if grounded is not None:
            knowledge = text_knowledge.open_knowledge(store)
            for name in grounded.collections:  # an unknown name fails before the model loads
                knowledge.get(name)
        model = resolve_model(args.model, (".gguf",))
        engine = TextEngine(history=sink)
        loaded = engine.load(model, options)
        if not args.json:
            print(f"[{loaded.info.name}: {loaded.gpu.reason}]", file=sys.stderr)
        progress = _quiet if args.json else _stream_to_stdout
        if grounded is None:
            result = engine.generate(request, cancel=CancelToken(), progress=progress)
        else:
            from desktop.core.knowledge.budget import EngineBudget
            from desktop.core.knowledge.errors import KnowledgeError
            from desktop.core.knowledge.grounding import Outcome, ground, grounded_generate

            assert knowledge is not None
            grounding = ground(request, grounded, knowledge, EngineBudget(engine))
            if grounding.outcome is Outcome.CONTEXT_TOO_SMALL:
                raise KnowledgeError(grounding.message, grounding.hint)
            text_knowledge.say_outcome(grounding, quiet=args.json)
            if not grounding.generate:
                if args.json:
                    print(json.dumps({"text": "", "knowledge": grounding.to_dict()}, ensure_ascii=False))
                else:
                    print(f"note: {grounding.message} {grounding.hint}", file=sys.stderr)
                return 1
            result = grounded_generate(engine, grounding, sink=sink, cancel=CancelToken(), progress=progress)
    except GenLabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    finally:
        if engine is not None:
            engine.close()
        if knowledge is not None:
            knowledge.close()
        if store is not None:
            store.close()
    report = None
    if grounding is not None:
        from desktop.core.knowledge.citations import parse_citations

        report = parse_citations(result.text, grounding.sources)
    if args.json:
        data = {
            "text": result.text, "finish_reason": result.finish_reason, "mode": result.mode,
            "prompt_tokens": result.prompt_tokens, "completion_tokens": result.completion_tokens,
            "ttft_ms": round(result.ttft_s * 1000, 3), "tokens_per_s": round(result.tokens_per_s, 3),
            "seed": result.seed, "n_ctx": result.n_ctx, "note": result.note, "id": result.record_id,
            "session_id": request.thread_id,
            "model": {"name": loaded.info.name, "file": loaded.path.name, "sha256": loaded.sha256,
                      "quantization": loaded.info.file_type},
            "n_gpu_layers": loaded.gpu.n_gpu_layers, "device": loaded.device,
        }
        if grounding is not None and report is not None:
            data["knowledge"] = text_knowledge.to_json(grounding, report)
        print(json.dumps(data, ensure_ascii=False))
    else:
        print()
        if grounding is not None and report is not None:
            text_knowledge.print_sources(grounding, report)
        if result.note:
            print(f"note: {result.note}", file=sys.stderr)
        print(f"[{result.completion_tokens} tokens, {result.tokens_per_s:.1f} tok/s, "
              f"first token {result.ttft_s * 1000:.0f} ms, seed {result.seed}]", file=sys.stderr)
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("text", help="generate text with a GGUF model (llama.cpp)",
                              description="Stream a reply from a GGUF model; it is saved in the history.")
    p.add_argument("--model", required=True, help="a .gguf file, or a library id/name")
    p.add_argument("--prompt", required=True, help="the message (chat) or the text to continue (completion)")
    p.add_argument("--system", help="system prompt (chat mode)")
    p.add_argument("--max-tokens", type=int, help="most tokens to generate (default 512)")
    p.add_argument("--temperature", type=float, help="0 is greedy and deterministic (default 0.8)")
    p.add_argument("--top-p", type=float)
    p.add_argument("--top-k", type=int)
    p.add_argument("--min-p", type=float)
    p.add_argument("--repeat-penalty", type=float)
    p.add_argument("--seed", type=int, help="random when omitted; always printed and recorded")
    p.add_argument("--stop", action="append", metavar="TEXT", help="stop string (repeatable)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--chat", action="store_true", help="use the model's chat template (default when it has one)")
    mode.add_argument("--completion", action="store_true", help="continue the prompt as plain text")
    p.add_argument("--ctx", type=int, help="context size (default: min(training context, 8192))")
    p.add_argument("--threads", type=int, help="CPU threads (default: llama.cpp's choice)")
    p.add_argument("--gpu-layers", type=int, help="layers on the GPU: -2 automatic, -1 all, 0 CPU only")
    p.add_argument("--no-history", action="store_true", help="do not record in the history")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of streaming")
    text_knowledge.add_arguments(p)
    p.set_defaults(func=run)
