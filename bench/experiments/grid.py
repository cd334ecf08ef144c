"""The grid half: GUI-thread time to open a 400-cell image experiment in the results view.

    python -m bench experiments --part grid [--cells 400] [--runs 7]

A seeded image experiment (20 seeds x 20 guidances; no pipeline runs) whose
cells are small real PNGs (96x96) saved through the history with their cell
tags, read back as the workspace reads it (``results_job``, an io job, not
counted).  Each run asks a shown :class:`ResultsPane` (offscreen Qt) to show
it afresh and times, in GUI-thread CPU time (``time.thread_time``) and wall
time:

- ``open``: from ``show_results`` until the grid is laid out and painted
  once (every cell placed, thumbnails requested from the decode pool);
- ``thumbnails``: from then until every thumbnail, decoded off the GUI
  thread, is in its cell (the GUI thread's share: turning each into a pixmap).

The first open decodes the PNGs; later ones hit the process's thumbnail cache,
as reopening an experiment does.  Prints the median and max of each (goal:
open under 200 ms of GUI-thread time).
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from dataclasses import asdict
from pathlib import Path

SIDE = 96  # px of each cell's PNG: small real images


def seed_experiment(history, folder: Path, cells: int) -> str:
    """A finished image experiment of ``cells`` cells (a square number) whose records point at real PNGs."""
    from PIL import Image

    from desktop.core.experiments.plan import plan_cells
    from desktop.core.experiments.records import PARAMETER_KEY, CellTag
    from desktop.core.experiments.spec import parse_spec
    from desktop.core.experiments.store import FINISHED, ExperimentStore
    from desktop.core.records import GenerationRecord

    side = math.isqrt(cells)
    spec = parse_spec({"name": f"{cells} cells", "kind": "image",
                       "fixed": {"model": str(folder / "no-model"), "steps": 1, "size": "64x64", "prompt": "a tile"},
                       "axes": {"seed": list(range(1, side + 1)), "guidance": [float(g) for g in range(1, side + 1)]}},
                      check_models=False)
    experiments = ExperimentStore.beside(history)
    experiment = experiments.create(spec)
    folder.mkdir(parents=True, exist_ok=True)
    records = []
    for cell in plan_cells(spec, resolve=Path).cells:
        path = folder / f"cell-{cell.index}.png"
        Image.new("RGB", (SIDE, SIDE), (cell.index * 37 % 256, cell.index * 11 % 256, 160)).save(path)
        tag = CellTag(experiment.id, experiment.name, cell.index, cell.repeat, dict(cell.coords))
        records.append(GenerationRecord(kind="image", prompt="a tile", image_path=str(path), session_id=experiment.id,
                                        seed=cell.coords["seed"], parameters={PARAMETER_KEY: asdict(tag)}))
    history.save_many(records)
    experiment.status = FINISHED
    experiments.save(experiment)
    return experiment.id


def _all_shown(pane) -> bool:
    from PySide6.QtCore import Qt

    table = pane.current_table()
    return all(table.item(r, c).data(Qt.ItemDataRole.DecorationRole) is not None
               for r in range(table.rowCount()) for c in range(table.columnCount()))


def _open_once(app, pane, results) -> tuple[float, float, float, float]:
    """(open GUI-thread s, open wall s, thumbnails GUI-thread s, thumbnails wall s)."""
    from PySide6.QtCore import QEventLoop

    pane.results = None  # shown afresh, as another experiment picked in the list
    c0, t0 = time.thread_time(), time.perf_counter()
    pane.show_results(results)
    app.processEvents()
    pane.repaint()  # the layout and one paint, now
    c1, t1 = time.thread_time(), time.perf_counter()
    gui = 0.0
    while not _all_shown(pane):
        w0 = time.thread_time()
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        gui += time.thread_time() - w0
        if time.perf_counter() - t1 > 60:
            raise RuntimeError("the thumbnails did not all arrive within 60 s")
        time.sleep(0.002)  # let the decode pool work; this wait is not GUI-thread time
    return c1 - c0, t1 - t0, gui, time.perf_counter() - t1


def run(args: argparse.Namespace, home: Path) -> int:
    from PySide6.QtWidgets import QApplication

    from desktop.core.experiments.store import ExperimentStore
    from desktop.core.history.store import HistoryStore
    from desktop.ui.experiments.jobs import results_job
    from desktop.ui.experiments.results import ResultsPane

    app = QApplication.instance() or QApplication([])
    history = HistoryStore(home / "grid-history", embedder=None)
    try:
        experiment_id = seed_experiment(history, home / "grid-cells", args.cells)
        results = results_job(history, ExperimentStore.beside(history), experiment_id, cancel=None, progress=None)
        assert len(results.records) == args.cells, len(results.records)
        pane = ResultsPane()
        pane.resize(1400, 900)
        pane.show()
        app.processEvents()
        runs = [_open_once(app, pane, results) for _ in range(args.runs)]
        pane.close()
    finally:
        history.close()
    first, rest = runs[0], runs[1:] or runs
    print(f"grid_cells={args.cells} png={SIDE}x{SIDE} runs={args.runs}")
    print(f"grid_open_gui_ms median={statistics.median(r[0] for r in rest) * 1000:.1f} "
          f"max={max(r[0] for r in rest) * 1000:.1f} first={first[0] * 1000:.1f} (goal < 200)")
    print(f"grid_open_wall_ms median={statistics.median(r[1] for r in rest) * 1000:.1f}")
    print(f"grid_thumbnails_gui_ms median={statistics.median(r[2] for r in rest) * 1000:.1f} "
          f"first={first[2] * 1000:.1f}")
    print(f"grid_thumbnails_wall_ms median={statistics.median(r[3] for r in rest) * 1000:.1f} "
          f"first={first[3] * 1000:.1f}")
    return 0
