"""``genlab dataset export sft`` end to end on a real store (in-process, through desktop.cli.main)."""

from __future__ import annotations

import pyarrow.json as pj
import pytest

from desktop.cli import main
from desktop.core.history.store import HistoryStore
from tests.support.history import make_record


def _fill():
    store = HistoryStore(embedder=None)
    store.save_many([make_record("Write a haiku", output_text="Leaves fall", rating=5, tags=["poems"]),
                     make_record("Explain DNS", output_text="Names to numbers", rating=2)])
    store.close()


@pytest.mark.slow
def test_export_sft_with_history_filters(genlab_home, tmp_path, capsys):
    _fill()
    out = tmp_path / "poems.jsonl"
    assert main(["dataset", "export", "sft", str(out), "--rating", "4", "--filter", "tag=poems"]) == 0
    assert "wrote 1 rows" in capsys.readouterr().out
    rows = pj.read_json(out).to_pylist()
    assert rows[0]["messages"][-1] == {"role": "assistant", "content": "Leaves fall"}
    assert rows[0]["origin"] == "generated"


def test_bad_filters_and_empty_selections_are_clear_errors(genlab_home, tmp_path, capsys):
    _fill()
    out = tmp_path / "x.jsonl"
    assert main(["dataset", "export", "sft", str(out), "--filter", "colour=blue"]) == 2
    assert "no history filter named 'colour'" in capsys.readouterr().err
    assert main(["dataset", "export", "sft", str(out), "--model", "nobody"]) == 2
    assert "No text record with an answer matches" in capsys.readouterr().err
    assert main(["dataset", "export", "sft", str(out), "--kind", "image"]) == 2
    assert "text records, not 'image'" in capsys.readouterr().err
    assert not out.exists()


def test_export_preference_from_arena_votes(genlab_home, tmp_path, capsys):
    from desktop.core.arena.votes import Vote, VoteStore

    store = HistoryStore(embedder=None)
    a, b = make_record("Say hi", output_text="Hello!"), make_record("Say hi", output_text="hi hi")
    store.save_many([a, b])
    VoteStore.beside(store).add(Vote(kind="text", prompt="Say hi", a_label="A", a_record_id=a.id, b_label="B",
                                     b_record_id=b.id, verdict="b"))
    store.close()
    out = tmp_path / "dpo.jsonl"
    assert main(["dataset", "export", "preference", str(out)]) == 0
    assert "wrote 1 rows" in capsys.readouterr().out
    assert pj.read_json(out).to_pylist()[0]["chosen"] == "hi hi"
    assert main(["dataset", "export", "preference", str(out), "--query", "zebra", "--mode", "keyword"]) == 2
    assert "No decisive arena vote has an answer matching the search 'zebra'" in capsys.readouterr().err
    assert main(["dataset", "export", "preference", str(out), "--query", "hi", "--mode", "keyword"]) == 0
    assert "wrote 1 rows" in capsys.readouterr().out
    assert main(["dataset", "export", "preference", str(out), "--experiment", "nowhere"]) == 2
    assert "No experiment is named 'nowhere'" in capsys.readouterr().err
    assert main(["dataset", "export", "preference", str(out), "--near-duplicates", "1.5"]) == 2
    assert "threshold must be a cosine similarity" in capsys.readouterr().err


@pytest.mark.slow  # loads the embedder
def test_preference_near_duplicates_print_their_count(genlab_home, tmp_path, capsys):
    from desktop.core.arena.votes import Vote, VoteStore

    store = HistoryStore(embedder=None)
    pairs = [(make_record(p, output_text=a), make_record(p, output_text="no idea"))
             for p, a in (("Say hi", "Hello there!"), ("Say hi, please", "Hello there!!"), ("Count", "1 2 3"))]
    store.save_many([r for pair in pairs for r in pair])
    for a, b in pairs:
        VoteStore.beside(store).add(Vote(kind="text", prompt=a.prompt, a_label="A", a_record_id=a.id,
                                         b_label="B", b_record_id=b.id, verdict="a"))
    store.close()
    out = tmp_path / "dpo.jsonl"
    assert main(["dataset", "export", "preference", str(out), "--near-duplicates", "0.9"]) == 0
    printed = capsys.readouterr().out
    assert "wrote 2 rows" in printed and "1 near duplicates at cosine >= 0.9 dropped" in printed
    assert pj.read_json(out).column("prompt").to_pylist() == ["Say hi", "Count"]
