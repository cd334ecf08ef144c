"""The persisted download list: a diffusers pipeline is listed only when all its files arrived verified."""

from __future__ import annotations

import pytest

from desktop.core.downloads import FileRef
from desktop.core.jobs import CancelToken
from desktop.core.library import Library
from desktop.core.model_download_queue import (DownloadList, IncompletePipeline, register_pipeline_if_complete,
                                               run_entry)
from desktop.core.model_errors import DiskFull
from desktop.core.model_transfer import RetryPolicy
from tests.core.test_library import write_diffusers

FAST = RetryPolicy(base_delay=0.02, max_delay=0.2, stall_seconds=5.0)
PIPE = "tester/tiny-sd"
UNET = "unet/diffusion_pytorch_model.fp16.safetensors"


@pytest.fixture
def pipeline_files(hub, tmp_path):
    folder = write_diffusers(tmp_path / "pipe")
    files = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    hub.add_repo(PIPE, files, tags=["diffusers"], library_name="diffusers")
    return sorted(files)


def queue(names) -> tuple[DownloadList, dict]:
    downloads = DownloadList()
    return downloads, {n: downloads.add(FileRef(PIPE, n), source="catalog", catalog_id="tiny") for n in names}


def run_all(downloads, entries, skip=()) -> None:
    for name, entry in entries.items():
        if name not in skip:
            try:
                run_entry(entry, downloads, policy=FAST, cancel=CancelToken())
            except DiskFull:
                pass  # the entry is marked failed; what matters is what gets listed


def test_a_cancelled_member_keeps_the_pipeline_unlisted_until_it_is_downloaded(pipeline_files):
    assert len(pipeline_files) == 5
    downloads, entries = queue(pipeline_files)
    downloads.cancel(entries[UNET].key)  # Cancel pressed on the queued unet weights
    run_all(downloads, entries, skip=(UNET,))
    last = downloads.get(entries[pipeline_files[-1]].key)
    with pytest.raises(IncompletePipeline, match=f"{UNET} was cancelled") as info:
        register_pipeline_if_complete(last, downloads)
    assert f"genlab models download {PIPE} {UNET}" in info.value.hint
    assert Library().models() == []
    assert "not listed as installed" in downloads.get(entries[UNET].key).error  # what the panel shows
    again = downloads.add(FileRef(PIPE, UNET), source="catalog", catalog_id="tiny")
    run_entry(again, downloads, policy=FAST, cancel=CancelToken())
    model = register_pipeline_if_complete(downloads.get(again.key), downloads)
    assert model is not None and model.format == "diffusers" and model.repo_id == PIPE
    assert [m.id for m in Library().models()] == [model.id]


def test_a_failed_member_is_named_and_nothing_is_listed(hub, pipeline_files):
    hub.repos[PIPE].files[UNET].advertised_size = 2 ** 50  # the unet fails: no disk has room for it
    downloads, entries = queue(pipeline_files)
    run_all(downloads, entries)
    assert downloads.get(entries[UNET].key).status == "failed"
    with pytest.raises(IncompletePipeline, match=f"{UNET} failed"):
        register_pipeline_if_complete(downloads.get(entries["model_index.json"].key), downloads)
    assert Library().models() == []


def test_while_a_member_waits_nothing_is_listed_or_reported(pipeline_files):
    downloads, entries = queue(pipeline_files)
    downloads.update(entries[UNET].key, status="paused")
    run_all(downloads, entries, skip=(UNET,))
    assert register_pipeline_if_complete(downloads.get(entries["model_index.json"].key), downloads) is None
    assert Library().models() == []


def test_a_member_whose_file_vanished_is_reported_missing(pipeline_files, genlab_home):
    from pathlib import Path

    downloads, entries = queue(pipeline_files)
    run_all(downloads, entries)
    Path(entries["vae/diffusion_pytorch_model.fp16.safetensors"].dest).unlink()
    with pytest.raises(IncompletePipeline, match="vae/diffusion_pytorch_model.fp16.safetensors is missing"):
        register_pipeline_if_complete(downloads.get(entries[UNET].key), downloads)
    assert Library().models() == []


def test_a_single_file_download_is_not_a_pipeline(hub):
    from tests.support.hub_server import gguf_file_bytes

    hub.add_repo("tester/notes", {"README.md": b"hello", "m-Q4_0.gguf": gguf_file_bytes(64 * 1024)})
    downloads = DownloadList()
    entry = downloads.add(FileRef("tester/notes", "README.md"))
    run_entry(entry, downloads, policy=FAST, cancel=CancelToken())
    assert register_pipeline_if_complete(downloads.get(entry.key), downloads) is None


def test_offline_a_model_already_installed_is_reported_installed_not_offline(hub, monkeypatch):
    from tests.support.hub_server import gguf_file_bytes

    hub.add_repo("tester/chat", {"chat-Q4_0.gguf": gguf_file_bytes(64 * 1024)})
    downloads = DownloadList()
    first = downloads.add(FileRef("tester/chat", "chat-Q4_0.gguf"))
    installed = run_entry(first, downloads, policy=FAST, cancel=CancelToken())
    monkeypatch.setenv("HF_ENDPOINT", "https://huggingface.co")  # the suite blocks it: offline
    again = downloads.add(FileRef("tester/chat", "chat-Q4_0.gguf"))
    result = run_entry(again, downloads, policy=FAST, cancel=CancelToken())
    assert result.already_installed and result.path == installed.path
    entry = downloads.get(again.key)
    assert entry.status == "done" and "hub is unreachable" in entry.note
    assert len(Library().models()) == 1


def test_offline_a_model_never_downloaded_fails_with_the_offline_message(monkeypatch):
    from desktop.core.model_errors import HubOffline

    monkeypatch.setenv("HF_ENDPOINT", "https://huggingface.co")
    downloads = DownloadList()
    entry = downloads.add(FileRef("tester/absent", "absent-Q4_0.gguf"))
    with pytest.raises(HubOffline):
        run_entry(entry, downloads, policy=FAST, cancel=CancelToken())
    assert downloads.get(entry.key).status == "failed" and "Cannot reach the hub" in downloads.get(entry.key).error
