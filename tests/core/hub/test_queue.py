"""The persisted download list: a diffusers pipeline is listed only when all its files arrived verified."""

from __future__ import annotations

import pytest

from desktop.core.hub.download import FileRef
from desktop.core.hub.queue import DownloadList, IncompletePipeline, register_pipeline_if_complete, run_entry
from desktop.core.hub.transfer import RetryPolicy
from desktop.core.jobs import CancelToken
from desktop.core.models.errors import DiskFull
from desktop.core.models.library import Library
from tests.core.models.test_library import write_diffusers

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


@pytest.mark.slow
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


@pytest.mark.slow
def test_while_a_member_waits_nothing_is_listed_or_reported(pipeline_files):
    downloads, entries = queue(pipeline_files)
    downloads.update(entries[UNET].key, status="paused")
    run_all(downloads, entries, skip=(UNET,))
    assert register_pipeline_if_complete(downloads.get(entries["model_index.json"].key), downloads) is None
    assert Library().models() == []


@pytest.mark.slow
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


def test_offline_a_model_never_downloaded_waits_for_the_network_with_the_offline_message(monkeypatch):
    from desktop.core.models.errors import HubOffline

    monkeypatch.setenv("HF_ENDPOINT", "https://huggingface.co")
    downloads = DownloadList()
    entry = downloads.add(FileRef("tester/absent", "absent-Q4_0.gguf"))
    with pytest.raises(HubOffline):
        run_entry(entry, downloads, policy=FAST, cancel=CancelToken())
    saved = downloads.get(entry.key)
    assert saved.status == "waiting" and "Cannot reach the hub" in saved.error
    assert [e.key for e in downloads.resumable()] == [entry.key]  # tried again at next start


def _run_in_thread(entry, downloads, token, policy=FAST):
    """run_entry on a worker thread, as the app runs it; returns the thread and where its outcome lands."""
    import threading

    outcome = {}

    def work():
        try:
            outcome["result"] = run_entry(entry, downloads, policy=policy, cancel=token)
        except BaseException as exc:  # noqa: BLE001 - the test inspects it
            outcome["error"] = exc

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread, outcome


def stop_after_some_bytes(entry, downloads, reason: str) -> int:
    """Start the entry, stop it (with ``reason``) once bytes arrived; returns the bytes kept."""
    import time
    from pathlib import Path

    from desktop.core.hub.download import part_path
    from desktop.core.jobs import JobCancelled

    token = CancelToken()
    thread, outcome = _run_in_thread(entry, downloads, token)
    part = part_path(Path(entry.dest))
    deadline = time.monotonic() + 20
    while not (part.exists() and part.stat().st_size > 256 * 1024) and time.monotonic() < deadline:
        time.sleep(0.02)
    token.cancel(reason)
    thread.join(20)
    assert isinstance(outcome.get("error"), JobCancelled)
    return part.stat().st_size


@pytest.mark.slow
def test_quitting_leaves_a_download_resumable_and_pausing_leaves_it_paused(hub):
    """The runner's shutdown cancels with SHUTDOWN: queued for next start.  A person's pause: paused."""
    import hashlib

    from desktop.core.jobs import SHUTDOWN
    from tests.support.hub_server import gguf_file_bytes

    data = gguf_file_bytes(3 * 1024 * 1024, seed=60)
    hub.add_repo("tester/slow", {"slow-Q4_0.gguf": data})
    hub.faults.rate = 2 * 1024 * 1024
    downloads = DownloadList()
    entry = downloads.add(FileRef("tester/slow", "slow-Q4_0.gguf"))

    kept = stop_after_some_bytes(entry, downloads, SHUTDOWN)
    saved = downloads.get(entry.key)
    assert saved.status == "queued" and 0 < saved.done <= kept  # the last progress report
    assert [e.key for e in downloads.resumable()] == [entry.key]

    kept = stop_after_some_bytes(saved, downloads, "")  # Pause (or the Jobs panel's Cancel)
    saved = downloads.get(entry.key)
    assert saved.status == "paused" and 0 < saved.done <= kept
    assert downloads.resumable() == []

    hub.faults.rate = None
    result = run_entry(saved, downloads, policy=FAST, cancel=CancelToken())
    assert result.sha256 == hashlib.sha256(data).hexdigest() and downloads.get(entry.key).status == "done"
    assert hub.stats.body_bytes <= 1.1 * len(data)


def test_retries_used_up_leave_the_download_waiting_for_the_network(hub):
    from desktop.core.models.errors import RetriesExhausted
    from tests.support.hub_server import gguf_file_bytes

    data = gguf_file_bytes(512 * 1024, seed=61)
    hub.add_repo("tester/flaky", {"flaky-Q4_0.gguf": data})
    hub.faults.statuses = [503] * 2  # the first try and its one retry
    downloads = DownloadList()
    entry = downloads.add(FileRef("tester/flaky", "flaky-Q4_0.gguf"))
    with pytest.raises(RetriesExhausted):
        run_entry(entry, downloads, policy=RetryPolicy(base_delay=0.01, max_failures=1), cancel=CancelToken())
    saved = downloads.get(entry.key)
    assert saved.status == "waiting" and "stopped after 2 attempts" in saved.error
    assert [e.key for e in downloads.resumable()] == [entry.key]
    run_entry(saved, downloads, policy=FAST, cancel=CancelToken())
    assert downloads.get(entry.key).status == "done"
    assert hub.stats.body_bytes == len(data)  # the refused tries sent no file bytes


