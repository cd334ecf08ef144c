"""``genlab dataset export``: training sets from what you rated.

    genlab dataset export sft FILE [--query Q [--mode M] [--limit N]] [--near-duplicates X]
                                   [--model M] [--rating N] [--tag T] [--experiment NAME] [--origin O] ...
    genlab dataset export preference FILE [--model M] [--origin O] ...   # arena votes, both answers filtered

The filters are ``genlab history search``'s (the same options, read the same
way); ``--rating`` is a minimum and defaults to 1 for the SFT set.
"""

from __future__ import annotations

import argparse
import sys

from desktop.core.errors import GenLabError

HELP = """\
Export rated text generations as a fine-tuning set (sft: chat "messages" JSONL,
the system prompt and earlier turns included).  Every row keeps its origin
(generated, imported, api).  Exact duplicates are dropped; --near-duplicates X
also drops rows whose stored embedding has cosine >= X with a row kept before.

examples:
  genlab dataset export sft rated.jsonl
  genlab dataset export sft good-poems.jsonl --rating 4 --tag poems --origin generated
  genlab dataset export sft bread.jsonl --query "sourdough bread" --mode keyword --near-duplicates 0.95
  genlab dataset export preference dpo.jsonl     # decisive arena votes: prompt, chosen, rejected
"""


def register(subparsers) -> argparse.ArgumentParser:
    from desktop.commands.history import add_filter_options

    parser = subparsers.add_parser("dataset", help="export training sets from rated generations")
    sub = parser.add_subparsers(dest="dataset_command", metavar="COMMAND", required=True)
    export = sub.add_parser("export", help="write a fine-tuning (sft) or preference set as JSONL", description=HELP,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    export.add_argument("format", choices=("sft", "preference"),
                        help="sft: chat messages rows; preference: prompt/chosen/rejected rows from arena votes")
    export.add_argument("file", metavar="FILE", help="the .jsonl file to write")
    export.add_argument("--query", metavar="Q", help="only the best matches of this history search")
    export.add_argument("--mode", choices=("hybrid", "keyword", "semantic"), default="hybrid",
                        help="search mode for --query")
    export.add_argument("--limit", type=int, default=1000, help="how many matches of --query (default: 1000)")
    export.add_argument("--near-duplicates", type=float, default=None, metavar="X",
                        help="also drop rows whose embedding has cosine >= X (0-1) with a row kept before")
    add_filter_options(export)
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    try:
        return _export(args)
    except GenLabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from desktop.commands.history import _experiment_sessions, _open, _prepare_search, _search_filters
    from desktop.core.datasets.sft import SftSelection, export_sft, text_filters

    if args.format == "preference":
        return _export_preference(args)
    if args.limit < 1:
        raise GenLabError(f"--limit must be at least 1, not {args.limit}.")
    filters = text_filters(_search_filters(args))  # bad filters fail before the store opens
    query = (args.query or "").strip()
    needs_embedder = (bool(query) and args.mode != "keyword") or args.near_duplicates is not None
    store = _open(with_embedder=needs_embedder)
    try:
        if args.experiment is not None:
            if "sessions" in filters:
                raise GenLabError("The sessions filter is given twice (as --experiment and as --filter).")
            filters["sessions"] = _experiment_sessions(store, args.experiment)
        if query:
            _prepare_search(store, args.mode)
        embed = None
        if args.near_duplicates is not None and store.embedder is not None:
            embedder = store.embedder

            def embed(texts):
                embedder.load()
                return embedder.encode(texts)

        selection = SftSelection(filters=filters, search=query, mode=args.mode, limit=args.limit,
                                 near_duplicates=args.near_duplicates)
        result = export_sft(store, Path(args.file), selection, embed=embed)
    finally:
        store.close()
    print(result.summary())
    for note in result.notes():
        print(f"note: {note}", file=sys.stderr)
    return 0


def _export_preference(args: argparse.Namespace) -> int:
    from pathlib import Path

    from desktop.commands.history import _open, _search_filters
    from desktop.core.arena.votes import VoteStore
    from desktop.core.datasets.preference import export_preference
    from desktop.core.history.sql import build_where

    if args.query or args.near_duplicates is not None or args.experiment is not None:
        raise GenLabError("--query, --near-duplicates and --experiment work with the sft export only.")
    filters = _search_filters(args)
    if filters.get("kind") not in (None, "text"):
        raise GenLabError("A preference set holds text votes only.", "Leave out --kind.")
    build_where(filters)
    store = _open(with_embedder=False)
    try:
        result = export_preference(store, VoteStore.beside(store), Path(args.file), filters=filters)
    finally:
        store.close()
    print(result.summary())
    for note in result.notes():
        print(f"note: {note}", file=sys.stderr)
    return 0
