"""``genlab models ...`` end to end against the loopback hub."""

from __future__ import annotations

import argparse
import hashlib
import json
import time

import pytest

from desktop.commands import models as models_command
from desktop.core.hardware import fmt_bytes
from tests.support.bad_models import BAD_IMPORT_IDS, BAD_IMPORTS
from tests.support.hub_server import gguf_file_bytes


def genlab_models(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="genlab")
    models_command.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["models", *argv])
    return args.func(args)


@pytest.fixture
def hub(hub):
    """The loopback hub of tests/conftest.py with this module's repos."""
    server = hub
    server.add_repo("tester/cli-GGUF", {"cli-Q4_K_M.gguf": gguf_file_bytes(300_000, seed=2)},
                    tags=["gguf"], library_name="gguf", downloads=10)
    return server


def test_download_then_list_verify_and_delete(hub, capsys):
    data = hub.repos["tester/cli-GGUF"].files["cli-Q4_K_M.gguf"].data
    assert genlab_models("download", "tester/cli-GGUF", "cli-Q4_K_M.gguf") == 0
    assert "verified sha256" in capsys.readouterr().out
    assert genlab_models("list", "--json") == 0
    [entry] = json.loads(capsys.readouterr().out)
    assert entry["sha256"] == hashlib.sha256(data).hexdigest() and entry["source"] == "hub"
    assert genlab_models("verify") == 0
    assert "OK" in capsys.readouterr().out
    assert genlab_models("delete", entry["id"], "--yes") == 0
    assert f"freed {fmt_bytes(len(data))}" in capsys.readouterr().out
    assert genlab_models("list", "--json") == 0
    assert json.loads(capsys.readouterr().out) == []


def test_download_without_file_lists_the_choices(hub, capsys):
    assert genlab_models("download", "tester/cli-GGUF") == 2
    out = capsys.readouterr().out
    assert "cli-Q4_K_M.gguf" in out and "Q4_K_M" in out


def test_errors_are_one_line_with_exit_code_two(hub, capsys, tmp_path):
    assert genlab_models("download", "tester/missing-repo", "x.gguf") == 2
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith("error: The repository tester/missing-repo does not exist")
    notes = tmp_path / "notes.txt"
    notes.write_text("x")
    assert genlab_models("import", str(notes)) == 2
    assert "not a model file" in capsys.readouterr().err
    assert genlab_models("download", "https://example.com/a/b", "f.gguf") == 2
    assert "nor a Hugging Face hub URL" in capsys.readouterr().err


def test_import_scan_and_offline_search(tmp_path, capsys, monkeypatch):
    folder = tmp_path / "gpt4all"
    folder.mkdir()
    (folder / "orca-mini-Q4_0.gguf").write_bytes(gguf_file_bytes(50_000, seed=5))
    assert genlab_models("scan", str(folder), "--no-hf-cache") == 0
    assert "1 added" in capsys.readouterr().out
    assert genlab_models("search", "qwen") == 0  # the suite blocks the network: offline, not an error
    assert "Offline" in capsys.readouterr().err
    assert genlab_models("search", "qwen", "--catalog") == 0
    out = capsys.readouterr().out
    assert "qwen2.5-7b-instruct" in out and ("fits on GPU" in out or "runs on CPU" in out or "won't fit" in out)


