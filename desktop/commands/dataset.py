"""``genlab dataset export``: training sets from what you rated.

    genlab dataset export sft FILE [--query Q [--mode M] [--limit N]] [--near-duplicates X]
                                   [--model M] [--rating N] [--tag T] [--experiment NAME] [--origin O] ...
    genlab dataset export preference FILE [--query Q ...] [--near-duplicates X] [--experiment NAME]
                                          [--model M] [--origin O] ...   # arena votes, both answers filtered

The filters are ``genlab history search``'s (the same options, read the same
way); ``--rating`` is a minimum and defaults to 1 for the SFT set.  For the
preference set, ``--query`` keeps the votes one of whose answers the search
finds, ``--experiment`` the votes on that experiment's prompts, and
``--near-duplicates`` compares the chosen answers' stored vectors.
"""

from __future__ import annotations

import argparse
import sys

from desktop.core.errors import GenLabError

HELP = """\
Export rated text generations as a fine-tuning set (sft: chat "messages" JSONL,
the system prompt and earlier turns included), or decisive arena votes as a
preference set (prompt, chosen, rejected: what TRL's DPO trainer reads).  Every
row keeps its origin (generated, imported, api).  Exact duplicates are dropped;
--near-duplicates X also drops rows whose stored embedding (for a preference
row: the chosen answer's) has cosine >= X with a row kept before.  Both print
the rows written and the duplicates dropped; a selection that matches nothing
writes no file and says so.

examples:
  genlab dataset export sft rated.jsonl
  genlab dataset export sft good-poems.jsonl --rating 4 --tag poems --origin generated
  genlab dataset export sft bread.jsonl --query "sourdough bread" --mode keyword --near-duplicates 0.95
  genlab dataset export preference dpo.jsonl     # decisive arena votes: prompt, chosen, rejected
  genlab dataset export preference code.jsonl --query "python" --mode keyword --near-duplicates 0.95
  genlab dataset export preference sweep.jsonl --experiment "haiku sweep"   # votes on its prompts
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
        result = _export_preference(args) if args.format == "preference" else _export_sft(args)
    except GenLabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    _print_result(result)
    return 0


def _print_result(result) -> None:
    """The counts on stdout (rows written, matched, duplicates dropped), what to know on stderr."""
    print(result.summary())
    for note in result.notes():
        print(f"note: {note}", file=sys.stderr)


def _common(args: argparse.Namespace) -> tuple[str, bool]:
    """The search query and whether the embedder is needed; the shared options checked."""
    if args.limit < 1:
        raise GenLabError(f"--limit must be at least 1, not {args.limit}.")
    query = (args.query or "").strip()
    return query, (bool(query) and args.mode != "keyword") or args.near_duplicates is not None


def _embed(store, args: argparse.Namespace):
    """Embeds the rows that have no stored vector, when near duplicates are checked and an embedder is set."""
    if args.near_duplicates is None or store.embedder is None:
        return None
    embedder = store.embedder

    def embed(texts):
        embedder.load()
        return embedder.encode(texts)

    return embed


def _export_sft(args: argparse.Namespace):
    from pathlib import Path

    from desktop.commands.history import _open, _prepare_search, _search_filters
    from desktop.core.datasets.experiment import experiment_sessions
    from desktop.core.datasets.sft import SftSelection, export_sft, text_filters

    filters = text_filters(_search_filters(args))  # bad filters fail before the store opens
    query, needs_embedder = _common(args)
    store = _open(with_embedder=needs_embedder)
    try:
        if args.experiment is not None:
            if "sessions" in filters:
                raise GenLabError("The sessions filter is given twice (as --experiment and as --filter).")
            filters["sessions"] = experiment_sessions(store, args.experiment)
        if query:
            _prepare_search(store, args.mode)
        selection = SftSelection(filters=filters, search=query, mode=args.mode, limit=args.limit,
                                 near_duplicates=args.near_duplicates)
        return export_sft(store, Path(args.file), selection, embed=_embed(store, args))
    finally:
        store.close()


def _export_preference(args: argparse.Namespace):
    from pathlib import Path

    from desktop.commands.history import _open, _prepare_search, _search_filters
    from desktop.core.arena.votes import VoteStore
    from desktop.core.datasets.experiment import experiment_prompts
    from desktop.core.datasets.preference import PreferenceSelection, export_preference

    filters = _search_filters(args)
    if filters.get("kind") not in (None, "text"):
        raise GenLabError("A preference set holds text votes only.", "Leave out --kind.")
    query, needs_embedder = _common(args)
    store = _open(with_embedder=needs_embedder)
    try:
        prompts = experiment_prompts(store, args.experiment) if args.experiment is not None else None
        if query:
            _prepare_search(store, args.mode)
        selection = PreferenceSelection(filters=filters, search=query, mode=args.mode, limit=args.limit,
                                        prompts=prompts, experiment=args.experiment or "",
                                        near_duplicates=args.near_duplicates)
        return export_preference(store, VoteStore.beside(store), Path(args.file), selection,
                                 embed=_embed(store, args))
    finally:
        store.close()
