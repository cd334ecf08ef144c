"""The cell planner: full product, paired axes, repeats, grouping by model, the time estimate."""

from __future__ import annotations

from pathlib import Path

from desktop.core.experiments.estimate import estimate_plan
from desktop.core.experiments.plan import plan_cells
from desktop.core.experiments.spec import parse_spec


def spec(axes: dict, fixed: dict | None = None, **top):
    return parse_spec({"kind": "text", "fixed": {"max_tokens": 8, **(fixed or {})}, "axes": axes, **top},
                      check_models=False)


def plan(s):
    return plan_cells(s, resolve=Path)


def test_the_full_product_varies_the_first_axis_slowest():
    cells = plan(spec({"model": ["a.gguf"], "temperature": [0.0, 0.7], "prompt": ["x", "y", "z"]})).cells
    assert [(c.coords["temperature"], c.prompt) for c in cells] == [
        (0.0, "x"), (0.0, "y"), (0.0, "z"), (0.7, "x"), (0.7, "y"), (0.7, "z")]
    assert [c.index for c in cells] == list(range(6))
    assert cells[4].values == {"max_tokens": 8, "model": "a.gguf", "temperature": 0.7, "prompt": "y"}


def test_paired_axes_are_zipped_and_crossed_with_the_others():
    s = spec({"model": ["a.gguf"], "prompt": ["x", "y", "z"], "seed": [1, 2, 3], "temperature": [0.0, 1.0]},
             paired=[["prompt", "seed"]])
    cells = plan(s).cells
    assert s.cell_count == len(cells) == 6
    assert [(c.prompt, c.values["seed"], c.values["temperature"]) for c in cells] == [
        ("x", 1, 0.0), ("x", 1, 1.0), ("y", 2, 0.0), ("y", 2, 1.0), ("z", 3, 0.0), ("z", 3, 1.0)]


def test_repeats_are_innermost_and_take_the_next_seeds():
    cells = plan(spec({"model": ["a.gguf"], "prompt": ["x", "y"]}, fixed={"seed": 10}, repeats=3)).cells
    assert [(c.prompt, c.repeat, c.values["seed"]) for c in cells] == [
        ("x", 0, 10), ("x", 1, 11), ("x", 2, 12), ("y", 0, 10), ("y", 1, 11), ("y", 2, 12)]


def test_repeats_without_a_seed_leave_the_seed_to_the_engine():
    cells = plan(spec({"model": ["a.gguf"], "prompt": ["x"]}, repeats=2)).cells
    assert len(cells) == 2 and all("seed" not in c.values for c in cells)


def test_cells_are_grouped_by_model_so_each_model_loads_once():
    # The model axis varies fastest here, so cells of one model are not neighbours in index order.
    p = plan(spec({"prompt": ["x", "y"], "temperature": [0.0, 1.0], "model": ["a.gguf", "b.gguf"]}))
    assert p.model_loads == 2 and [g.model for g in p.groups] == ["a.gguf", "b.gguf"]
    assert [c.index for c in p.groups[0].cells] == [0, 2, 4, 6]
    assert [c.index for c in p.groups[1].cells] == [1, 3, 5, 7]
    assert all(c.model == g.model for g in p.groups for c in g.cells)


def test_an_axis_of_context_sizes_needs_a_load_per_size():
    p = plan(spec({"model": ["a.gguf"], "ctx": [256, 512], "prompt": ["x"]}))
    assert p.model_loads == 2 and [g.load for g in p.groups] == [(("ctx", 256),), (("ctx", 512),)]


def test_a_template_fills_each_cell_prompt():
    s = spec({"model": ["a.gguf"], "animal": ["cat", "dog"], "style": ["oil", "ink"]},
             template="a {animal} in {style}")
    assert [c.prompt for c in plan(s).cells] == ["a cat in oil", "a cat in ink", "a dog in oil", "a dog in ink"]
    assert "animal" not in plan(s).cells[0].values  # a variable that is no parameter only fills the prompt


def test_the_estimate_uses_the_recorded_speed_of_each_model(tmp_path):
    from desktop.core.history.store import HistoryStore
    from desktop.core.records import GenerationRecord, ModelIdentity

    store = HistoryStore(tmp_path / "history", embedder=None)
    try:
        for rate in (90.0, 100.0, 110.0):
            store.save(GenerationRecord(kind="text", prompt="p", model=ModelIdentity(file="a.gguf"),
                                        timings={"tokens_per_s": rate}))
        store.flush()
        p = plan(spec({"model": ["a.gguf", "b.gguf"], "prompt": ["x", "y"]}, fixed={"max_tokens": 50}))
        known = estimate_plan(p, store)
        assert known.seconds == 2 * 50 / 100.0 and known.unknown_cells == 2 and known.measured
        assert "plus 2 cells of models with no recorded speed" in known.summary
        assert estimate_plan(p, store, bandwidth=1e9).unknown_cells == 0  # b.gguf from the CPU estimate
    finally:
        store.close()
