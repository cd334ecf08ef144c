"""Downloads against a real loopback hub server, with injected faults."""

from __future__ import annotations

import hashlib
import os
import threading

import pytest

from desktop.core.hub.download import FileRef, download_file, part_path, sidecar_path
from desktop.core.hub.queue import DownloadList, run_entry
from desktop.core.hub.transfer import RetryPolicy
from desktop.core.jobs import CancelToken, JobCancelled
from desktop.core.models.errors import ChecksumMismatch, DiskFull, NotOnHub, TokenRequired
from desktop.core.models.library import Library
from tests.support.hub_server import gguf_file_bytes

MB = 1024 * 1024
FAST = RetryPolicy(base_delay=0.02, max_delay=0.2, stall_seconds=5.0)
QUICK_STALL = RetryPolicy(base_delay=0.02, max_delay=0.2, stall_seconds=0.5)
REPO = "genlab-test/tiny-GGUF"
FILE = "tiny-Q4_K_M.gguf"


def gguf_bytes(size: int, seed: int = 1) -> bytes:
    return gguf_file_bytes(size, seed)


@pytest.fixture
def payload(hub):
    data = gguf_bytes(8 * MB)
    hub.add_repo(REPO, {FILE: data, "README.md": b"# tiny\n"}, tags=["gguf"], library_name="gguf")
    return data


def test_download_is_verified_then_installed(hub, payload, tmp_path):
    dest = tmp_path / FILE
    result = download_file(FileRef(REPO, FILE), dest, policy=FAST)
    assert result.path == dest.absolute()
    assert result.sha256 == hashlib.sha256(payload).hexdigest()
    assert dest.read_bytes() == payload
    assert not part_path(dest).exists() and not sidecar_path(dest).exists()
    assert result.commit == hub.repos[REPO].commit


def test_small_git_file_is_verified_by_git_blob_sha1(hub, payload, tmp_path):
    result = download_file(FileRef(REPO, "README.md"), tmp_path / "README.md", policy=FAST)
    assert (tmp_path / "README.md").read_bytes() == b"# tiny\n"
    assert result.sha256 == hashlib.sha256(b"# tiny\n").hexdigest()


def test_twenty_random_connection_drops_cost_not_one_byte_more(hub, payload, tmp_path):
    """A dropped connection delivers every byte sent before the drop, and each is written: nothing is sent twice."""
    offsets = hub.faults.drop_randomly(20, len(payload), seed=7)
    result = download_file(FileRef(REPO, FILE), tmp_path / FILE, policy=FAST)
    assert hashlib.sha256((tmp_path / FILE).read_bytes()).hexdigest() == hashlib.sha256(payload).hexdigest()
    assert len([r for r in result.restarts if "closed" in r or "lost" in r]) == len(offsets)
    assert hub.stats.content_requests == len(offsets) + 1
    assert hub.stats.body_bytes == len(payload)
    assert result.bytes_transferred == len(payload)


@pytest.mark.slow
def test_server_errors_and_rate_limits_are_retried(hub, payload, tmp_path):
    hub.faults.statuses = [500, 429, 503]
    result = download_file(FileRef(REPO, FILE), tmp_path / FILE, policy=FAST)
    assert (tmp_path / FILE).read_bytes() == payload
    assert [r for r in result.restarts if "answered" in r] == [
        "server answered 500", "server answered 429", "server answered 503"]


@pytest.mark.slow
def test_a_stall_is_detected_and_the_transfer_reconnects(hub, payload, tmp_path):
    hub.faults.stall_at, hub.faults.stall_seconds = 3 * MB, 10.0
    result = download_file(FileRef(REPO, FILE), tmp_path / FILE, policy=QUICK_STALL)
    assert (tmp_path / FILE).read_bytes() == payload
    assert any("stalled" in r for r in result.restarts)
    assert hub.stats.ranges[-1] != "bytes=0-"  # resumed, not restarted


def test_one_wrong_byte_is_never_installed(hub, payload, tmp_path):
    hub.faults.corrupt_offset = 5 * MB + 123
    dest = tmp_path / FILE
    with pytest.raises(ChecksumMismatch, match="deleted") as info:
        download_file(FileRef(REPO, FILE), dest, policy=FAST)
    assert "corrupt" in str(info.value)
    assert not dest.exists() and not part_path(dest).exists()
    assert Library().models() == []


