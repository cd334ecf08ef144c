"""``genlab history``: search, show, import, export, delete and count the history from a terminal.

    genlab history search QUERY [--mode hybrid|keyword|semantic] [--limit N] [--sort relevance|date] [--json]
                                [--kind text|image] [--model M] [--since DATE] [--until DATE] [--rating N]
                                [--tag T] [--session S] [--experiment NAME] [--origin generated|imported|api]
                                [--filter FIELD=VALUE]
    genlab history search --queries FILE [...]     # one JSON array per line of FILE
    genlab history embed                           # embed records that have no embedding yet
    genlab history show ID
    genlab history import FILE
    genlab history export FILE [--format jsonl|parquet] [--images]
                               [--ids ID ... | --query Q [--mode M] [--limit N]] [--kind text|image]
    genlab history delete ID | --session S | --all
    genlab history stats [--json]
    genlab history rerun ID [--json] [--no-history]  # make a record again exactly; exit 1 if it differs

A search embeds at most a small backlog of unembedded records before it
answers (EMBED_BUDGET_*); ``genlab history embed`` does the rest, with progress,
and can be stopped with Ctrl-C and run again.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from desktop.core.errors import GenLabError
from desktop.core.records import ORIGINS

# What a search may spend embedding a backlog before it answers.
EMBED_BUDGET_RECORDS = 200
EMBED_BUDGET_SECONDS = 2.0

SEARCH_HELP = """\
Search the history by meaning and keywords; without a QUERY, list the most
recent records.  Filters narrow what is searched; dates without a time zone are
local time, and --until with a bare date includes that whole day.

examples:
  genlab history search "sourdough bread"
  genlab history search "a lighthouse" --kind image --since 2026-05-01 --sort date
  genlab history search cat --model 3f2a9c1b --rating 4 --tag poems --json
  genlab history search "" --session 6d1e... --limit 50
  genlab history search "" --experiment "two models, two temperatures" --limit 100
  genlab history search bread --filter origin=imported
"""
EXPORT_HELP = """\
Export the history to JSONL, a zip of JSONL and images (--images), or Parquet.
Every record by default; choose some by id (--ids), by a search (--query: its
best --limit matches) and/or by kind (--kind).

examples:
  genlab history export all.jsonl
  genlab history export two.parquet --ids 3f2a... 9c1b...
  genlab history export bread.jsonl --query "sourdough bread" --mode keyword --limit 50
  genlab history export pictures.zip --images --kind image
