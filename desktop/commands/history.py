"""``genlab history``: search, show, import, export, delete and count the history from a terminal.

    genlab history search QUERY [--mode hybrid|keyword|semantic] [--limit N] [--kind text|image] [--json]
    genlab history search --queries FILE [...]     # one JSON array per line of FILE
    genlab history show ID
    genlab history import FILE
    genlab history export FILE [--format jsonl|parquet] [--images]
                               [--ids ID ... | --query Q [--mode M] [--limit N]] [--kind text|image]
    genlab history delete ID | --session S | --all
    genlab history stats [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from desktop.core.errors import GenLabError

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


def register(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("history", help="search and manage the generation history")
    sub = parser.add_subparsers(dest="history_command", metavar="COMMAND", required=True)

    search = sub.add_parser("search", help="search by meaning and keywords")
    search.add_argument("query", nargs="?", default=None, help="what to look for (empty: most recent)")
    search.add_argument("--queries", type=Path, help="a file with one query per line; prints one JSON array per line")
    search.add_argument("--mode", choices=("hybrid", "keyword", "semantic"), default="hybrid")
    search.add_argument("--limit", type=int, default=10)
    search.add_argument("--kind", choices=("text", "image"))
    search.add_argument("--json", action="store_true", help="print a JSON array of records")

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
    """Load the embedder and embed what is not embedded yet; without it, hybrid falls back to keywords."""
    from desktop.core.jobs import CancelToken

    if store.embedder is None:
        return
    try:
        store.embedder.load()
        if store.unembedded:
            print(f"embedding {store.unembedded} records first...", file=sys.stderr)
            store.backfill(cancel=CancelToken())
    except GenLabError as exc:
        if mode == "semantic":
            raise
        print(f"note: {exc}", file=sys.stderr)


def _search(args) -> int:
    from desktop.core.history.search import SearchQuery

    if args.query is None and args.queries is None:
        args.query = ""
    if args.query is not None and args.queries is not None:
        raise GenLabError("Give either a QUERY or --queries FILE, not both.")
    if args.limit < 1:
        raise GenLabError(f"--limit must be at least 1, not {args.limit}.")
    if args.queries is not None:
        try:
            queries = args.queries.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise GenLabError(f"Cannot read the queries file {args.queries}: {exc.strerror or exc}.") from exc
    else:
        queries = [args.query]
    store = _open(with_embedder=args.mode != "keyword")
    try:
        _prepare_search(store, args.mode)
        filters = {"kind": args.kind} if args.kind else {}
        for text in queries:
            result = store.search(SearchQuery(text, mode=args.mode, filters=filters, limit=args.limit))
            if result.notice:
                print(f"note: {result.notice}", file=sys.stderr)
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


def _show(args) -> int:
    store = _open(with_embedder=False)
    try:
        record = store.get(args.id)
    finally:
        store.close()
    print(json.dumps(record.to_dict(), indent=2, ensure_ascii=False))
    if record.kind == "image" and record.image_path and not Path(record.image_path).exists():
        print(f"note: the image file {record.image_path} is missing", file=sys.stderr)
    return 0


def _import(args) -> int:
    from desktop.core.history.export import import_history

    store = _open(with_embedder=True)
    try:
        store.embedder.start_loading()
        result = import_history(store, args.file)
        if store.embedder.wait_ready(300) and store.unembedded:
            from desktop.core.jobs import CancelToken

            store.backfill(cancel=CancelToken())
    finally:
        store.close()
    print(result.summary())
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


_COMMANDS = {"search": _search, "show": _show, "import": _import, "export": _export, "delete": _delete,
             "stats": _stats}
