"""``genlab models``: list, search, download, import, verify, delete and scan models.

Downloads are resumable: Ctrl+C pauses (the bytes are kept) and running the
same command again, or ``genlab models download --resume``, continues.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from desktop.commands._shared import ProgressLine
from desktop.core.errors import GenLabError
from desktop.core.hardware import fmt_bytes
from desktop.core.jobs import CancelToken, JobCancelled


def _print_error(exc: GenLabError) -> int:
    print(f"error: {exc}", file=sys.stderr)
    return 2


def cmd_list(args: argparse.Namespace) -> int:
    from desktop.core.models.library import Library

    library = Library()
    models = library.models(args.kind)
    if args.json:
        print(json.dumps([m.to_dict() for m in models], indent=2))
        return 0
    if not models:
        print("No models yet. Try `genlab models search`, `download`, `import` or `scan`.")
        return 0
    row = "{:<16}  {:<9} {:<12} {:<8} {:>9}  {:<8}  {:<10}  {:<16}  {}"
    print(row.format("SHA256 (ID)", "KIND", "FAMILY", "QUANT", "SIZE", "SOURCE", "ADDED", "LAST USED", "NAME"))
    for m in models:
        print(row.format(m.sha256[:16] or m.id, m.kind, m.family[:12], m.quantization[:8], fmt_bytes(m.size),
                         m.source, _when(m.added_at, "%Y-%m-%d"), _when(m.last_used, "%Y-%m-%d %H:%M"), m.name))
    owned = library.total_usage(owned_only=True)
    total = library.total_usage()
    elsewhere = f", {fmt_bytes(total - owned)} used in place elsewhere" if total > owned else ""
    print(f"{len(models)} model(s), {fmt_bytes(total)} on disk: {fmt_bytes(owned)} in GenLab's models folder"
          f"{elsewhere}")
    return 0


def _when(timestamp: float, fmt: str) -> str:
    return time.strftime(fmt, time.localtime(timestamp)) if timestamp else "never"


def cmd_search(args: argparse.Namespace) -> int:
    from desktop.core.hardware import machine_info

    kind = "image" if args.image else "text"
    if args.catalog:
        from desktop.core.models.catalog import load_catalog
        from desktop.core.models.fit import fit_catalog_variant
        from desktop.core.models.library import Library, installed_variant

        info = machine_info()
        query = args.query.lower()
        models = Library().models()
        for entry in load_catalog():
            if query and query not in f"{entry.id} {entry.name} {entry.family}".lower():
                continue
            for variant in entry.variants:
                verdict = fit_catalog_variant(entry, variant, info)
                model = installed_variant(entry, variant, models)
                where = f"  [installed: {model.path}]" if model is not None else ""
                print(f"{entry.id:<28} {variant.quantization:<7} {fmt_bytes(variant.size):>9}  "
                      f"{entry.license:<24} {verdict.verdict}: {verdict.detail}{where}")
        return 0
    from desktop.core.hub.search import CHOOSE_A_FILE, search_models, search_result_fit

    result = search_models(args.query, kind=kind, sort=args.sort, limit=args.limit)
    if not result.ok:
        print(result.message, file=sys.stderr)
        return 0 if result.status == "offline" else 1
    info = machine_info()
    for m in result.models:
        verdict = search_result_fit(m, info, _context())
        fit = str(verdict) if verdict is not None else f"{CHOOSE_A_FILE} (`genlab models download {m.repo_id}`)"
        print(f"{m.repo_id:<60} {m.downloads:>10} downloads {m.likes:>7} likes{'  (gated)' if m.gated else ''}"
              f"  {fit}")
    return 0


def _context() -> int:
    """The text context size the verdicts assume: the user's setting."""
    from desktop.core.settings import load_settings

    return load_settings()[0].text.context_size or 4096