@pytest.mark.slow
def test_pause_keeps_bytes_and_resume_continues(hub, payload, tmp_path):
    hub.faults.rate = 8 * MB
    token = CancelToken()

    def pause_after_two_mb(report):
        if report.current and report.current >= 2 * MB:
            token.cancel()

    dest = tmp_path / FILE
    with pytest.raises(JobCancelled):
        download_file(FileRef(REPO, FILE), dest, policy=FAST, cancel=token, progress=pause_after_two_mb)
    kept = part_path(dest).stat().st_size
    assert 2 * MB <= kept < len(payload)
    hub.faults.rate = None
    result = download_file(FileRef(REPO, FILE), dest, policy=FAST)
    assert result.resumed_from == kept
    assert dest.read_bytes() == payload
    assert hub.stats.body_bytes <= 1.1 * len(payload)


@pytest.mark.slow
def test_two_requests_of_the_same_file_share_one_transfer(hub, payload, tmp_path):
    hub.faults.rate = 16 * MB
    dest = tmp_path / FILE
    results, errors = [], []

    def worker():
        try:
            results.append(download_file(FileRef(REPO, FILE), dest, policy=FAST))
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert [r.path for r in results] == [dest.absolute()] * 2
    assert hub.stats.content_requests == 1
    assert hub.stats.body_bytes == len(payload)


def test_download_list_entry_is_registered_in_the_library(hub, payload):
    downloads = DownloadList()
    entry = downloads.add(FileRef(REPO, FILE))
    run_entry(entry, downloads, policy=FAST, cancel=CancelToken())
    [model] = Library().models()
    assert model.sha256 == hashlib.sha256(payload).hexdigest()
    assert model.quantization == "Q4_K_M" and model.source == "hub" and model.repo_id == REPO
    assert downloads.get(entry.key).status == "done"


def test_not_enough_disk_space_is_refused_before_transfer(hub, tmp_path):
    repo = hub.add_repo("genlab-test/huge-GGUF", {"huge.gguf": gguf_bytes(1 * MB)})
    repo.files["huge.gguf"].advertised_size = 2 ** 50  # one pebibyte
    dest = tmp_path / "huge.gguf"
    with pytest.raises(DiskFull, match="Not enough disk space"):
        download_file(FileRef("genlab-test/huge-GGUF", "huge.gguf"), dest, policy=FAST)
    assert hub.stats.content_requests == 0
    assert not dest.exists() and not part_path(dest).exists()


def test_gated_repo_asks_for_a_token_then_works_with_one(hub, monkeypatch, tmp_path):
    data = gguf_bytes(64 * 1024)
    hub.add_repo("genlab-test/gated", {"m.gguf": data}, gated=True)
    with pytest.raises(TokenRequired, match="gated") as info:
        download_file(FileRef("genlab-test/gated", "m.gguf"), tmp_path / "m.gguf", policy=FAST)
    assert "token" in str(info.value).lower()
    hub.tokens.add("hf_test_token")
    monkeypatch.setenv("HF_TOKEN", "hf_test_token")
    assert download_file(FileRef("genlab-test/gated", "m.gguf"), tmp_path / "m.gguf", policy=FAST).size == len(data)


def test_unknown_repo_and_unknown_file_name_what_is_missing(hub, payload, tmp_path):
    with pytest.raises(NotOnHub, match="genlab-test/does-not-exist"):
        download_file(FileRef("genlab-test/does-not-exist", FILE), tmp_path / "x", policy=FAST)
    with pytest.raises(NotOnHub, match="nope.gguf"):
        download_file(FileRef(REPO, "nope.gguf"), tmp_path / "y", policy=FAST)


@pytest.mark.slow
def test_another_process_holding_the_file_is_told_so(hub, payload, tmp_path):
    import portalocker

    from desktop.core.models.errors import DownloadError

    dest = tmp_path / FILE
    with open(dest.with_name(dest.name + ".part.lock"), "a+b") as held:
        # What a second GenLab process holds while downloading (another descriptor conflicts
        # even in one process, on every platform).
        portalocker.lock(held, portalocker.LockFlags.EXCLUSIVE)
        with pytest.raises(DownloadError, match="another GenLab process"):
            download_file(FileRef(REPO, FILE), dest, policy=FAST)
    assert hub.stats.content_requests == 0


