"""``genlab experiment``: run sweeps headless, resume them, list, show, export and delete them.

    genlab experiment run SPEC.toml|SPEC.json [--name N] [--max-cells N] [--json]
    genlab experiment resume ID [--json]
    genlab experiment list [--json]
    genlab experiment show ID [--json]
    genlab experiment export ID FILE.csv|FILE.parquet|FILE.html [--embed-images]
    genlab experiment delete ID [--with-records]

The spec format is :mod:`desktop.core.experiments.spec`'s.  Before a run,
the cell count, model loads and time estimate go to stderr, then one
progress line per cell (cells done / total, ETA).  ``--json`` prints one
object at the end: the experiment id, cell count, cells done and failed.
A run with failed cells exits with status 1, bad input with 2, Ctrl+C with
130 (the experiment is then resumable with ``resume``).  An ID may be a
unique prefix of six characters or more.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from desktop.commands._shared import ProgressLine
from desktop.core.errors import GenLabError


def _open_history():
    from desktop.core.history import open_history
    from desktop.core.settings import load_settings

    settings, _ = load_settings()
    if settings.history.incognito:
        raise GenLabError("Incognito is on, and every cell of an experiment is a history record.",
                          "Turn incognito off in the app's Preferences to run experiments.")
    return settings, open_history(start_embedder=False)


def _stores():
    from desktop.core.experiments.store import ExperimentStore

    settings, history = _open_history()
    return settings, history, ExperimentStore.beside(history)


def _run(experiment_id: str, args: argparse.Namespace, settings, history, experiments) -> int:
    from desktop.core.experiments.control import RunToken
    from desktop.core.experiments.runner import run_experiment
    from desktop.core.text.engine import LoadOptions

    line = ProgressLine()
    token = RunToken()
    load = LoadOptions(n_ctx=settings.text.context_size, n_threads=settings.text.threads,
                       n_gpu_layers=settings.text.n_gpu_layers)
    try:
        summary = run_experiment(experiment_id, experiments=experiments, history=history, cancel=token,
                                 progress=line, default_load=load, image_settings=settings.image)
    finally:
        line.done()
    for index, error in summary.failed.items():
        print(f"cell {index} failed: {error}", file=sys.stderr)
    if args.json:
        print(json.dumps({"id": summary.experiment_id, "status": summary.status, "cells": summary.total,
                          "done": summary.done, "failed": len(summary.failed), "generated": summary.generated,
                          "skipped": summary.skipped, "model_loads": summary.model_loads}))
    else:
        print(f"{summary.experiment_id}  {summary.status}: {summary.done}/{summary.total} cells done, "
              f"{len(summary.failed)} failed")
    return 1 if summary.failed else 0


def run(args: argparse.Namespace) -> int:
    from desktop.core.experiments.estimate import estimate_plan
    from desktop.core.experiments.plan import plan_cells
    from desktop.core.experiments.runner import start_experiment
    from desktop.core.experiments.spec import load_spec

    spec = load_spec(Path(args.spec), max_cells=args.max_cells)
    plan = plan_cells(spec)
    settings, history, experiments = _stores()
    try:
        estimate = estimate_plan(plan, history)
        print(f"{plan.cell_count} cells, {plan.model_loads} model loads, {estimate.summary}", file=sys.stderr)
        experiment = start_experiment(spec, experiments, name=args.name)
        print(f"experiment {experiment.id} ({experiment.name})", file=sys.stderr)
        return _run(experiment.id, args, settings, history, experiments)
    finally:
        history.close()


def resume(args: argparse.Namespace) -> int:
    settings, history, experiments = _stores()
    try:
        return _run(experiments.get(args.id).id, args, settings, history, experiments)
    finally:
        history.close()


def _overview(experiment, history) -> dict:
    from desktop.core.experiments.records import saved_cells

    done = len(saved_cells(history, experiment.id))
    return {"id": experiment.id, "name": experiment.name, "kind": experiment.kind, "status": experiment.status,
            "cells": experiment.cell_count, "done": done, "failed": len(experiment.failures),
            "created_at": experiment.created_at.isoformat(),
            "finished_at": experiment.finished_at.isoformat() if experiment.finished_at else None}


def list_experiments(args: argparse.Namespace) -> int:
    _, history, experiments = _stores()
    try:
        rows = [_overview(e, history) for e in experiments.list()]
    finally:
        history.close()
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    for r in rows:
        failed = f", {r['failed']} failed" if r["failed"] else ""
        print(f"{r['id'][:12]}  {r['status']:<8}  {r['done']}/{r['cells']} done{failed}  {r['kind']:<5}  "
              f"{r['created_at'][:16]}  {r['name']}")
    if not rows:
        print("no experiments yet (run one with `genlab experiment run SPEC.toml`)", file=sys.stderr)
    return 0


def show(args: argparse.Namespace) -> int:
    from desktop.core.experiments.export import cell_rows

    _, history, experiments = _stores()
    try:
        experiment = experiments.get(args.id)
        overview = _overview(experiment, history)
        rows = cell_rows(experiment, history)
    finally:
        history.close()
    if args.json:
        print(json.dumps({**overview, "spec": experiment.spec, "cells": rows}, ensure_ascii=False, default=str))
        return 0
    print(f"{experiment.name}  ({experiment.id}, {experiment.kind}, {overview['status']}: "
          f"{overview['done']}/{overview['cells']} done, {overview['failed']} failed)")
    axes = list(experiment.spec.get("axes", {}))
    for row in rows:
        coords = ", ".join(f"{a}={row[a]}" for a in axes)
        result = row["error"] or row["output_text"] or row["image_path"]
        print(f"  {row['cell']:>4}  {row['status']:<7}  {coords}  {' '.join(str(result).split())[:80]}")
    return 0


def export(args: argparse.Namespace) -> int:
    from desktop.core.experiments.export import export_experiment

    _, history, experiments = _stores()
    try:
        count = export_experiment(experiments.get(args.id), history, Path(args.file), embed_images=args.embed_images)
    finally:
        history.close()
    print(f"{count} cells written to {args.file}", file=sys.stderr)
    return 0


def delete(args: argparse.Namespace) -> int:
    from desktop.core.experiments.records import delete_experiment

    _, history, experiments = _stores()
    try:
        deleted = delete_experiment(experiments, history, args.id, with_records=args.with_records)
    finally:
        history.close()
    kept = "" if args.with_records else " (its records stay in the history; --with-records deletes them)"
    print(f"experiment deleted, {deleted} records deleted{kept}", file=sys.stderr)
    return 0


def _action(sub, name: str, func, help_text: str, *, with_id: bool = False, with_json: bool = False):
    """One ACTION's parser: its positional experiment ID and its --json when it takes them."""
    p = sub.add_parser(name, help=help_text)
    if with_id:
        p.add_argument("id", help="the experiment's id, or a unique prefix of six characters or more")
    if with_json:
        p.add_argument("--json", action="store_true", help="print JSON instead of lines of text")
    p.set_defaults(func=func)
    return p


