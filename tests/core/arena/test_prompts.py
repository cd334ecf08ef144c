"""The arena's prompt sources: a file, an experiment, a history search."""

from __future__ import annotations

import pytest

from desktop.core.arena.errors import ArenaError
from desktop.core.arena.prompts import prompts_from_experiment, prompts_from_file, prompts_from_search, typed_prompts
from desktop.core.records import GenerationRecord


def test_a_file_gives_one_prompt_a_line_without_blanks_or_repeats(tmp_path):
    path = tmp_path / "p.txt"
    path.write_text("one\n\n  two  \none\n", encoding="utf-8")
    assert prompts_from_file(path) == ["one", "two"]
    with pytest.raises(ArenaError, match="Cannot read the prompts file .*nope.txt"):
        prompts_from_file(tmp_path / "nope.txt")
    (tmp_path / "bin.txt").write_bytes(b"\xff\xfe\xfa")
    with pytest.raises(ArenaError, match="UTF-8 text file"):
        prompts_from_file(tmp_path / "bin.txt")
    (tmp_path / "blank.txt").write_text("\n  \n", encoding="utf-8")
    with pytest.raises(ArenaError, match="blank.txt has no prompts: every line is empty"):
        prompts_from_file(tmp_path / "blank.txt")


def test_typed_prompts_are_one_a_line_and_none_is_refused():
    assert typed_prompts("a\n\n b \na") == ["a", "b"]
    with pytest.raises(ArenaError, match="No prompt is typed"):
        typed_prompts(" \n ")


def test_a_history_search_gives_the_prompts_it_finds(history):
    history.save_many([GenerationRecord("text", "python sorting code", output_text="x"),
                       GenerationRecord("text", "a poem about python snakes", output_text="y"),
                       GenerationRecord("text", "a poem about rain", output_text="z"),
                       GenerationRecord("image", "python logo", image_path="")], timeout=60)
    found = prompts_from_search(history, "python", kind="text", mode="keyword")
    assert sorted(found) == ["a poem about python snakes", "python sorting code"]
    with pytest.raises(ArenaError, match="prompt search is empty"):
        prompts_from_search(history, " ", kind="text")
    with pytest.raises(ArenaError, match="No text record of the history matches the search 'zebra'"):
        prompts_from_search(history, "zebra", kind="text", mode="keyword")


def test_an_experiment_gives_its_cells_prompts(history):
    from dataclasses import asdict

    from desktop.core.experiments.records import PARAMETER_KEY, CellTag
    from desktop.core.experiments.spec import parse_spec
    from desktop.core.experiments.store import ExperimentStore

    experiments = ExperimentStore.beside(history)
    spec = parse_spec({"kind": "text", "fixed": {"model": "m.gguf"},
                       "axes": {"prompt": ["first", "second"], "temperature": [0.1, 0.9]}}, check_models=False)
    experiment = experiments.create(spec)
    for n, (prompt, temperature) in enumerate([("first", 0.1), ("first", 0.9), ("second", 0.1), ("second", 0.9)]):
        tag = CellTag(experiment.id, experiment.name, n, 0, {"prompt": prompt, "temperature": temperature})
        history.save(GenerationRecord("text", prompt, session_id=experiment.id,
                                      parameters={PARAMETER_KEY: asdict(tag)}))
    assert prompts_from_experiment(experiments, history, experiment.id) == ["first", "second"]
    unrun = experiments.create(spec)
    with pytest.raises(ArenaError, match=f"The experiment {unrun.name!r} has no prompts yet"):
        prompts_from_experiment(experiments, history, unrun.id)


def test_read_prompts_follows_the_source_and_names_it_when_it_gives_none(history, tmp_path):
    from desktop.core.arena.prompts import PromptSource, read_prompts
    from desktop.core.experiments.errors import ExperimentNotFound
    from desktop.core.experiments.spec import parse_spec
    from desktop.core.experiments.store import ExperimentStore

    (tmp_path / "p.txt").write_text("from a file\n", encoding="utf-8")
    history.save_many([GenerationRecord("text", "python sorting code", output_text="x")], timeout=60)
    assert read_prompts(PromptSource("typed", "one\ntwo"), history=history, kind="text") == ["one", "two"]
    assert read_prompts(PromptSource("file", str(tmp_path / "p.txt")), history=history, kind="text") == ["from a file"]
    assert read_prompts(PromptSource("search", "python"), history=history, kind="text") == ["python sorting code"]
    with pytest.raises(ArenaError, match="No prompts file is chosen"):
        read_prompts(PromptSource("file", " "), history=history, kind="text")
    with pytest.raises(ArenaError, match="No experiment is named"):
        read_prompts(PromptSource("experiment", ""), history=history, kind="text")
    with pytest.raises(ExperimentNotFound, match="No experiment is named 'nowhere'"):
        read_prompts(PromptSource("experiment", "nowhere"), history=history, kind="text")
    spec = parse_spec({"kind": "text", "fixed": {"model": "m.gguf"}, "axes": {"prompt": ["p"]}}, check_models=False)
    unrun = ExperimentStore.beside(history).create(spec)
    with pytest.raises(ArenaError, match="has no prompts yet"):
        read_prompts(PromptSource("experiment", unrun.name), history=history, kind="text")
    with pytest.raises(ArenaError, match="not a prompt source"):
        read_prompts(PromptSource("dream", "x"), history=history, kind="text")
