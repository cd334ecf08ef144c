"""``genlab history ...`` end to end on a real store (in-process, through desktop.cli.main)."""

from __future__ import annotations

import json

import pytest

from desktop.cli import main
from desktop.core.history.store import HistoryStore
from tests.core.history.conftest import make_record


@pytest.fixture
def filled(genlab_home):
    store = HistoryStore(embedder=None)
    records = [make_record("How do I bake sourdough bread at home?", session_id="kitchen"),
               make_record("Write a limerick about a cat on a boat", session_id="poems"),
               make_record("a watercolor lighthouse at dusk", kind="image", session_id="poems")]
    store.save_many(records)
    store.close()
    return records


def _json_out(capsys):
    return json.loads(capsys.readouterr().out)


def test_search_json_has_the_documented_fields(filled, capsys):
    assert main(["history", "search", "limerick", "--mode", "keyword", "--json"]) == 0
    hits = _json_out(capsys)
    assert [h["prompt"] for h in hits] == ["Write a limerick about a cat on a boat"]
    assert {"id", "kind", "prompt", "output", "model", "created_at", "score"} <= set(hits[0])


def test_hybrid_search_embeds_old_records_then_finds_a_paraphrase(filled, capsys):
    assert main(["history", "search", "recipe for a homemade loaf", "--limit", "1", "--json"]) == 0
    captured = capsys.readouterr()
    assert "embedding 3 records first" in captured.err
    assert json.loads(captured.out)[0]["prompt"] == "How do I bake sourdough bread at home?"


def test_search_and_show_name_the_session(filled, capsys):
    assert main(["history", "search", "limerick", "--mode", "keyword"]) == 0
    assert f"{filled[1].id}  session poems  " in capsys.readouterr().out
    assert main(["history", "search", "limerick", "--mode", "keyword", "--json"]) == 0
    assert _json_out(capsys)[0]["session_id"] == "poems"
    assert main(["history", "show", filled[1].id]) == 0
    assert _json_out(capsys)["session_id"] == "poems"


def test_queries_file_prints_one_array_per_line(filled, capsys, tmp_path):
    queries = tmp_path / "q.txt"
    queries.write_text("limerick\nlighthouse\n")
    assert main(["history", "search", "--queries", str(queries), "--mode", "keyword", "--kind", "image"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [[h["prompt"] for h in json.loads(line)] for line in lines] == [[], ["a watercolor lighthouse at dusk"]]


def test_show_import_export_delete_stats(filled, capsys, tmp_path):
    assert main(["history", "show", filled[0].id]) == 0
    assert _json_out(capsys)["prompt"] == filled[0].prompt

    out = tmp_path / "all.parquet"
    assert main(["history", "export", str(out)]) == 0
    assert "exported 3 records" in capsys.readouterr().out

    assert main(["history", "delete", "--session", "poems"]) == 0
    assert "deleted 2 records" in capsys.readouterr().out
    assert main(["history", "stats", "--json"]) == 0
    assert _json_out(capsys)["records"] == 1

    assert main(["history", "import", str(out)]) == 0
    assert "imported 2, skipped 1 duplicates, 0 broken lines" in capsys.readouterr().out

    assert main(["history", "delete", filled[0].id]) == 0
    assert main(["history", "delete", "--all"]) == 0
    capsys.readouterr()
    assert main(["history", "stats"]) == 0
    assert "records=0" in capsys.readouterr().out


def test_user_errors_are_one_line_and_exit_2(filled, capsys, tmp_path):
    assert main(["history", "show", "no-such-id"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: No history record has the id 'no-such-id'") and err.count("\n") == 1
    assert main(["history", "import", str(tmp_path / "missing.jsonl")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["history", "export", str(tmp_path / "x.parquet"), "--images"]) == 2
    assert "JSONL format only" in capsys.readouterr().err
    assert main(["history", "search", "x", "--limit", "0"]) == 2
    assert "--limit" in capsys.readouterr().err


def _exported_prompts(path):
    return sorted(json.loads(line)["prompt"] for line in path.read_text().splitlines())


def test_export_chosen_records_by_id_query_and_kind(filled, capsys, tmp_path):
    bread, limerick, lighthouse = filled
    out = tmp_path / "two.jsonl"
    assert main(["history", "export", str(out), "--ids", bread.id, lighthouse.id]) == 0
    assert "exported 2 records" in capsys.readouterr().out
    assert _exported_prompts(out) == [bread.prompt, lighthouse.prompt]

    assert main(["history", "export", str(out), "--query", "limerick boat", "--mode", "keyword"]) == 0
    assert _exported_prompts(out) == [limerick.prompt]

    assert main(["history", "export", str(out), "--kind", "image"]) == 0
    assert _exported_prompts(out) == [lighthouse.prompt]

    assert main(["history", "export", str(out), "--ids", bread.id, limerick.id, "--kind", "text"]) == 0
    assert _exported_prompts(out) == [bread.prompt, limerick.prompt]

    parquet = tmp_path / "one.parquet"
    assert main(["history", "export", str(parquet), "--query", "a lighthouse by the sea", "--limit", "1"]) == 0
    assert "exported 1 records" in capsys.readouterr().out  # hybrid: the embedder is loaded for the query
    import pyarrow.parquet as pq

    assert pq.read_table(parquet)["prompt"].to_pylist() == [lighthouse.prompt]


def test_export_of_unknown_ids_or_no_matches_writes_nothing_and_says_why(filled, capsys, tmp_path):
    out = tmp_path / "none.jsonl"
    assert main(["history", "export", str(out), "--ids", filled[0].id, "no-such-id"]) == 2
    assert "No history record has the id no-such-id; nothing was exported." in capsys.readouterr().err
    assert main(["history", "export", str(out), "--query", "zzyzx", "--mode", "keyword"]) == 2
    assert "No history record matches 'zzyzx'" in capsys.readouterr().err
    assert main(["history", "export", str(out), "--mode", "keyword"]) == 2
    assert "give --query too" in capsys.readouterr().err
    assert main(["history", "export", str(out), "--query", "bread", "--limit", "0"]) == 2
    assert not out.exists()
    with pytest.raises(SystemExit):  # argparse: --ids and --query do not go together
        main(["history", "export", str(out), "--ids", "a", "--query", "b"])


def test_import_reports_broken_lines_with_their_numbers(genlab_home, capsys, tmp_path):
    src = tmp_path / "mixed.jsonl"
    lines = ['{"kind": "text", "prompt": "bad seed line", "seed": "abc"}', "this line is broken"]
    lines += [json.dumps({"kind": "text", "prompt": f"good line {i}"}) for i in range(250)]
    src.write_text("\n".join(lines) + "\n")
    assert main(["history", "import", str(src)]) == 0
    captured = capsys.readouterr()
    assert "imported 250, skipped 0 duplicates, 2 broken lines" in captured.out
    assert "  line 1: 'seed' must be a whole number, not 'abc'" in captured.err
    assert "  line 2: not valid JSON" in captured.err
