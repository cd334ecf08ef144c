"""An image arena on the real image engine and the tiny pipeline: two scheduler presets of one model."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop.core.arena.contenders import make_contender
from desktop.core.arena.leaderboard import leaderboard
from desktop.core.arena.pairing import plan_matches, vote_on
from desktop.core.arena.runner import generate_answers
from desktop.core.arena.votes import B_BETTER

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.slow
def test_two_schedulers_of_one_pipeline_answer_with_one_seed_and_can_be_ranked(tiny_sd_pipeline, history, votes):
    from desktop.core.image.engine import ImageEngine

    euler = make_contender("image", str(tiny_sd_pipeline), {"scheduler": "Euler"})
    ddim = make_contender("image", str(tiny_sd_pipeline), {"scheduler": "DDIM", "steps": 3})
    matches = plan_matches([euler, ddim], ["a red square"], order_seed=4, seed=9)
    engine = ImageEngine()
    try:
        run = generate_answers(matches, history=history, image_engine=engine,
                               common={"steps": 2, "width": 64, "height": 64})
    finally:
        engine.close()
    assert run.generated == 2 and run.failed == 0
    match = matches[0]
    left, right = match.left.record, match.right.record
    assert left.kind == right.kind == "image" and left.seed == right.seed == 9
    assert Path(left.image_path).is_file() and Path(right.image_path).is_file()
    by_scheduler = {r.parameters["scheduler"]: r for r in (left, right)}
    assert set(by_scheduler) == {"Euler", "DDIM"}
    assert by_scheduler["DDIM"].parameters["steps"] == 3 and by_scheduler["Euler"].parameters["steps"] == 2
    vote_on(match, B_BETTER, votes, history)
    board = leaderboard(votes.list(), "image", bootstrap=20)
    assert board.standings[0].label == match.contenders()[1].label
    assert leaderboard(votes.list(), "text").notice.startswith("No text votes yet")