def test_offline_download_fails_fast_with_a_clear_message(monkeypatch, tmp_path):
    from desktop.core.models.errors import HubOffline

    monkeypatch.setenv("HF_ENDPOINT", "https://huggingface.co")  # the suite blocks it: offline
    with pytest.raises(HubOffline, match="Cannot reach the hub"):
        download_file(FileRef(REPO, FILE), tmp_path / FILE, policy=FAST)
    assert not (tmp_path / FILE).exists() and not part_path(tmp_path / FILE).exists()


def test_an_expired_signed_url_is_refreshed_from_the_hub(hub, payload, tmp_path):
    hub.faults.expired_signatures = 1
    result = download_file(FileRef(REPO, FILE), tmp_path / FILE, policy=FAST)
    assert (tmp_path / FILE).read_bytes() == payload
    assert any("signed URL refused" in r for r in result.restarts)
    assert hub.stats.head_requests >= 2  # the metadata was asked again for a fresh location


def test_pause_during_a_stall_does_not_wait_for_the_stall(hub, payload, tmp_path):
    stall_at = 2 * MB
    hub.faults.stall_at, hub.faults.stall_seconds = stall_at, 30.0
    slow_to_notice = RetryPolicy(base_delay=0.02, stall_seconds=60.0)
    token = CancelToken()
    part = part_path(tmp_path / FILE)

    def pause_once_stalled():
        while not (part.exists() and part.stat().st_size >= stall_at):
            if token.wait(0.01):
                return
        hub.faults.stalled.wait(30)  # the server sends nothing more: the transfer's next read blocks
        token.cancel()

    watcher = threading.Thread(target=pause_once_stalled)
    watcher.start()
    try:
        with pytest.raises(JobCancelled):
            download_file(FileRef(REPO, FILE), tmp_path / FILE, policy=slow_to_notice, cancel=token)
    finally:
        token.cancel()
        watcher.join()
    # Nothing after the stall point arrived: the pause cut the blocked read instead of outwaiting it.
    assert part_path(tmp_path / FILE).stat().st_size <= stall_at


def test_a_server_that_ignores_range_restarts_cleanly(hub, payload, tmp_path):
    hub.faults.rate = 8 * MB
    token = CancelToken()
    dest = tmp_path / FILE
    with pytest.raises(JobCancelled):
        download_file(FileRef(REPO, FILE), dest, policy=FAST, cancel=token,
                      progress=lambda r: token.cancel() if (r.current or 0) >= MB else None)
    assert part_path(dest).stat().st_size >= MB
    hub.faults.rate, hub.faults.ignore_range = None, True
    result = download_file(FileRef(REPO, FILE), dest, policy=FAST)
    assert dest.read_bytes() == payload
    assert any("ignored Range" in r for r in result.restarts)


def test_a_file_already_installed_is_not_downloaded_again(hub, payload, tmp_path):
    first = download_file(FileRef(REPO, FILE), tmp_path / FILE, policy=FAST)
    requests = hub.stats.content_requests
    again = download_file(FileRef(REPO, FILE), tmp_path / FILE, policy=FAST)
    assert again.already_installed and not first.already_installed
    assert hub.stats.content_requests == requests and again.sha256 == first.sha256


def test_checksum_comes_from_the_api_when_the_etag_is_not_a_hash(hub, payload, tmp_path):
    hub.faults.opaque_etags = True
    result = download_file(FileRef(REPO, FILE), tmp_path / FILE, policy=FAST)
    assert result.sha256 == hashlib.sha256(payload).hexdigest()
    hub.faults.corrupt_offset = 77
    with pytest.raises(ChecksumMismatch):
        download_file(FileRef(REPO, FILE), tmp_path / "again.gguf", policy=FAST)
    assert not (tmp_path / "again.gguf").exists()


def _list_copy_elsewhere(how: str, data: bytes, tmp_path) -> str:
    """Put ``data`` in the library at a path that is not the download's destination; returns that path."""
    if how == "hub":  # the same bytes, downloaded earlier from another repo
        other = DownloadList()
        entry = other.add(FileRef("genlab-test/mirror-GGUF", "mirror-Q4_K_M.gguf"))
        return str(run_entry(entry, other, policy=FAST, cancel=CancelToken()).path)
    source = tmp_path / "lmstudio" / "pub" / "copy-Q4_K_M.gguf"
    source.parent.mkdir(parents=True)
    source.write_bytes(data)
    if how == "found":
        [model] = Library().scan([tmp_path / "lmstudio"], hf_cache=False).added
    else:
        model = Library().import_path(source, how.split("-")[1])
    return model.path