"""


def add_filter_options(parser) -> None:
    """The search filter options (read back by :func:`_search_filters`); `genlab dataset export` shares them."""
    filters = parser.add_argument_group("filters")
    filters.add_argument("--kind", choices=("text", "image"))
    filters.add_argument("--model", metavar="M", help="model name, file name, or sha256 (4+ leading hex digits do)")
    filters.add_argument("--since", metavar="DATE", help="from this date: YYYY-MM-DD or an ISO date-time")
    filters.add_argument("--until", metavar="DATE", help="up to this date (a bare date includes the whole day)")
    filters.add_argument("--rating", type=int, metavar="N", help="rated N (0-5) or higher")
    filters.add_argument("--tag", metavar="T", help="tagged T")
    filters.add_argument("--session", metavar="S", help="in the session / thread with this id")
    filters.add_argument("--experiment", metavar="NAME",
                         help="the cells of the experiment(s) with this name, or whose id starts with NAME")
    filters.add_argument("--origin", choices=ORIGINS)
    filters.add_argument("--filter", action="append", default=[], metavar="FIELD=VALUE",
                         help="any search filter by its field name (kind, model, date_from, date_to, rating, "
                              "tag, session, origin); repeatable")


def register(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("history", help="search and manage the generation history")
    sub = parser.add_subparsers(dest="history_command", metavar="COMMAND", required=True)

    search = sub.add_parser("search", help="search by meaning and keywords", description=SEARCH_HELP,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    search.add_argument("query", nargs="?", default=None, help="what to look for (empty: most recent)")
    search.add_argument("--queries", type=Path, help="a file with one query per line; prints one JSON array per line")
    search.add_argument("--mode", choices=("hybrid", "keyword", "semantic"), default="hybrid")
    search.add_argument("--limit", type=int, default=10)
    search.add_argument("--sort", choices=("relevance", "date"), default="relevance",
                        help="date: the newest matching records first")
    search.add_argument("--json", action="store_true", help="print a JSON array of records")
    search.add_argument("--min-relevance", type=float, default=None, metavar="X",
                        help="hide semantic/hybrid results scoring below X, 0 to 1 (default: the embedding "
                             "model's floor; 0 lists everything)")
    add_filter_options(search)

    sub.add_parser("embed", help="embed records that have no embedding yet (resumable; Ctrl-C stops)")

    show = sub.add_parser("show", help="print every field of one record")
    show.add_argument("id")

    imp = sub.add_parser("import", help="import a JSONL, zip or Parquet export")
    imp.add_argument("file", type=Path)

    exp = sub.add_parser("export", help="export every record, or the chosen ones", description=EXPORT_HELP,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    exp.add_argument("file", type=Path, metavar="FILE", help="where to write: .jsonl, .parquet, or .zip with --images")
    exp.add_argument("--format", choices=("jsonl", "parquet"), default=None,
                     help="default: from the file name (.parquet), else jsonl")
    exp.add_argument("--images", action="store_true", help="write a zip with the images (JSONL only)")
    chosen = exp.add_mutually_exclusive_group()
    chosen.add_argument("--ids", nargs="+", metavar="ID", help="export only these records")
    chosen.add_argument("--query", metavar="Q", help="export the best matches of this search")
    exp.add_argument("--mode", choices=("hybrid", "keyword", "semantic"), default=None,
                     help="search mode for --query (default: hybrid)")
    exp.add_argument("--limit", type=int, default=None, help="how many matches of --query to export (default: 100)")
    exp.add_argument("--kind", choices=("text", "image"), help="export only text or only image records")

    delete = sub.add_parser("delete", help="delete records for good")
    target = delete.add_mutually_exclusive_group(required=True)
    target.add_argument("id", nargs="?", default=None)
    target.add_argument("--session", help="delete a whole session / thread")
    target.add_argument("--all", action="store_true", help="delete the whole history")

    from desktop.commands import history_rerun

    history_rerun.register(sub)

    stats = sub.add_parser("stats", help="counts, size and index state")
    stats.add_argument("--json", action="store_true")

    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    try:
        return _COMMANDS[args.history_command](args)
    except GenLabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _open(with_embedder: bool):
    from desktop.core.history.embedder import Embedder
    from desktop.core.history.store import HistoryStore
    from desktop.core.settings import load_settings

    name = load_settings()[0].history.embedder
    return HistoryStore(embedder=Embedder(name) if with_embedder else None)


def _hit_json(hit) -> dict[str, Any]:
    r = hit.record
    return {"id": r.id, "kind": r.kind, "prompt": r.prompt, "output": r.output_text or r.image_path,
            "model": r.model.name or r.model.file, "created_at": r.created_at.isoformat(),
            "score": round(hit.score, 6), "snippet": hit.snippet, "session_id": r.session_id,
            "image_missing": hit.image_missing}


def _prepare_search(store, mode: str) -> None:
    """Load the embedder and embed a bounded part of any backlog; without it, hybrid falls back to keywords.

    A large imported history can take hours to embed, so a search embeds at
    most EMBED_BUDGET_RECORDS / EMBED_BUDGET_SECONDS and answers with what is
    embedded (keyword matches still cover the rest); it says what is left and
    how to embed it.
    """
    from desktop.core.jobs import CancelToken

    if store.embedder is None:
        return
    try:
        store.embedder.load()
        backlog = store.unembedded
        if backlog:
            share = f"{backlog}" if backlog <= EMBED_BUDGET_RECORDS else f"up to {EMBED_BUDGET_RECORDS} of {backlog}"
            print(f"embedding {share} records first...", file=sys.stderr)
            store.backfill(cancel=CancelToken(), max_records=EMBED_BUDGET_RECORDS, max_seconds=EMBED_BUDGET_SECONDS)
    except GenLabError as exc:
        if mode == "semantic":
            raise
        print(f"note: {exc}", file=sys.stderr)
        return
    left = store.unembedded
    if left:
        unseen = "this search does not see them" if mode == "semantic" else "only keyword matches find them"
        print(f"note: {left} records are not embedded yet, so {unseen}; "
              "run `genlab history embed` to embed them.", file=sys.stderr)


def _search_filters(args) -> dict[str, Any]:
    """The search filters the options ask for, checked before anything slow starts."""
    from desktop.core.history.search import build_where, parse_when

    filters: dict[str, Any] = {}
    for item in args.filter:
        field, sep, value = item.partition("=")
        if not sep or not field.strip():
            raise GenLabError(f"--filter needs FIELD=VALUE, not {item!r}.", "For example: --filter tag=poems")
        filters[field.strip()] = value.strip()
    options = {"kind": args.kind, "model": args.model, "rating": args.rating, "tag": args.tag,
               "session": args.session, "origin": args.origin}
    if args.since is not None:
        options["date_from"] = parse_when(args.since, name="--since date")
    if args.until is not None:
        options["date_to"] = parse_when(args.until, end_of_day=True, name="--until date")
    for field, value in options.items():
        if value is None:
            continue
        if field in filters:
            raise GenLabError(f"The {field} filter is given twice (as an option and as --filter).")
        filters[field] = value
    build_where(filters)  # unknown fields and bad values fail here, before the embedder loads
    return filters


def _experiment_sessions(store, name: str) -> list[str]:
    """The session ids (experiment ids) of the experiments called ``name``; the history core knows no
    experiments, so the name is resolved here."""
    from desktop.core.experiments.lookup import matching_ids
    from desktop.core.experiments.store import ExperimentStore

    return matching_ids(ExperimentStore.beside(store), name)


def _search(args) -> int:
    from desktop.core.history.search import SearchQuery

    if args.query is None and args.queries is None:
        args.query = ""
    if args.query is not None and args.queries is not None:
        raise GenLabError("Give either a QUERY or --queries FILE, not both.")
    if args.limit < 1:
        raise GenLabError(f"--limit must be at least 1, not {args.limit}.")
    if args.min_relevance is not None and not 0 <= args.min_relevance <= 1:
        raise GenLabError(f"--min-relevance must be from 0 to 1, not {args.min_relevance}.",
                          "Use 0 to list every match.")
    if args.queries is not None:
        try:
            queries = args.queries.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise GenLabError(f"Cannot read the queries file {args.queries}: {exc.strerror or exc}.") from exc
    else:
        queries = [args.query]
    filters = _search_filters(args)
    store = _open(with_embedder=args.mode != "keyword")
    try:
        if args.experiment is not None:
            if "sessions" in filters:
                raise GenLabError("The sessions filter is given twice (as --experiment and as --filter).")
            filters["sessions"] = _experiment_sessions(store, args.experiment)
        _prepare_search(store, args.mode)
        for text in queries:
            result = store.search(SearchQuery(text, mode=args.mode, filters=filters, sort=args.sort,
                                              limit=args.limit, min_relevance=args.min_relevance))
            if result.notice:
                print(f"note: {result.notice}", file=sys.stderr)
            if result.hidden:
                print(f"note: {result.hidden} weaker matches hidden below relevance {result.min_relevance:.2f} "
                      "(--min-relevance 0 lists them)", file=sys.stderr)
            if args.json or args.queries is not None:
                print(json.dumps([_hit_json(h) for h in result.hits], ensure_ascii=False))
                continue
            for hit in result.hits:
                r = hit.record
                missing = "  [image missing]" if hit.image_missing else ""
                session = f"session {r.session_id}" if r.session_id else "no session"
                print(f"{hit.score:7.3f}  {r.created_at:%Y-%m-%d %H:%M}  {r.kind:5}  {r.id}  {session}  "
                      f"{hit.snippet}{missing}")
            if not result.hits:
                print("no matches", file=sys.stderr)
    finally:
        store.close()
    return 0


def _embed(args) -> int:
    """Embed every record without an embedding, with progress; Ctrl-C keeps what is done."""
    from desktop.commands._shared import ProgressLine
    from desktop.core.jobs import CancelToken

    store = _open(with_embedder=True)
    done = None  # stays None when Ctrl-C stops it
    try:
        backlog = store.unembedded
        if not backlog:
            print("every record is embedded")
            return 0
        print(f"embedding {backlog} records (Ctrl-C stops; run again to continue)...", file=sys.stderr)
        line = ProgressLine()
        done = store.backfill(cancel=CancelToken(), progress=line)
        line.done()
    except KeyboardInterrupt:
        pass  # the chunk being committed is kept (close waits for it); the rest waits for the next run
    finally:
        store.close()
    if done is None:
        print(f"interrupted: {store.unembedded} records are not embedded yet; "
              "run `genlab history embed` again to continue", file=sys.stderr)
        return 130
    print(f"embedded {done} records")
    return 0


def _show(args) -> int:
    store = _open(with_embedder=False)
    try:
        record = store.get(args.id)
    finally:
        store.close()
    from desktop.core.history.search import image_missing

    data = record.to_dict()
    missing = image_missing(record)
    if record.kind == "image":
        data["image_missing"] = missing  # as in search results
    print(json.dumps(data, indent=2, ensure_ascii=False))
    if missing:
        print(f"note: the image file {record.image_path} is missing", file=sys.stderr)
    return 0


def _import(args) -> int:
    """Import with a progress line on stderr: records read of the file's total, then the embedding."""
    from desktop.commands._shared import ProgressLine
    from desktop.core.history.import_job import import_and_embed

    store = _open(with_embedder=True)
    line = ProgressLine()
    try:
        result = import_and_embed(store, args.file, progress=line)
    finally:
        line.done()
        store.close()
    print(result.summary())
    if result.embedded:
        print(f"embedded {result.embedded} records")
    if result.embed_note:
        print(f"note: {result.embed_note}", file=sys.stderr)
    if result.broken:
        print("broken lines were skipped:", file=sys.stderr)
    for problem in result.problem_lines():
        print(f"  {problem}", file=sys.stderr)
    return 0