def _run_entries(entries, downloads) -> int:
    from desktop.core.hub.queue import run_entry

    line = ProgressLine()
    token = CancelToken()
    status = 0
    for entry in entries:
        try:
            result = run_entry(entry, downloads, cancel=token, progress=line)
        except KeyboardInterrupt:
            line.done()
            downloads.update(entry.key, status="paused")
            print(f"paused {entry.filename}; run `genlab models download --resume` to continue", file=sys.stderr)
            return 130
        except JobCancelled:
            return 130
        except GenLabError as exc:
            line.done()
            status = _print_error(exc)
            continue
        line.done()
        if result.already_installed:
            saved = downloads.get(entry.key)
            note = saved.note if saved is not None and saved.note else "already installed, nothing downloaded"
        else:
            note = f"verified sha256 {result.sha256[:12]}…"
        print(f"{result.path}  ({fmt_bytes(result.size)}, {note})")
    return status


def cmd_download(args: argparse.Namespace) -> int:
    from desktop.core.hub.download import FileRef
    from desktop.core.hub.queue import DownloadList

    downloads = DownloadList()
    if args.resume:
        pending = downloads.resumable() + [e for e in downloads.entries() if e.status in ("paused", "failed")]
        if not pending:
            print("Nothing to resume.")
            return 0
        for entry in pending:
            downloads.update(entry.key, status="queued")
        return _run_entries(pending, downloads)
    if not args.repo:
        return _print_error(GenLabError("Name a repo id (or a catalog id) to download.", "Or use --resume."))
    if "/" not in args.repo and not args.repo.startswith("http"):
        from desktop.core.hub.queue import catalog_downloads
        from desktop.core.models.catalog import find_entry

        entry = find_entry(args.repo)  # a catalog id: every file of the variant, each where it belongs
        variant = entry.variant(args.quant)
        entries = [downloads.add(ref, dest, source="catalog", catalog_id=entry.id, root=root)
                   for ref, dest, root in catalog_downloads(entry, variant)]
        return _run_and_register(entries, downloads)
    from desktop.core.hub.search import list_repo_files, parse_repo_ref

    files, ref = list(args.files), parse_repo_ref(args.repo)
    repo_id, revision = ref.repo_id, args.revision or ref.revision
    if ref.filename:
        files.insert(0, ref.filename)
    if not files:
        _print_choices(repo_id, list_repo_files(repo_id, revision))
        return 2
    entries = [downloads.add(FileRef(repo_id, name, revision or "main"), source="hub") for name in files]
    return _run_and_register(entries, downloads)


def _run_and_register(entries, downloads) -> int:
    status = _run_entries(entries, downloads)
    if status != 130 and any(not e.filename.endswith(".gguf") for e in entries):
        from desktop.core.hub.queue import register_pipeline_if_complete

        try:  # a diffusers pipeline is listed as one model, once all its files arrived verified
            model = register_pipeline_if_complete(downloads.get(entries[0].key), downloads)
        except GenLabError as exc:
            return _print_error(exc)
        if model is not None:
            print(f"added {model.name} ({model.kind}, {fmt_bytes(model.size)})")
    return status


def _print_choices(repo_id: str, listing) -> None:
    """The models a repo offers, each with its fit verdict, and how to download them."""
    from desktop.core.hardware import machine_info
    from desktop.core.hub.search import repo_choices

    choices = repo_choices(listing, machine_info(), _context())
    if not choices:
        print(f"{repo_id} has no GGUF file or diffusers pipeline; its model files:")
        for f in listing:
            if f.is_model_file:
                print(f"  {f.path:<60} {fmt_bytes(f.size):>9}  {f.quantization}")
        return
    print(f"{repo_id} has these models; name the files to download:")
    for choice in choices:
        print(f"  {choice.label:<60} {fmt_bytes(choice.size):>9}  {choice.quantization:<7} {choice.verdict}")
        if len(choice.files) > 1:
            print(f"    genlab models download {repo_id} {' '.join(choice.files)}")


