"""``genlab arena``: blind pairs on SmolLM2-135M-Instruct vs stories260K, votes from stdin, the leaderboard."""

from __future__ import annotations

import io
import json
import sys

import pytest

from desktop.cli import main

pytest.importorskip("llama_cpp")

PROMPTS = "Write a python function that adds two numbers\nTell me a story about a dragon\n"


def cli(capsys, monkeypatch, *argv: str, stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(["arena", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def prompts(tmp_path):
    path = tmp_path / "prompts.txt"
    path.write_text(PROMPTS, encoding="utf-8")
    return path


@pytest.mark.slow
def test_run_vote_by_pipe_then_the_leaderboard(capsys, monkeypatch, prompts, smollm2, stories260k, tmp_path):
    code, out, err = cli(capsys, monkeypatch, "run", "--a", str(smollm2), "--b", str(stories260k), "--prompts",
                         str(prompts), "--max-tokens", "8", "--seed", "3", stdin="1\n3\n")
    assert code == 0, err
    assert out.count("=== Pair") == 2 and out.count("Vote recorded") == 2
    first_reveal = out.index("Vote recorded")
    # Blind: neither name appears before the first vote is recorded.
    assert "SmolLM2" not in out[:first_reveal] and "stories260K" not in out[:first_reveal]
    reveals = [line for line in out.splitlines() if line.startswith("Vote recorded")]
    assert all({"SmolLM2-135M-Instruct.Q4_1", "stories260K"} <= set(line.rstrip(".").replace(",", "").split())
               for line in reveals)
    assert "4 answers generated, 0 failed; 2 votes recorded" in err

    code, out, _ = cli(capsys, monkeypatch, "leaderboard", "--json", "--bootstrap", "50")
    board = json.loads(out)
    assert code == 0 and board["votes"] == 2
    assert {s["contender"] for s in board["standings"]} == {"SmolLM2-135M-Instruct.Q4_1", "stories260K"}
    assert sum(s["wins"] for s in board["standings"]) == 1 and all(s["ties"] == 1 for s in board["standings"])
    assert board["star_ratings"] == []

    code, out, _ = cli(capsys, monkeypatch, "leaderboard", "--topic", "python", "--mode", "keyword", "--json")
    assert json.loads(out)["votes"] == 1
    code, out, _ = cli(capsys, monkeypatch, "leaderboard", "--topic", "quantum chromodynamics", "--mode", "keyword")
    assert code == 0 and "No text votes match the topic 'quantum chromodynamics'." in out
    code, out, _ = cli(capsys, monkeypatch, "leaderboard")
    assert "text arena: 2 votes" in out and "stories260K" in out

    # The history now holds both prompts: a search picks the python one as the next run's only prompt.
    code, out, err = cli(capsys, monkeypatch, "run", "--a", str(smollm2), "--b", str(stories260k),
                         "--prompts-search", "python", "--max-tokens", "4", "--judge", "none")
    assert code == 0 and out.count("=== Pair") == 1 and "Prompt: Write a python function" in out

    code, out, _ = cli(capsys, monkeypatch, "export", str(tmp_path / "votes.jsonl"))
    exported = [json.loads(x) for x in (tmp_path / "votes.jsonl").read_text().splitlines()]
    assert code == 0 and [v["verdict"] for v in exported] == ["a", "tie"]
    code, out, _ = cli(capsys, monkeypatch, "delete", exported[0]["id"])
    assert code == 0 and "1 votes deleted" in out
    code, out, _ = cli(capsys, monkeypatch, "votes", "--json")
    assert [v["id"] for v in json.loads(out)] == [exported[1]["id"]]


@pytest.mark.slow
def test_judge_none_only_generates(capsys, monkeypatch, prompts, smollm2, stories260k):
    code, out, err = cli(capsys, monkeypatch, "run", "--a", str(smollm2), "--b", str(stories260k), "--prompts",
                         str(prompts), "--max-tokens", "4", "--judge", "none", stdin="1\n")
    assert code == 0 and out.count("=== Pair") == 2 and "Vote recorded" not in out
    assert "0 votes recorded" in err


def test_one_contender_is_refused(capsys, monkeypatch, prompts, stories260k):
    code, _, err = cli(capsys, monkeypatch, "run", "--a", str(stories260k), "--prompts", str(prompts))
    assert code == 2 and "--a was given without --b." in err
    code, _, err = cli(capsys, monkeypatch, "run", "--contender", str(stories260k), "--prompts", str(prompts))
    assert code == 2 and "The arena needs two contenders; the command line names 1." in err


@pytest.mark.parametrize(("argv", "said"), [
    (["--contender", "::temperature=0.2", "--contender", "x"], "--contender '::temperature=0.2' names no model."),
    (["--contender", "{m}", "--contender", "{m}::temperature"], "A preset setting needs KEY=VALUE, not 'temperature'"),
    (["--contender", "{m}", "--contender", "{m}::colour=red"], "'colour' cannot be part of a text contender's preset"),
    (["--contender", "{m}", "--contender", "{m}", "--a-set", "top_k=5"], "--a-set and --b-set go with --a and --b."),
    ([arg for n in range(9) for arg in ("--contender", f"{{m}}::seed={n}")], "at most 8 contenders; the command line names 9"),
])
def test_bad_contender_options_are_named(capsys, monkeypatch, prompts, stories260k, argv, said):
    argv = [a.replace("{m}", str(stories260k)) for a in argv]
    code, _, err = cli(capsys, monkeypatch, "run", *argv, "--prompts", str(prompts))
    assert code == 2 and said in err, err


@pytest.mark.slow
def test_three_contenders_meet_two_by_two(capsys, monkeypatch, tmp_path, stories260k):
    one = tmp_path / "one.txt"
    one.write_text("Once upon a time\n", encoding="utf-8")
    code, out, err = cli(capsys, monkeypatch, "run", "--contender", str(stories260k),
                         "--contender", f"{stories260k}::temperature=1.5, top_p=0.9",
                         "--contender", f"{stories260k}::top_k=3", "--prompts", str(one), "--max-tokens", "4",
                         "--seed", "1", stdin="1\n2\n3\n")
    assert code == 0, err
    assert out.count("=== Pair") == 3 and "Pair 3/3" in out and out.count("Vote recorded") == 3
    assert "6 answers generated, 0 failed; 3 votes recorded" in err
    code, out, _ = cli(capsys, monkeypatch, "leaderboard", "--json", "--bootstrap", "20")
    board = json.loads(out)
    assert board["votes"] == 3 and len(board["standings"]) == 3
    assert sum(s["votes"] for s in board["standings"]) == 6  # each vote counts for both of its contenders


def test_two_identical_contenders_are_refused(capsys, monkeypatch, prompts, stories260k):
    code, _, err = cli(capsys, monkeypatch, "run", "--a", str(stories260k), "--b", str(stories260k), "--prompts",
                       str(prompts))
    assert code == 2 and "Two contenders are the same: stories260K" in err


@pytest.mark.slow
def test_a_model_that_fails_to_load_keeps_the_other_answers(capsys, monkeypatch, prompts, stories260k, tmp_path):
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\0" * 64)
    code, out, err = cli(capsys, monkeypatch, "run", "--a", str(stories260k), "--b", str(broken), "--prompts",
                         str(prompts), "--max-tokens", "4", stdin="1\n1\n")
    assert code == 1
    assert "error: Could not load broken (broken.gguf):" in err
    assert err.count("cannot be voted on: Could not load broken") == 2
    assert out.count("(no answer: Could not load broken") == 2 and "Vote recorded" not in out
    assert "2 answers generated, 2 failed; 0 votes recorded" in err


@pytest.mark.slow
def test_an_invalid_vote_line_stops_with_its_line_number(capsys, monkeypatch, prompts, smollm2, stories260k):
    code, out, err = cli(capsys, monkeypatch, "run", "--a", str(smollm2), "--b", str(stories260k), "--prompts",
                         str(prompts), "--max-tokens", "4", stdin="2\nbetter\n")
    assert code == 2 and out.count("Vote recorded") == 1
    assert "error: Vote line 2: 'better' is not a vote. Answer 1 (A better), 2 (B better), 3 (tie) or 4" in err
    code, out, _ = cli(capsys, monkeypatch, "votes", "--json")
    assert [v["verdict"] for v in json.loads(out)] == ["b"]


@pytest.mark.slow
def test_a_missing_prompts_file_is_named(capsys, monkeypatch, tmp_path, stories260k, smollm2):
    code, _, err = cli(capsys, monkeypatch, "run", "--a", str(smollm2), "--b", str(stories260k), "--prompts",
                       str(tmp_path / "nope.txt"))
    assert code == 2 and "Cannot read the prompts file" in err and "nope.txt" in err