@pytest.mark.slow
def test_downloading_a_diffusers_pipeline_lists_it_as_one_image_model(hub, capsys, tmp_path):
    from tests.core.models.test_library import write_diffusers

    folder = write_diffusers(tmp_path / "pipe")
    files = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    hub.add_repo("tester/tiny-sd", files, tags=["diffusers"], library_name="diffusers")
    assert genlab_models("download", "tester/tiny-sd", *sorted(files)) == 0
    assert "added" in capsys.readouterr().out
    assert genlab_models("list", "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    images = [m for m in listed if m["kind"] == "image"]
    assert len(listed) == len(images) == 1 and images[0]["format"] == "diffusers"
    assert images[0]["name"] == images[0]["repo_id"] == "tester/tiny-sd"


def test_importing_a_diffusers_folder_with_junk_weights_is_refused(tmp_path, capsys):
    folder = tmp_path / "badpipe"
    (folder / "unet").mkdir(parents=True)
    (folder / "vae").mkdir()
    (folder / "model_index.json").write_text(json.dumps(
        {"_class_name": "StableDiffusionPipeline", "unet": ["diffusers", "UNet2DConditionModel"],
         "vae": ["diffusers", "AutoencoderKL"]}))
    for part in ("unet", "vae"):
        (folder / part / "config.json").write_text("{}")
    (folder / "unet" / "diffusion_pytorch_model.safetensors").write_text("garbage")
    assert genlab_models("import", str(folder), "--mode", "link") == 2
    err = capsys.readouterr().err
    assert "unet/diffusion_pytorch_model.safetensors is damaged" in err and "vae has no weights" in err
    assert genlab_models("list", "--json") == 0
    assert json.loads(capsys.readouterr().out) == []


@pytest.mark.slow
def test_a_pipeline_with_a_failed_file_is_not_listed_and_the_cli_says_which(hub, capsys, tmp_path):
    from tests.core.models.test_library import write_diffusers

    folder = write_diffusers(tmp_path / "pipe")
    files = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    unet = "unet/diffusion_pytorch_model.fp16.safetensors"
    repo = hub.add_repo("tester/tiny-sd", files, tags=["diffusers"], library_name="diffusers")
    repo.files[unet].advertised_size = 2 ** 50
    assert genlab_models("download", "tester/tiny-sd", *sorted(files)) == 2
    err = capsys.readouterr().err
    assert "Not enough disk space" in err
    assert f"tester/tiny-sd is not listed as installed: {unet} failed" in err
    assert genlab_models("list", "--json") == 0
    assert json.loads(capsys.readouterr().out) == []
    repo.files[unet].advertised_size = None
    assert genlab_models("download", "tester/tiny-sd", unet) == 0  # the missing file completes it
    assert "added tester/tiny-sd" in capsys.readouterr().out


def test_a_catalog_download_of_a_model_found_on_disk_reuses_it(hub, capsys, tmp_path):
    from desktop.core.models.library import Library

    repo, name = "Qwen/Qwen2.5-0.5B-Instruct-GGUF", "qwen2.5-0.5b-instruct-q4_k_m.gguf"
    data = gguf_file_bytes(400_000, seed=8)
    hub.add_repo(repo, {name: data})
    folder = tmp_path / "lmstudio"
    folder.mkdir()
    (folder / name).write_bytes(data)
    assert genlab_models("scan", str(folder), "--no-hf-cache") == 0
    capsys.readouterr()
    hub.stats.reset()
    assert genlab_models("download", "qwen2.5-0.5b-instruct", "--quant", "Q4_K_M") == 0
    out = capsys.readouterr().out
    assert f"{folder / name}  (" in out and "(found)" in out and "nothing was downloaded" in out
    assert hub.stats.body_bytes == 0
    [model] = Library().models()
    assert model.path == str(folder / name) and model.source == "found" and model.repo_id == repo
    assert genlab_models("search", "qwen2.5-0.5b", "--catalog") == 0
    lines = capsys.readouterr().out.splitlines()
    [q4] = [line for line in lines if " Q4_K_M " in line]
    assert q4.endswith(f"[installed: {folder / name}]")
    assert not any("installed" in line for line in lines if " Q8_0 " in line)


def test_hub_search_prints_a_verdict_with_its_numbers_or_says_to_choose_a_file(hub, capsys):
    hub.add_repo("big/Huge-GGUF", {"h-Q2_K.gguf": gguf_file_bytes(30_000)}, tags=["gguf"], library_name="gguf",
                 downloads=5, gguf={"total": 400_000_000_000_000, "architecture": "llama", "context_length": 8192})
    hub.add_repo("tester/sd", {"model_index.json": b"{}"}, tags=["diffusers"], library_name="diffusers")
    assert genlab_models("search", "") == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert "won't fit: estimate for a Q4_K_M file of 400000.0B parameters" in lines["big/Huge-GGUF"]
    assert "free RAM" in lines["big/Huge-GGUF"] and "needs ~" in lines["big/Huge-GGUF"]
    assert "runs on CPU (slow)" in lines["tester/cli-GGUF"] or "fits on GPU" in lines["tester/cli-GGUF"]
    assert genlab_models("search", "", "--image") == 0
    out = capsys.readouterr().out
    assert "tester/sd" in out and "choose a file to see if it fits (`genlab models download tester/sd`)" in out


@pytest.mark.slow
def test_download_listing_judges_each_gguf_and_a_whole_pipeline(hub, capsys):
    from tests.core.hub.test_search import _sd_repo

    assert genlab_models("download", "tester/cli-GGUF") == 2
    [row] = [line for line in capsys.readouterr().out.splitlines() if "cli-Q4_K_M.gguf" in line]
    assert "Q4_K_M" in row and "needs ~" in row and "free RAM" in row
    assert any(v in row for v in ("fits on GPU", "runs on CPU (slow)", "won't fit"))
    hub.add_repo("tester/sd", _sd_repo(), tags=["diffusers"], library_name="diffusers")
    assert genlab_models("download", "tester/sd") == 2
    out = capsys.readouterr().out.splitlines()
    [pipeline] = [i for i, line in enumerate(out) if "whole pipeline (fp16, 10 files)" in line]
    assert "the fp16 pipeline, 10 files: needs ~" in out[pipeline]
    command = out[pipeline + 1].split()
    assert command[:4] == ["genlab", "models", "download", "tester/sd"]
    assert "unet/diffusion_pytorch_model.fp16.safetensors" in command and "model_index.json" in command
    assert genlab_models("download", *command[3:]) == 0  # the printed command fetches a pipeline that gets listed
    assert "added tester/sd (image" in capsys.readouterr().out


@pytest.mark.parametrize(("make", "message"), BAD_IMPORTS, ids=BAD_IMPORT_IDS)
@pytest.mark.parametrize("mode", ["copy", "link"])
def test_importing_a_bad_model_says_what_is_wrong_and_lists_nothing(tmp_path, capsys, make, message, mode):
    source = make(tmp_path)
    assert genlab_models("import", str(source), "--mode", mode) == 2
    assert capsys.readouterr().err == f"error: {message}\n"
    assert source.exists()
    assert genlab_models("list", "--json") == 0
    assert json.loads(capsys.readouterr().out) == []


def test_a_read_only_models_folder_is_a_clear_error_for_import_and_download(hub, read_only_folder, monkeypatch,
                                                                             tmp_path, capsys):
    monkeypatch.setenv("GENLAB_MODELS_DIR", str(read_only_folder))
    source = tmp_path / "mine-Q4_0.gguf"
    source.write_bytes(gguf_file_bytes(50_000, seed=6))
    assert genlab_models("import", str(source)) == 2
    [err] = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert err.startswith(f"error: Cannot write to the models folder {read_only_folder / 'imported'}: ")
    assert "Read-only file system" in err or "Permission denied" in err
    assert err.endswith("Choose a writable models folder (GENLAB_MODELS_DIR) or import as a link.")
    assert err.count(str(read_only_folder)) == 1  # the folder is named once
    from desktop.core import paths

    cache = paths.data_root() / "hash-cache.json"  # refused before hashing: a big model is not read for nothing
    assert not cache.exists() or source.name not in cache.read_text(encoding="utf-8")
    assert genlab_models("download", "tester/cli-GGUF", "cli-Q4_K_M.gguf") == 2
    [err] = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    folder = read_only_folder / "tester__cli-GGUF"
    assert err in (f"error: Cannot write to the models folder {folder}: {reason}. Choose a writable models folder "
                   "(GENLAB_MODELS_DIR) or fix its permissions." for reason in ("Read-only file system",
                                                                                "Permission denied"))
    assert genlab_models("list", "--json") == 0
    assert json.loads(capsys.readouterr().out) == []
    assert genlab_models("import", str(source), "--mode", "link") == 0  # what the message offers works
    assert "imported mine-Q4_0.gguf" in capsys.readouterr().out


@pytest.mark.slow
def test_downloading_a_file_the_repo_does_not_have_names_it_and_how_to_list_the_real_ones(hub, capsys):
    assert genlab_models("download", "tester/cli-GGUF", "cli-Q5_K_M.gguf") == 2
    err = capsys.readouterr().err
    assert ("error: The file 'cli-Q5_K_M.gguf' does not exist in tester/cli-GGUF. Pick one of the repo's files: "
            "`genlab models download tester/cli-GGUF` lists them") in err
    assert hub.stats.body_bytes == 0
    assert genlab_models("list", "--json") == 0
    assert json.loads(capsys.readouterr().out) == []
    assert genlab_models("download", "tester/cli-GGUF") == 2  # the command the message names
    assert "cli-Q4_K_M.gguf" in capsys.readouterr().out


@pytest.mark.parametrize("url", ["https://example.com/tester/cli-GGUF", "http://localhost:1/tester/cli-GGUF",
                                 "https://huggingface.co.evil.example/tester/cli-GGUF"])
def test_a_url_that_is_not_the_hub_is_refused_before_any_request(hub, capsys, url):
    assert genlab_models("download", url) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {url!r} is neither a repo id (owner/name) nor a Hugging Face hub URL.")
    assert "Paste something like Qwen/Qwen2.5-0.5B-Instruct-GGUF" in err
    assert hub.stats.head_requests == hub.stats.content_requests == 0


def test_list_shows_identity_dates_and_total_disk_usage(tmp_path, capsys, monkeypatch):
    from desktop.core.models.library import Library

    owned = Library().import_path(write_model(tmp_path / "owned-Q4_K_M.gguf", 60_000, seed=11), "copy")
    linked = Library().import_path(write_model(tmp_path / "linked-Q8_0.gguf", 40_000, seed=12), "link")
    Library().mark_used(owned.id)
    assert genlab_models("list") == 0
    lines = capsys.readouterr().out.splitlines()
    header, rows, total = lines[0], lines[1:-1], lines[-1]
    assert header.split() == ["SHA256", "(ID)", "KIND", "FAMILY", "QUANT", "SIZE", "SOURCE", "ADDED", "LAST", "USED",
                              "NAME"]
    by_name = {row.split()[-1]: row for row in rows}
    today = time.strftime("%Y-%m-%d")
    used, never = by_name["owned-Q4_K_M.gguf"], by_name["linked-Q8_0.gguf"]
    assert used.startswith(owned.sha256[:16]) and never.startswith(linked.sha256[:16])
    assert f"{today}  {time.strftime('%Y-%m-%d %H:%M', time.localtime(Library().get(owned.id).last_used))}" in used
    assert f"{today}  never" in never
    for row in rows:  # the columns line up under the header
        assert row.index(today) == header.index("ADDED") and row.index(" text ") + 1 == header.index("KIND")
    assert total == (f"2 model(s), {fmt_bytes(owned.size + linked.size)} on disk: {fmt_bytes(owned.size)} in "
                     f"GenLab's models folder, {fmt_bytes(linked.size)} used in place elsewhere")


def write_model(path, size, seed):
    path.write_bytes(gguf_file_bytes(size, seed=seed))
    return path