def _export(args) -> int:
    from desktop.core.history.export import export_history

    fmt = args.format or ("parquet" if args.file.suffix.lower() == ".parquet" else "jsonl")
    if args.images and fmt != "jsonl":
        raise GenLabError("--images works with the JSONL format only (it writes a zip).")
    if args.query is None and (args.mode or args.limit is not None):
        raise GenLabError("--mode and --limit choose how --query searches; give --query too.")
    if args.limit is not None and args.limit < 1:
        raise GenLabError(f"--limit must be at least 1, not {args.limit}.")
    mode = args.mode or "hybrid"
    filters = {"kind": args.kind} if args.kind else {}
    store = _open(with_embedder=args.query is not None and mode != "keyword")
    try:
        ids = args.ids
        if ids is not None:
            missing = sorted(set(ids) - store.has_ids(ids))
            if missing:
                shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
                raise GenLabError(f"No history record has the id {shown}; nothing was exported.",
                                  "Find ids with `genlab history search ... --json`.")
        elif args.query is not None:
            ids = _search_ids(store, args.query, mode, filters, args.limit or 100)
            if not ids:
                raise GenLabError(f"No history record matches {args.query!r}; nothing was exported.")
        out = export_history(store, args.file, fmt=fmt, images=args.images, ids=ids, filters=filters)
    finally:
        store.close()
    extra = f" and {out.images} images" if args.images else ""
    print(f"exported {out.records} records{extra} to {out.path}")
    return 0


