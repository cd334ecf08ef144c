"""``genlab history ...`` end to end on a real store (in-process, through desktop.cli.main)."""

from __future__ import annotations

import json

import pytest

from desktop.cli import main
from desktop.core.history.store import HistoryStore
from tests.support.history import make_record


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


@pytest.mark.slow
def test_hybrid_search_embeds_old_records_then_finds_a_paraphrase(filled, capsys):
    assert main(["history", "search", "recipe for a homemade loaf", "--limit", "1", "--json"]) == 0
    captured = capsys.readouterr()
    assert "embedding 3 records first" in captured.err and "not embedded yet" not in captured.err
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


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
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


# --- search filters, sorting and bad queries -----------------------------------------

@pytest.fixture
def cli_embedder(monkeypatch, embedder):
    """The CLI gets the session's loaded embedder instead of loading its own each time."""
    import desktop.core.history.embedder as embedder_module

    monkeypatch.setattr(embedder_module, "Embedder", lambda name=None: embedder)
    return embedder


SHA_TINY, SHA_SD = "ab" * 32, "c0ffee" + "0" * 58


@pytest.fixture
def varied(genlab_home):
    from datetime import datetime

    from desktop.core.records import ModelIdentity

    def local(day, hour=12):  # created_at in local time, as --since / --until read dates
        return datetime(2026, 5, day, hour).astimezone()

    records = {
        "bread": make_record("How do I bake sourdough bread at home?", created_at=local(1), rating=4,
                             tags=["cooking"], session_id="kitchen"),
        "quantum": make_record("Explain quantum entanglement to a child", created_at=local(2),
                               session_id="physics"),
        "limerick": make_record("Write a limerick about a cat on a boat", created_at=local(3), rating=2,
                                tags=["poem"], session_id="poems"),
        "lighthouse": make_record("a watercolor lighthouse at dusk", kind="image", output_text="",
                                  created_at=local(4), session_id="poems",
                                  model=ModelIdentity(name="tiny-sd", file="tiny-sd", sha256=SHA_SD)),
        "french": make_record("Translate good morning into French", output_text="Bonjour", created_at=local(5),
                              origin="imported", session_id="kitchen"),
    }
    store = HistoryStore(embedder=None)
    store.save_many(list(records.values()))
    store.close()
    return records


def _search(capsys, *args) -> list[str]:
    """Prompts of ``genlab history search ARGS --json`` (keyword mode unless a mode is given)."""
    argv = ["history", "search", *args, "--json", "--limit", "20"]
    if "--mode" not in args:
        argv += ["--mode", "keyword"]
    assert main(argv) == 0, capsys.readouterr().err
    return [h["prompt"] for h in _json_out(capsys)]


@pytest.mark.parametrize("options, expected", [
    (["--kind", "image"], ["lighthouse"]),
    (["--model", "tiny-sd"], ["lighthouse"]),  # name
    (["--model", "tiny.gguf"], ["french", "limerick", "quantum", "bread"]),  # file
    (["--model", "c0ffee00"], ["lighthouse"]),  # sha256 prefix
    (["--model", SHA_TINY], ["french", "limerick", "quantum", "bread"]),  # whole sha256
    (["--since", "2026-05-02", "--until", "2026-05-03"], ["limerick", "quantum"]),
    (["--since", "2026-05-04T00:00"], ["french", "lighthouse"]),
    (["--until", "2026-05-01T23:59:59"], ["bread"]),
    (["--rating", "3"], ["bread"]),
    (["--rating", "1"], ["limerick", "bread"]),
    (["--tag", "poem"], ["limerick"]),
    (["--session", "kitchen"], ["french", "bread"]),
    (["--origin", "imported"], ["french"]),
    (["--origin", "generated", "--session", "kitchen"], ["bread"]),
    (["--filter", "session=poems", "--kind", "text"], ["limerick"]),
    (["--filter", "date_from=2026-05-05"], ["french"]),
])
@pytest.mark.slow
def test_each_search_filter_through_the_cli(varied, capsys, options, expected):
    assert _search(capsys, "", *options) == [varied[k].prompt for k in expected]  # recent first
    words = "bread quantum limerick lighthouse french"
    assert sorted(_search(capsys, words, *options)) == sorted(varied[k].prompt for k in expected)