def test_errors_a_person_must_act_on_stay_failed_and_a_busy_hub_counts_as_the_network(hub):
    import sys

    from huggingface_hub import errors as hf_errors

    from desktop.core.hub.access import hub_error
    from desktop.core.hub.queue import NETWORK_ERRORS
    from desktop.core.models.errors import HubUnavailable, NotOnHub

    hub.add_repo("tester/real", {"real-Q4_0.gguf": b"GGUF"})
    downloads = DownloadList()
    entry = downloads.add(FileRef("tester/real", "absent-Q4_0.gguf"))
    with pytest.raises(NotOnHub):
        run_entry(entry, downloads, policy=FAST, cancel=CancelToken())
    assert downloads.get(entry.key).status == "failed" and downloads.resumable() == []
    http = sys.modules[hf_errors.Response.__module__]  # httpx or httpx2, whichever this release uses
    busy = hf_errors.HfHubHTTPError("503 Service Unavailable",
                                    response=http.Response(503, request=http.Request("HEAD", hub.url)))
    error = hub_error(busy, "tester/real", "real-Q4_0.gguf")
    assert isinstance(error, HubUnavailable) and isinstance(error, NETWORK_ERRORS)
    assert "Try again in a few minutes" in str(error)


@pytest.mark.parametrize("failure", ["hub unreachable", "hub busy", "file not on the hub"])
@pytest.mark.parametrize("reason, stays", [("", "paused"), ("shutdown", "queued")])
def test_a_download_stopped_while_it_fails_is_stopped_not_failed_or_waiting(hub, monkeypatch, failure, reason, stays):
    """Pause (or the app quitting) during the hub probe or the metadata request: the failure that follows
    is the stop, so the entry never becomes ``waiting`` (tried again on its own) or ``failed``."""
    from desktop.core.hub import download as downloads_module
    from desktop.core.jobs import JobCancelled
    from desktop.core.models.errors import HubUnavailable, NotOnHub

    downloads = DownloadList()
    entry = downloads.add(FileRef("tester/away", "away-Q4_0.gguf"))
    token = CancelToken()

    def stop_then_fail(*_args, **_kwargs):
        token.cancel(reason)
        if failure == "hub unreachable":
            return False
        raise HubUnavailable("The hub is busy.") if failure == "hub busy" else NotOnHub("No such file.")

    target = "hub_reachable" if failure == "hub unreachable" else "resolve_remote"
    monkeypatch.setattr(downloads_module, target, stop_then_fail)
    with pytest.raises(JobCancelled):
        run_entry(entry, downloads, policy=FAST, cancel=token)
    saved = downloads.get(entry.key)
    assert (saved.status, saved.error) == (stays, "")


def test_a_paused_entry_is_never_marked_running_nor_the_hub_probed(monkeypatch):
    """The job starts after Pause was pressed: it stops at once, the entry stays paused."""
    from desktop.core.hub import download as downloads_module
    from desktop.core.jobs import JobCancelled

    probes = []
    monkeypatch.setattr(downloads_module, "hub_reachable", lambda **_kw: probes.append(1) or False)
    downloads = DownloadList()
    entry = downloads.add(FileRef("tester/away", "away-Q4_0.gguf"))
    downloads.update(entry.key, status="paused")
    token = CancelToken()
    token.cancel()
    statuses = []  # the entry's status in every write of the list
    real_write = DownloadList._write
    monkeypatch.setattr(DownloadList, "_write",
                        lambda self, entries: statuses.append(entries[entry.key].status) or real_write(self, entries))
    with pytest.raises(JobCancelled):
        run_entry(entry, downloads, policy=FAST, cancel=token)
    assert probes == [] and "running" not in statuses
    assert downloads.get(entry.key).status == "paused"


@pytest.mark.slow
def test_a_download_another_process_is_running_is_left_to_it(hub, monkeypatch):
    """Its entry is that process's: not resumable here, and a run here neither fails it nor takes it over."""
    import hashlib
    from pathlib import Path

    from desktop.core.hub import queue as model_download_queue
    from desktop.core.hub.download import lock_path
    from desktop.core.models.errors import DownloadBusy
    from tests.support.hub_server import gguf_file_bytes
    from tests.support.other_process import lock_held_by_another_process

    data = gguf_file_bytes(256 * 1024, seed=62)
    hub.add_repo("tester/shared", {"shared-Q4_0.gguf": data})
    downloads = DownloadList()
    entry = downloads.add(FileRef("tester/shared", "shared-Q4_0.gguf"))
    downloads.update(entry.key, status="running")  # as the other process marked it
    with lock_held_by_another_process(lock_path(Path(entry.dest))):
        assert downloads.resumable() == []
        with pytest.raises(DownloadBusy, match="another GenLab process"):
            run_entry(entry, downloads, policy=FAST, cancel=CancelToken())
        assert downloads.get(entry.key).status == "running"
        with monkeypatch.context() as patch:  # the other process took the lock just after this one looked
            patch.setattr(model_download_queue, "transfer_elsewhere", lambda dest: False)
            with pytest.raises(DownloadBusy):
                run_entry(entry, downloads, policy=FAST, cancel=CancelToken())
        saved = downloads.get(entry.key)
        assert (saved.status, saved.error) == ("running", "")
        assert hub.stats.content_requests == 0
    # That process died mid-download: its entry is resumable here.
    assert [e.key for e in downloads.resumable()] == [entry.key]
    assert run_entry(entry, downloads, policy=FAST, cancel=CancelToken()).sha256 == hashlib.sha256(data).hexdigest()
    assert downloads.get(entry.key).status == "done"