def register(subparsers) -> None:
    p = subparsers.add_parser("experiment", help="run sweeps over models, prompts, seeds and parameters",
                              description="Run a sweep spec; every cell is saved in the history.")
    sub = p.add_subparsers(dest="experiment_command", metavar="ACTION", required=True)
    r = _action(sub, "run", run, "plan and run a spec (.toml or .json)", with_json=True)
    r.add_argument("spec", help="the sweep spec file")
    r.add_argument("--name", help="the experiment's name (default: the spec's)")
    r.add_argument("--max-cells", type=int, help="the most cells to allow (default: the spec's, or 10,000)")
    _action(sub, "resume", resume, "run the cells of an experiment not saved yet", with_id=True, with_json=True)
    _action(sub, "list", list_experiments, "every experiment with its status", with_json=True)
    _action(sub, "show", show, "an experiment's cells and results", with_id=True, with_json=True)
    e = _action(sub, "export", export, "one row per cell to .csv or .parquet, or an .html report", with_id=True)
    e.add_argument("file", help="FILE.csv, FILE.parquet or FILE.html (images go to FILE_files/ beside it)")
    e.add_argument("--embed-images", action="store_true", help="put an .html report's images inside it")
    d = _action(sub, "delete", delete, "delete an experiment (and with --with-records its records)", with_id=True)
    d.add_argument("--with-records", action="store_true", help="also delete its cells' history records")
