"""``genlab knowledge``: document collections for grounded chat, from a terminal.

    genlab knowledge add NAME FOLDER... [--no-index] [--max-file-mb N]
    genlab knowledge list [--json]
    genlab knowledge reindex NAME [--max-file-mb N]
    genlab knowledge delete NAME
    genlab knowledge search NAME QUERY [--limit K] [--mode hybrid|keyword|semantic] [--json]

``history`` is always listed: it searches the generation history.  Indexing
shows progress and can be stopped with Ctrl-C; ``reindex`` continues where it
stopped and reads only what changed.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path


def register(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("knowledge", help="document collections that chat can cite")
    sub = parser.add_subparsers(dest="knowledge_command", metavar="COMMAND", required=True)

    add = sub.add_parser("add", help="add a collection of folders and index it")
    add.add_argument("name")
    add.add_argument("folders", nargs="+", type=Path, metavar="FOLDER")
    add.add_argument("--no-index", action="store_true", help="only register it; index later with reindex")
    add.add_argument("--max-file-mb", type=float, default=None, help="skip files larger than this (default 64)")
    add.set_defaults(func=_add)

    listing = sub.add_parser("list", help="list collections, their folders and what was passed over")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=_list)

    reindex = sub.add_parser("reindex", help="index what changed, was added or deleted")
    reindex.add_argument("name")
    reindex.add_argument("--max-file-mb", type=float, default=None)
    reindex.set_defaults(func=_reindex)

    delete = sub.add_parser("delete", help="delete a collection's index (its documents stay)")
    delete.add_argument("name")
    delete.set_defaults(func=_delete)

    search = sub.add_parser("search", help="the chunks that best match a query")
    search.add_argument("name")
    search.add_argument("query")
    search.add_argument("--limit", type=int, default=5)
    search.add_argument("--mode", choices=("hybrid", "keyword", "semantic"), default="hybrid")
    search.add_argument("--json", action="store_true", help="print a JSON array of chunks")
    search.set_defaults(func=_search)
    return parser


def _open(*, embedder: bool = True, history: bool = False):
    from desktop.core.history.embedder import Embedder
    from desktop.core.knowledge.store import Knowledge
    from desktop.core.settings import load_settings

    name = load_settings()[0].history.embedder
    model = Embedder(name) if embedder else None
    store = None
    if history:
        from desktop.core.history.store import HistoryStore

        store = HistoryStore(embedder=model)
    if model is not None:
        model.start_loading()
    return Knowledge(embedder=model, history=store)


def _close(knowledge) -> None:
    knowledge.close()
    if knowledge.history is not None:
        knowledge.history.close()


def _max_bytes(args) -> dict:
    if args.max_file_mb is None:
        return {}
    if args.max_file_mb <= 0:
        from desktop.core.knowledge.errors import KnowledgeError

        raise KnowledgeError(f"--max-file-mb must be more than 0, not {args.max_file_mb}.")
    return {"max_file_bytes": int(args.max_file_mb * 2**20)}


def _run_index(knowledge, name: str, args) -> int:
    from desktop.commands._shared import ProgressLine

    line = ProgressLine()
    print(f"indexing {name} (Ctrl-C stops; `genlab knowledge reindex {name}` continues)...", file=sys.stderr)
    try:
        report = knowledge.index(name, progress=line, **_max_bytes(args))
    except KeyboardInterrupt:
        line.done()
        print(f"interrupted: what was indexed is kept; run `genlab knowledge reindex {name}` to continue",
              file=sys.stderr)
        return 130
    line.done()
    print(f"{name}: {report.files} files, {report.read} read, {report.unchanged} unchanged, {report.removed} removed, "
          f"{report.chunks_total} chunks ({report.chunks_written} new) in {report.seconds:.1f} s")
    for folder in report.missing_folders:
        print(f"  missing folder (chunks kept): {folder}")
    for problem in report.problems:
        print(f"  passed over {problem.path}: {problem.reason}")
    if report.unsupported:
        kinds = ", ".join(f"{n} {s or '(no suffix)'}" for s, n in sorted(report.unsupported.items()))
        print(f"  not documents (not read): {kinds}")
    return 0


def _add(args) -> int:
    knowledge = _open(embedder=not args.no_index)
    try:
        collection = knowledge.add(args.name, args.folders)
        print(f"added {collection.name}: {', '.join(collection.folders)}")
        if args.no_index:
            return 0
        return _run_index(knowledge, collection.name, args)
    finally:
        _close(knowledge)


def _reindex(args) -> int:
    knowledge = _open()
    try:
        return _run_index(knowledge, args.name, args)
    finally:
        _close(knowledge)


def _delete(args) -> int:
    knowledge = _open(embedder=False)
    try:
        knowledge.delete(args.name)
    finally:
        _close(knowledge)
    print(f"deleted {args.name} (its documents are untouched)")
    return 0


def _list(args) -> int:
    knowledge = _open(embedder=False)
    try:
        collections = knowledge.collections()
    finally:
        _close(knowledge)
    if args.json:
        print(json.dumps([asdict(c) for c in collections], indent=1, ensure_ascii=False))
        return 0
    for c in collections:
        if c.is_history:
            print("history  (the generation history)")
            continue
        state = c.state
        status = "not indexed" if not state.indexed_at else (
            f"{state.files} files, {state.chunks} chunks, indexed {state.indexed_at}"
            + ("" if state.complete else " (stopped before the end: reindex to continue)"))
        print(f"{c.name}  {status}")
        for folder in c.folders:
            print(f"  {folder}" + ("  (missing)" if folder in state.missing_folders else ""))
        if state.problems:
            print(f"  {len(state.problems)} passed over (genlab knowledge list --json lists them)")
    return 0


def _search(args) -> int:
    from desktop.core.knowledge.registry import HISTORY

    knowledge = _open(embedder=args.mode != "keyword", history=args.name.strip().lower() == HISTORY)
    try:
        if knowledge.embedder is not None and args.mode != "keyword":
            knowledge.embedder.wait_ready()
        hits = knowledge.search(args.name, args.query, args.limit, mode=args.mode)
    finally:
        _close(knowledge)
    if args.json:
        print(json.dumps([asdict(h) for h in hits], indent=1, ensure_ascii=False))
        return 0
    if not hits:
        print("no matching chunks")
        return 1
    for i, hit in enumerate(hits, start=1):
        where = f"{hit.path}  {hit.location}" if hit.path else hit.location
        print(f"[{i}] {where}  score {hit.score:.3f}  chars {hit.char_start}-{hit.char_end}  id {hit.chunk_id}")
        print("    " + hit.text.strip().replace("\n", "\n    "))
        print()
    return 0