def cmd_import(args: argparse.Namespace) -> int:
    from desktop.core.models.library import Library

    line = ProgressLine()
    model = Library().import_path(Path(args.path), args.mode, progress=line)
    line.done()
    print(f"imported {model.name}: {model.kind}, {model.family or '?'}, {model.quantization or '?'}, "
          f"{fmt_bytes(model.size)}, id {model.id}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from desktop.core.models.library import Library

    library = Library()
    targets = [library.get(args.id)] if args.id else library.models()
    bad = 0
    for model in targets:
        ok, message = library.verify(model.id)
        bad += not ok
        print(message)
    return 1 if bad else 0


def cmd_delete(args: argparse.Namespace) -> int:
    from desktop.core.models.library import Library

    library = Library()
    plan = library.plan_delete(args.id)
    if not args.yes:
        if not sys.stdin.isatty():
            return _print_error(GenLabError(plan.message, "Add --yes to confirm."))
        if input(f"{plan.message} [y/N] ").strip().lower() not in ("y", "yes"):
            print("kept")
            return 1
    done = library.delete(args.id)
    print(f"deleted {done.model.name}; freed {fmt_bytes(done.bytes_freed)}")
    return 0


def cmd_scan(args: argparse.Namespace) -> int:
    from desktop.core.models.library import Library
    from desktop.core.settings import load_settings

    settings, _ = load_settings()
    folders = [Path(f) for f in settings.downloads.extra_model_folders] + [Path(f) for f in args.folders]
    result = Library().scan(folders, hf_cache=not args.no_hf_cache)
    for model in result.added:
        print(f"found {model.name} ({model.kind}, {fmt_bytes(model.size)}) at {model.path}")
    for model in result.removed:
        print(f"gone  {model.name} ({model.path})")
    for path in result.duplicates:
        print(f"same  {path}: a copy of a model already listed (kept at its listed path)")
    for reason in result.rejected:
        print(f"skipped: {reason}", file=sys.stderr)
    print(f"{result.seen} candidate(s), {len(result.added)} added, {len(result.removed)} removed")
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    from desktop.core.hub.access import save_token

    value = args.value or sys.stdin.readline()
    if not value.strip():
        return _print_error(GenLabError("No token given.", "Pass it as an argument or on stdin."))
    print(f"token saved to {save_token(value)}")
    return 0


COMMANDS = {"list": cmd_list, "search": cmd_search, "download": cmd_download, "import": cmd_import,
            "verify": cmd_verify, "delete": cmd_delete, "scan": cmd_scan, "token": cmd_token}


def run(args: argparse.Namespace) -> int:
    if not getattr(args, "models_command", None):
        print("usage: genlab models {" + ",".join(COMMANDS) + "} ...", file=sys.stderr)
        return 2
    try:
        return COMMANDS[args.models_command](args)
    except GenLabError as exc:
        return _print_error(exc)


def register(subparsers) -> None:
    p = subparsers.add_parser("models", help="list, search, download, import, verify, delete and scan models")
    sub = p.add_subparsers(dest="models_command")
    s = sub.add_parser("list", help="installed models")
    s.add_argument("--json", action="store_true")
    s.add_argument("--kind", choices=("text", "image", "embedding"))
    s = sub.add_parser("search", help="search the hub (or the catalog with --catalog)")
    s.add_argument("query", nargs="?", default="")
    s.add_argument("--image", action="store_true", help="diffusers models instead of GGUF")
    s.add_argument("--sort", choices=("downloads", "likes"), default="downloads")
    s.add_argument("--limit", type=int, default=20)
    s.add_argument("--catalog", action="store_true", help="search the curated catalog, with fit verdicts")
    s = sub.add_parser("download", help="download files of a hub repo (or a catalog model), verified")
    s.add_argument("repo", nargs="?", help="owner/name, a hub URL, or a catalog id")
    s.add_argument("files", nargs="*")
    s.add_argument("--revision", default=None)
    s.add_argument("--quant", default=None, help="catalog variant, e.g. Q4_K_M")
    s.add_argument("--resume", action="store_true", help="resume every unfinished download")
    s = sub.add_parser("import", help="add a .gguf, .safetensors or diffusers folder")
    s.add_argument("path")
    s.add_argument("--mode", choices=("copy", "move", "link"), default="copy")
    s = sub.add_parser("verify", help="re-hash installed models")
    s.add_argument("id", nargs="?")
    s = sub.add_parser("delete", help="delete a model (asks first)")
    s.add_argument("id")
    s.add_argument("--yes", action="store_true")
    s = sub.add_parser("scan", help="find models in the HF cache and in folders")
    s.add_argument("folders", nargs="*")
    s.add_argument("--no-hf-cache", action="store_true")
    s = sub.add_parser("token", help="save a Hugging Face access token")
    s.add_argument("value", nargs="?")
    p.set_defaults(func=run)