def test_sort_by_date_through_the_cli(varied, capsys):
    words = "bread cat lighthouse french"
    newest_first = [varied[k].prompt for k in ("french", "lighthouse", "limerick", "bread")]
    assert _search(capsys, words, "--sort", "date") == newest_first
    assert _search(capsys, words, "--sort", "date", "--limit", "2")[:2] == newest_first[:2]
    assert main(["history", "search", words, "--mode", "keyword", "--sort", "date", "--limit", "2",
                 "--json"]) == 0
    assert [h["prompt"] for h in _json_out(capsys)] == newest_first[:2]


@pytest.mark.parametrize("options, message", [
    (["--since", "yesterday"], "error: The --since date 'yesterday' is not a date. Use YYYY-MM-DD"),
    (["--until", "2026-02-30"], "error: The --until date '2026-02-30' is not a date."),
    (["--since", "2026-05-03", "--until", "2026-05-02"], "The date range starts after it ends"),
    (["--rating", "9"], "rating filter must be a number from 0 to 5"),
    (["--filter", "colour=red"], "error: There is no history filter named 'colour'. Known filters: kind, model,"),
    (["--filter", "created=2026"], "There is no history filter named 'created'."),
    (["--filter", "kind=video"], "kind must be 'text' or 'image', not 'video'"),
    (["--filter", "colour"], "--filter needs FIELD=VALUE, not 'colour'"),
    (["--filter", "kind=text", "--kind", "image"], "The kind filter is given twice"),
])
@pytest.mark.slow
def test_bad_filters_are_one_line_errors(varied, capsys, options, message):
    for mode in ("keyword", "hybrid"):  # checked before the embedder would load
        assert main(["history", "search", "bread", "--mode", mode, *options]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1


BAD_QUERIES = ['"', "*", ":", "(", 'prompt:"cat*" AND (boat', "'; DROP TABLE records; --",
               "') OR 1=1 --", "kind = 'image'"]


@pytest.mark.parametrize("text", BAD_QUERIES)
def test_query_syntax_characters_are_plain_text_in_the_cli(varied, capsys, text):
    assert main(["history", "search", text, "--mode", "keyword", "--json"]) == 0
    captured = capsys.readouterr()
    assert isinstance(json.loads(captured.out), list) and "error" not in captured.err
    assert main(["history", "stats", "--json"]) == 0
    assert _json_out(capsys)["records"] == 5


def test_empty_and_huge_queries_in_the_cli(varied, capsys):
    assert _search(capsys, "") == [varied[k].prompt for k in ("french", "lighthouse", "limerick", "quantum", "bread")]
    assert _search(capsys, "   ", "--limit", "1")[0] == varied["french"].prompt
    huge = "sourdough bread " * 6500  # about 100 KB
    assert main(["history", "search", huge, "--mode", "keyword", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)[0]["prompt"] == varied["bread"].prompt
    assert "note: The query was shortened" in captured.err


@pytest.mark.slow
def test_bad_queries_in_hybrid_mode(varied, cli_embedder, capsys, tmp_path):
    queries = tmp_path / "bad.txt"
    huge = "sourdough bread " * 6500
    queries.write_text("\n".join(["", huge, *BAD_QUERIES]) + "\n", encoding="utf-8")
    assert main(["history", "search", "--queries", str(queries), "--limit", "3"]) == 0
    captured = capsys.readouterr()
    answers = [json.loads(line) for line in captured.out.splitlines()]
    assert len(answers) == 2 + len(BAD_QUERIES)
    assert [h["prompt"] for h in answers[0]] == [varied[k].prompt for k in ("french", "lighthouse", "limerick")]
    assert answers[1][0]["prompt"] == varied["bread"].prompt
    assert "shortened" in captured.err and "error" not in captured.err
    assert main(["history", "stats", "--json"]) == 0
    assert _json_out(capsys)["records"] == 5


# --- a bounded embedding backlog and `genlab history embed` ---------------------------

@pytest.fixture
def backlog(genlab_home, monkeypatch):
    """Twelve records saved before any embedder; a search may embed five, two at a time."""
    import desktop.commands.history as history_command
    import desktop.core.history.embedding_upkeep as upkeep

    monkeypatch.setattr(history_command, "EMBED_BUDGET_RECORDS", 5)
    monkeypatch.setattr(upkeep, "BACKFILL_CHUNK", 2)
    records = [make_record(f"note number {i} about the garden") for i in range(11)]
    records.append(make_record("How do I bake sourdough bread at home?"))
    store = HistoryStore(embedder=None)
    store.save_many(records)
    store.close()
    return records


def _unembedded(capsys) -> int:
    assert main(["history", "stats", "--json"]) == 0
    return _json_out(capsys)["unembedded"]


@pytest.mark.slow
def test_search_embeds_a_bounded_backlog_then_answers(backlog, cli_embedder, capsys):
    assert main(["history", "search", "sourdough", "--json"]) == 0  # hybrid
    captured = capsys.readouterr()
    assert "embedding up to 5 of 12 records first" in captured.err
    assert ("note: 7 records are not embedded yet, so only keyword matches find them; "
            "run `genlab history embed` to embed them.") in captured.err
    assert json.loads(captured.out)[0]["prompt"] == "How do I bake sourdough bread at home?"  # keyword leg
    assert _unembedded(capsys) == 7

    assert main(["history", "search", "garden", "--mode", "semantic"]) == 0
    assert "this search does not see them" in capsys.readouterr().err
    assert _unembedded(capsys) == 2


@pytest.mark.slow
def test_search_embedding_stops_at_its_time_budget(backlog, cli_embedder, capsys, monkeypatch):
    import desktop.commands.history as history_command

    monkeypatch.setattr(history_command, "EMBED_BUDGET_SECONDS", 0.0)
    assert main(["history", "search", "garden", "--mode", "keyword"]) == 0  # keyword: nothing to embed
    assert "embedding" not in capsys.readouterr().err
    assert _unembedded(capsys) == 12
    assert main(["history", "search", "garden"]) == 0
    assert "note: 10 records are not embedded yet" in capsys.readouterr().err  # one chunk, then time is up


@pytest.mark.slow
def test_embed_command_finishes_the_backlog(backlog, cli_embedder, capsys):
    assert main(["history", "embed"]) == 0
    captured = capsys.readouterr()
    assert "embedding 12 records" in captured.err and "Embedding history: 12 of 12 records" in captured.err
    assert "embedded 12 records" in captured.out
    assert _unembedded(capsys) == 0
    assert main(["history", "embed"]) == 0
    assert "every record is embedded" in capsys.readouterr().out
    assert main(["history", "search", "a recipe for a homemade loaf", "--limit", "1", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)[0]["prompt"] == "How do I bake sourdough bread at home?"
    assert "not embedded" not in captured.err and "embedding" not in captured.err


@pytest.mark.slow
def test_embed_command_interrupted_keeps_its_work_and_resumes(backlog, cli_embedder, capsys, monkeypatch):
    real_encode, calls = cli_embedder.encode, []

    def encode_then_ctrl_c(texts, *args, **kwargs):
        calls.append(len(texts))
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_encode(texts, *args, **kwargs)

    monkeypatch.setattr(cli_embedder, "encode", encode_then_ctrl_c)
    assert main(["history", "embed"]) == 130
    err = capsys.readouterr().err
    assert "interrupted: 8 records are not embedded yet; run `genlab history embed` again" in err
    monkeypatch.setattr(cli_embedder, "encode", real_encode)
    assert _unembedded(capsys) == 8
    assert main(["history", "embed"]) == 0
    assert "embedded 8 records" in capsys.readouterr().out
    assert _unembedded(capsys) == 0


@pytest.mark.slow
def test_search_hides_weak_meaning_matches_and_says_so(filled, capsys):
    assert main(["history", "search", "quantum chromodynamics lattice", "--mode", "semantic", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == []
    assert "3 weaker matches hidden below relevance 0.28" in captured.err
    assert main(["history", "search", "quantum chromodynamics lattice", "--mode", "semantic", "--json",
                 "--min-relevance", "0"]) == 0
    assert len(_json_out(capsys)) == 3


def test_a_min_relevance_out_of_range_is_refused(filled, capsys):
    assert main(["history", "search", "bread", "--min-relevance", "2"]) == 2
    assert "--min-relevance must be from 0 to 1, not 2.0" in capsys.readouterr().err