def _search_ids(store, text: str, mode: str, filters: dict, limit: int) -> list[str]:
    from desktop.core.history.search import SearchQuery

    _prepare_search(store, mode)
    result = store.search(SearchQuery(text, mode=mode, filters=filters, limit=limit))
    if result.notice:
        print(f"note: {result.notice}", file=sys.stderr)
    return [hit.record.id for hit in result.hits]


def _delete(args) -> int:
    store = _open(with_embedder=False)
    try:
        if args.all:
            n = store.delete(everything=True)
        elif args.session:
            n = store.delete(session=args.session)
        else:
            store.get(args.id)  # a clear error for an unknown id
            n = store.delete([args.id])
    finally:
        store.close()
    print(f"deleted {n} records")
    return 0


def _stats(args) -> int:
    store = _open(with_embedder=False)
    try:
        stats = store.stats()
    finally:
        store.close()
    if args.json:
        print(json.dumps(stats))
    else:
        for key, value in stats.items():
            print(f"{key}={value}")
    return 0


def _rerun(args) -> int:
    from desktop.commands.history_rerun import run as rerun

    return rerun(args)


_COMMANDS = {"search": _search, "embed": _embed, "show": _show, "import": _import, "export": _export, "delete": _delete,
             "stats": _stats, "rerun": _rerun}
