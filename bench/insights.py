"""Time to open the Insights view at 100k records, against a naive bare-library aggregation.

    python -m bench insights [--records 100000] [--runs 5]

A history of N records (every 5th an image; three text and two image models;
a record every 3 minutes, so ~200 days; realistic timings and parameters JSON)
is written in batches of 10,000.  Then, alternating, ``--runs`` times each:

(a) core: :func:`~desktop.core.insights.compute.compute_insights` (column
    scans + pyarrow compute / group_by, disk use included);
(b) bare: the same columns read from LanceDB as Python rows (``to_pylist``),
    the JSON parsed per row with ``json.loads`` and aggregated in dicts;
(c) view: under offscreen Qt, a new InsightsWorkspace shown until its
    ``insights_shown`` signal and its first full paint (``grab()``), on the
    app's io runner.  The first view opened (pyqtgraph imported then) is
    reported apart as ``view_first_s``.

Prints the medians, ``insights_ratio`` = median (b) / median (a) (how many
times faster than the naive path) and whether the view met the goal of
opening in <= 1 s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

os.environ.setdefault("LANCE_LOG", "error")

TEXT_MODELS = ("SmolLM2-135M-Instruct", "stories260K", "Qwen3-0.6B")
IMAGE_MODELS = ("tiny-sd", "sd-turbo")
COLUMNS = ["created_at", "kind", "model_name", "model_file", "rating", "timings_json", "parameters_json"]
GOAL_S = 1.0


def build_records(n: int):
    from desktop.core.records import GenerationRecord, ModelIdentity

    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    out = []
    for i in range(n):
        created = start + timedelta(minutes=3 * i)
        if i % 5 == 4:
            side = (512, 768)[(i // 10) % 2]
            out.append(GenerationRecord(
                kind="image", prompt=f"a lighthouse at dusk, study {i}", id=f"r{i:07d}", created_at=created,
                session_id=f"s{i // 20}", model=ModelIdentity(name=IMAGE_MODELS[i % 2], file="model.safetensors"),
                parameters={"width": side, "height": 512, "steps": 4, "guidance": 0.0, "scheduler": "Euler a",
                            "mode": "txt2img", "batch_index": 0, "family": "sd-turbo", "loras": [],
                            "dtype": "float16", "offload": "none", "prompt": f"a lighthouse at dusk, study {i}"},
                timings={"load_s": 0.0, "steps_s": 2.0, "per_step_s": 0.4 + 0.01 * (i % 9), "decode_s": 0.2,
                         "save_s": 0.05, "total_s": 2.3},
                seed=i, rating=(i // 2) % 6, device="cuda"))
        else:
            out.append(GenerationRecord(
                kind="text", prompt=f"explain topic {i}", id=f"r{i:07d}", created_at=created,
                session_id=f"s{i // 20}", output_text="an answer " * 20,
                model=ModelIdentity(name=TEXT_MODELS[i % 3], file=f"{TEXT_MODELS[i % 3]}.gguf"),
                parameters={"temperature": 0.7, "top_p": 0.95, "top_k": 40, "min_p": 0.05, "repeat_penalty": 1.1,
                            "max_tokens": 256, "mode": "chat"},
                timings={"ttft_s": 0.05 + 0.001 * (i % 50), "total_s": 2.0, "tokens_per_s": 30.0 + i % 17,
                         "prompt_tokens": 40, "completion_tokens": 60, "load_s": 0.0},
                seed=i, rating=(i // 2) % 6, device="cpu"))
    return out


def bare(store) -> dict:
    """The naive path: every row as a Python dict, JSON parsed per row, aggregated in dicts."""
    rows = store.table.to_lance().to_table(columns=COLUMNS).to_pylist()
    per_kind: Counter = Counter()
    per_model: Counter = Counter()
    ratings: Counter = Counter()
    speed: dict = defaultdict(list)
    image: dict = defaultdict(list)
    for r in rows:
        day = r["created_at"].date()
        model = r["model_name"] or r["model_file"] or "(unknown model)"
        per_kind[(day, r["kind"])] += 1
        per_model[(day, model)] += 1
        ratings[(model, r["rating"] or 0)] += 1
        timings = json.loads(r["timings_json"] or "{}")
        if r["kind"] == "text":
            speed[(day, model)].append((timings.get("tokens_per_s"), timings.get("ttft_s")))
        else:
            p = json.loads(r["parameters_json"] or "{}")
            image[(model, f"{p.get('width')}x{p.get('height')}")].append(timings.get("per_step_s"))
    return {"per_kind": per_kind, "per_model": per_model, "ratings": ratings,
            "speed": {k: statistics.fmean(t for t, _ in v) for k, v in speed.items()},
            "image": {k: statistics.fmean(v) for k, v in image.items()}}


def _open_view(app, services, runner) -> float:
    from PySide6.QtCore import QEventLoop, QTimer

    from desktop.ui.insights.view import InsightsWorkspace

    loop = QEventLoop()
    t0 = time.perf_counter()
    w = InsightsWorkspace(services, runner)
    w.insights_shown.connect(lambda _i: loop.quit())
    w.load_failed.connect(lambda message: (print("load failed:", message), loop.quit()))
    QTimer.singleShot(120_000, loop.quit)
    w.resize(1400, 1000)
    w.show()
    loop.exec()
    w.grab()  # the first full paint of everything on screen
    elapsed = time.perf_counter() - t0
    w.close()
    w.deleteLater()
    app.processEvents()
    return elapsed


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench insights")
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import numpy as np
    from PySide6.QtWidgets import QApplication

    from desktop.core.history.store import HistoryStore
    from desktop.core.insights import InsightsQuery, compute_insights
    from desktop.core.services import Services
    from desktop.core.settings import Settings
    from desktop.ui.runner import JobRunner

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["GENLAB_HOME"] = tmp  # the view's Services use this data root, never the real one
        store = HistoryStore(Path(tmp) / "history", embedder=None, idle_seconds=3600)
        t0 = time.perf_counter()
        records = build_records(args.records)
        for s in range(0, len(records), 10_000):
            chunk = records[s:s + 10_000]
            store.save_embedded(chunk, np.zeros((len(chunk), 384), dtype="float32"))
        store.maintain_now()
        del records
        print(f"n={args.records} build_s={time.perf_counter() - t0:.1f} rows={store.count()}")

        app = QApplication.instance() or QApplication([])
        services = Services(Settings())
        services.provide_history_store(store)
        runner = JobRunner()
        core, naive, view = [], [], []
        check = compute_insights(store, InsightsQuery(utc_offset=timedelta(0)))
        reference = bare(store)  # warm both paths (page cache) and check they agree
        assert sum(check.per_day_kind.column("generations")) == sum(reference["per_kind"].values()) == store.count()
        view_first = _open_view(app, services, runner)
        for _ in range(args.runs):
            t = time.perf_counter()
            compute_insights(store, InsightsQuery(), library=services.library)
            core.append(time.perf_counter() - t)
            t = time.perf_counter()
            bare(store)
            naive.append(time.perf_counter() - t)
            view.append(_open_view(app, services, runner))
        runner.shutdown(timeout=60)
        services.close()
        store.close()
    med = {k: statistics.median(v) for k, v in (("core", core), ("bare", naive), ("view", view))}
    print(f"n={args.records} runs={args.runs} core_s={med['core']:.3f} bare_s={med['bare']:.3f} "
          f"insights_ratio={med['bare'] / med['core']:.1f} view_open_s={med['view']:.3f} "
          f"view_first_s={view_first:.3f} core_min_s={min(core):.3f} view_min_s={min(view):.3f}")
    print(f"goal view_open_s <= {GOAL_S}: {'met' if med['view'] <= GOAL_S else 'NOT met'}")
    return 0