@pytest.mark.parametrize("how", ["found", "imported-link", "imported-copy", "hub"])
def test_a_model_already_in_the_library_is_reused_not_downloaded(hub, payload, tmp_path, how):
    hub.add_repo("genlab-test/mirror-GGUF", {"mirror-Q4_K_M.gguf": payload})
    listed_path = _list_copy_elsewhere(how, payload, tmp_path)
    [before] = Library().models()
    hub.stats.reset()
    downloads = DownloadList()
    entry = downloads.add(FileRef(REPO, FILE), source="catalog", catalog_id="tiny")
    result = run_entry(entry, downloads, policy=FAST, cancel=CancelToken())
    assert result.already_installed and str(result.path) == listed_path
    assert hub.stats.content_requests == 0 and hub.stats.body_bytes == 0
    assert not os.path.exists(entry.dest)
    [after] = Library().models()  # the listed entry kept its path and source
    assert (after.id, after.path, after.source, after.sha256) == (before.id, listed_path, before.source, before.sha256)
    assert after.repo_id == (before.repo_id or REPO) and after.catalog_id == "tiny"
    done = downloads.get(entry.key)
    assert done.status == "done" and done.already_installed and done.path == listed_path
    assert listed_path in done.note and "nothing was downloaded" in done.note


def test_a_listed_copy_that_changed_or_vanished_is_downloaded_and_replaces_the_entry(hub, payload, tmp_path):
    listed = _list_copy_elsewhere("found", payload, tmp_path)
    with open(listed, "r+b") as fh:  # same size, one byte different: no longer the hub's file
        fh.seek(1000)
        fh.write(bytes([payload[1000] ^ 0xFF]))
    downloads = DownloadList()
    entry = downloads.add(FileRef(REPO, FILE))
    result = run_entry(entry, downloads, policy=FAST, cancel=CancelToken())
    assert not result.already_installed and hub.stats.body_bytes == len(payload)
    [model] = Library().models()
    assert model.path == entry.dest and model.source == "hub"
    os.unlink(entry.dest)
    hub.stats.reset()
    again = downloads.add(FileRef(REPO, FILE))
    assert not run_entry(again, downloads, policy=FAST, cancel=CancelToken()).already_installed
    assert hub.stats.body_bytes == len(payload)


def test_reuse_frees_the_part_of_a_transfer_that_is_no_longer_needed(hub, payload, tmp_path):
    dest = tmp_path / FILE
    token = CancelToken()
    hub.faults.rate = 8 * MB
    with pytest.raises(JobCancelled):
        download_file(FileRef(REPO, FILE), dest, policy=FAST, cancel=token,
                      progress=lambda r: token.cancel() if (r.current or 0) >= MB else None)
    assert part_path(dest).exists()
    elsewhere = tmp_path / "elsewhere.gguf"
    elsewhere.write_bytes(payload)
    asked = []
    result = download_file(FileRef(REPO, FILE), dest, policy=FAST,
                           find_existing=lambda sha, size: asked.append((sha, size)) or elsewhere)
    assert asked == [(hashlib.sha256(payload).hexdigest(), len(payload))]
    assert result.already_installed and result.path == elsewhere
    assert not part_path(dest).exists() and not sidecar_path(dest).exists() and not dest.exists()


@pytest.mark.slow
def test_a_slow_link_reports_progress_several_times_a_second_not_once_per_buffer(hub, tmp_path):
    from tests.support.hub_server import gguf_file_bytes

    data = gguf_file_bytes(1024 * 1024, seed=70)  # one read buffer's worth
    hub.add_repo("slow/Link-GGUF", {"link-Q4_0.gguf": data})
    hub.faults.rate = 512 * 1024  # about 2 s for the file
    seen = []

    def progress(report) -> None:
        payload = report.payload
        if payload is not None and hasattr(payload, "done") and 0 < payload.done < len(data):
            seen.append(payload.done)

    download_file(FileRef("slow/Link-GGUF", "link-Q4_0.gguf"), tmp_path / "link-Q4_0.gguf", policy=FAST,
                  progress=progress)
    assert len(set(seen)) >= 4, seen  # the bar moves while the first megabyte arrives
