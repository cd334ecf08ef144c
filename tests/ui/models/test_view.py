"""The Models workspace against a loopback hub: catalog, hub search, downloads panel, library."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from desktop.core.hardware import fmt_bytes
from desktop.core.hub.download import FileRef, part_path
from desktop.core.hub.queue import DownloadList
from desktop.core.models.library import Library
from desktop.core.services import Services
from desktop.ui.models.view import ModelsWorkspace
from tests.support.bad_models import BAD_IMPORT_IDS, BAD_IMPORTS
from tests.support.hub_server import gguf_file_bytes

MB = 1024 * 1024
CATALOG_REPO, CATALOG_FILE = "Qwen/Qwen2.5-0.5B-Instruct-GGUF", "qwen2.5-0.5b-instruct-q4_k_m.gguf"


@pytest.fixture
def make_workspace(qtbot, runner):
    def make() -> ModelsWorkspace:
        workspace = ModelsWorkspace(Services(), runner)
        qtbot.addWidget(workspace)
        return workspace

    return make


def test_an_empty_library_says_where_models_come_from_and_its_links_go_there(qtbot, make_workspace, tiny_gguf):
    workspace = make_workspace()
    tab = workspace.library_tab
    assert not tab.empty_hint.isHidden() and "No models yet" in tab.empty_hint.text()
    tab.empty_hint.linkActivated.emit("catalog")
    assert workspace.tabs.currentWidget() is workspace.catalog_tab
    tab.empty_hint.linkActivated.emit("hub")
    assert workspace.tabs.currentWidget() is workspace.hub_tab
    Library().import_path(tiny_gguf, "link")
    tab.refresh()
    assert tab.empty_hint.isHidden() and tab.tree.topLevelItemCount() == 1
    assert tab.tree.topLevelItem(0).text(5) == "linked"  # used in place, not copied


def test_catalog_tab_shows_every_variant_with_a_fit_verdict_or_its_speed(qtbot, make_workspace):
    workspace = make_workspace()
    tab = workspace.catalog_tab
    qtbot.waitUntil(lambda: tab.bandwidth is not None, timeout=30000)  # measured off the GUI thread
    tree = tab.tree
    variants = [tree.topLevelItem(i).child(j) for i in range(tree.topLevelItemCount())
                for j in range(tree.topLevelItem(i).childCount())]
    assert len(variants) == sum(len(e.variants) for e in tab.entries)
    for item in variants:
        text = item.text(4)
        if text.endswith((" tok/s on CPU", " tok/s measured")):  # a text model on a CPU: the speed to expect
            assert "Memory: needs ~" in item.toolTip(4)  # and the memory it needs
        else:
            verdict, numbers = text.split(": ", 1)
            assert verdict in ("fits on GPU", "won't fit", "runs on CPU (slow)")  # an image model on CPU
            assert numbers.startswith("needs ~")
        assert "weights" in item.toolTip(4) and "overhead" in item.toolTip(4)  # the whole arithmetic


def test_catalog_download_lands_in_the_library(qtbot, hub, make_workspace):
    data = gguf_file_bytes(2 * MB, seed=21)
    hub.add_repo(CATALOG_REPO, {CATALOG_FILE: data})
    workspace = make_workspace()
    assert not workspace.catalog_tab.download_button.isEnabled()  # nothing chosen yet
    workspace.catalog_tab.select("qwen2.5-0.5b-instruct", "Q4_K_M")
    assert workspace.catalog_tab.download_button.isEnabled()
    with qtbot.waitSignal(workspace.downloads.installed, timeout=30000) as blocker:
        workspace.catalog_tab.download_button.click()
    assert blocker.args[0].sha256 == hashlib.sha256(data).hexdigest()
    qtbot.waitUntil(lambda: workspace.library_tab.tree.topLevelItemCount() == 1, timeout=5000)
    row = workspace.library_tab.tree.topLevelItem(0)
    assert row.text(0) == CATALOG_FILE and row.text(5) == "catalog"


def test_hub_search_lists_results_and_files(qtbot, hub, make_workspace):
    hub.add_repo("someone/Small-GGUF", {"small-Q4_K_M.gguf": gguf_file_bytes(100_000), "README.md": b"x"},
                 tags=["gguf"], library_name="gguf", downloads=42)
    workspace = make_workspace()
    tab = workspace.hub_tab
    tab.query_edit.setText("small")
    tab.search()
    qtbot.waitUntil(lambda: tab.results.topLevelItemCount() == 1, timeout=10000)
    assert tab.results.topLevelItem(0).text(0) == "someone/Small-GGUF"
    tab.list_files("someone/Small-GGUF")
    qtbot.waitUntil(lambda: tab.files.topLevelItemCount() == 2, timeout=10000)
    gguf_row = tab.files.topLevelItem(0)
    assert gguf_row.text(0) == "small-Q4_K_M.gguf" and gguf_row.text(2) == "Q4_K_M"
    fit = gguf_row.text(3)  # on a CPU the expected speed, as in the Catalog
    assert fit.split(": ")[0] in ("fits on GPU", "won't fit") or "tok/s" in fit or "measuring speed" in fit


def test_hub_search_offline_shows_offline(qtbot, monkeypatch, make_workspace):
    monkeypatch.setenv("HF_ENDPOINT", "https://huggingface.co")  # blocked by the suite
    workspace = make_workspace()
    workspace.hub_tab.query_edit.setText("qwen")
    workspace.hub_tab.search()
    qtbot.waitUntil(lambda: "Offline" in workspace.hub_tab.message.text(), timeout=10000)
    assert workspace.hub_tab.results.topLevelItemCount() == 0


@pytest.mark.parametrize("url", ["https://example.com/a/b", "www.example.com/a/b",
                                 "https://huggingface.co.evil.example/a/b"])
def test_pasting_a_non_hub_url_says_so(make_workspace, url):
    workspace = make_workspace()
    workspace.hub_tab.query_edit.setText(url)
    workspace.hub_tab.search_button.click()
    assert workspace.hub_tab.message.text().startswith(f"{url!r} is neither a repo id (owner/name) nor a Hugging "
                                                       "Face hub URL. Paste something like")
    assert workspace.hub_tab.handle is None  # refused at once: nothing asked of the hub


@pytest.mark.slow
def test_the_hub_box_opens_a_repo_or_a_hub_url_and_searches_anything_else(qtbot, hub, make_workspace):
    for size in ("0.5B", "1.5B"):
        hub.add_repo(f"Qwen/Qwen2.5-{size}-Instruct-GGUF", {f"qwen-{size}-Q4_K_M.gguf": gguf_file_bytes(20_000)},
                     tags=["gguf"], library_name="gguf")
    workspace = make_workspace()
    tab = workspace.hub_tab

    def run(text):
        tab.query_edit.setText(text)
        with qtbot.waitSignal(tab.status, timeout=10000, check_params_cb=lambda m: m != "Searching…"):
            tab.query_edit.returnPressed.emit()

    def results():
        return [tab.results.topLevelItem(i).text(0) for i in range(tab.results.topLevelItemCount())]

    run("Qwen/Qwen2.5")  # owner/name shaped, but a search
    assert results() == ["Qwen/Qwen2.5-0.5B-Instruct-GGUF", "Qwen/Qwen2.5-1.5B-Instruct-GGUF"]
    assert tab.message.text() == ("No repo is named exactly Qwen/Qwen2.5; showing the search results for it "
                                  "instead. 2 model(s)")
    run("Qwen/Qwen2.5-1.5B-Instruct-GGUF")  # an exact repo id opens the repo
    assert tab.repo_id == "Qwen/Qwen2.5-1.5B-Instruct-GGUF" and results() == []
    assert tab.files.topLevelItem(0).text(0) == "qwen-1.5B-Q4_K_M.gguf"
    assert tab.message.text() == "Qwen/Qwen2.5-1.5B-Instruct-GGUF: 1 file(s), 1 model file(s)."
    run(f"{hub.url}/Qwen/Qwen2.5-0.5B-Instruct-GGUF/blob/main/qwen-0.5B-Q4_K_M.gguf")  # a hub URL opens its repo
    assert tab.repo_id == "Qwen/Qwen2.5-0.5B-Instruct-GGUF"
    assert [item.text(0) for item in tab.files.selectedItems()] == ["qwen-0.5B-Q4_K_M.gguf"]  # the file it names
    run("instruct")  # plain words search
    assert len(results()) == 2 and tab.message.text() == "2 model(s)"


@pytest.mark.slow
def test_downloads_panel_pause_and_resume(qtbot, hub, make_workspace):
    data = gguf_file_bytes(6 * MB, seed=22)
    hub.add_repo("someone/Slow-GGUF", {"slow-Q8_0.gguf": data})
    hub.faults.rate = 4 * MB
    workspace = make_workspace()
    controller, panel = workspace.downloads, workspace.downloads_panel
    entry = controller.request(FileRef("someone/Slow-GGUF", "slow-Q8_0.gguf"))
    qtbot.waitUntil(lambda: controller.live.get(entry.key) is not None and controller.live[entry.key].done > MB,
                    timeout=20000)
    qtbot.waitUntil(lambda: panel.tree.topLevelItemCount() == 1, timeout=2000)
    panel.tree.topLevelItem(0).setSelected(True)
    assert panel.pause_button.isEnabled()
    panel.pause_button.click()
    qtbot.waitUntil(lambda: controller.active_count() == 0, timeout=10000)
    assert DownloadList().get(entry.key).status == "paused"
    kept = part_path(Path(entry.dest)).stat().st_size
    assert 0 < kept < len(data)
    hub.faults.rate = None
    panel.refresh()
    panel.tree.topLevelItem(0).setSelected(True)
    assert panel.resume_button.isEnabled()
    with qtbot.waitSignal(controller.installed, timeout=30000) as blocker:
        panel.resume_button.click()
    assert blocker.args[0].resumed_from >= kept
    assert Path(entry.dest).read_bytes() == data


def test_unfinished_downloads_resume_when_the_workspace_starts(qtbot, hub, runner):
    data = gguf_file_bytes(1 * MB, seed=23)
    hub.add_repo("someone/Left-GGUF", {"left-Q4_0.gguf": data})
    downloads = DownloadList()
    entry = downloads.add(FileRef("someone/Left-GGUF", "left-Q4_0.gguf"))
    downloads.update(entry.key, status="running")  # as a killed process leaves it
    services = Services()
    with qtbot.waitSignal(runner.queue_changed, timeout=5000):
        workspace = ModelsWorkspace(services, runner)
    qtbot.addWidget(workspace)
    qtbot.waitUntil(lambda: DownloadList().get(entry.key).status == "done", timeout=30000)
    assert [m.sha256 for m in Library().models()] == [hashlib.sha256(data).hexdigest()]


@pytest.mark.slow
def test_delete_refuses_a_model_this_window_has_loaded_then_frees_space(qtbot, runner, services, tiny_gguf):
    model = Library().import_path(tiny_gguf, "copy")
    engine = services.text_engine  # the engine the Chat workspace uses
    engine.load(Path(model.path))
    workspace = ModelsWorkspace(services, runner)
    qtbot.addWidget(workspace)
    workspace.library_tab.select(model.id)
    asked, warned = [], []
    workspace.confirm = lambda text: asked.append(text) or True
    workspace.warn = warned.append
    workspace.library_tab.delete_button.click()
    assert warned == [f"{model.name} is loaded in this window, so it cannot be deleted. "
                      "Unload it (or switch to another model) and try again."]  # a dialog, not a status line
    assert workspace.status_label.text() == ""
    assert asked == [] and Path(model.path).exists()  # refused before asking
    assert workspace.library_tab.tree.topLevelItemCount() == 1
    engine.unload()
    workspace.library_tab.delete_button.click()
    assert asked == [f"Delete {model.name}? This frees {fmt_bytes(model.size)} at {model.path}."]
    assert workspace.status_label.text() == f"Deleted {model.name}; freed {fmt_bytes(model.size)}."
    assert not Path(model.path).exists() and workspace.library_tab.tree.topLevelItemCount() == 0


@pytest.mark.slow
def test_delete_refuses_a_model_another_genlab_has_loaded(qtbot, make_workspace, tiny_gguf):
    from tests.support.model_loader import model_loaded_in_another_process

    model = Library().import_path(tiny_gguf, "copy")
    workspace = make_workspace()
    workspace.library_tab.select(model.id)
    workspace.confirm = lambda text: True
    warned: list[str] = []
    workspace.warn = warned.append
    with model_loaded_in_another_process(Path(model.path)) as loader:
        workspace.library_tab.delete_button.click()
        assert warned == [f"{model.name} is loaded in a running GenLab, so it cannot be "
                          "deleted. Unload it there (or close the app) and try again."]
        assert Path(model.path).exists()
        loader.unload()
        workspace.library_tab.delete_button.click()
    assert workspace.status_label.text() == f"Deleted {model.name}; freed {fmt_bytes(model.size)}."


@pytest.mark.parametrize(("make", "message"), BAD_IMPORTS, ids=BAD_IMPORT_IDS)
def test_importing_a_bad_model_shows_what_is_wrong(qtbot, make_workspace, tmp_path, make, message):
    source = make(tmp_path)
    workspace = make_workspace()
    handle = workspace.library_tab.import_path(source)
    qtbot.waitUntil(lambda: handle.state == "failed", timeout=10000)
    qtbot.waitUntil(lambda: workspace.status_label.text() == message, timeout=2000)
    assert workspace.library_tab.tree.topLevelItemCount() == 0 and Library().models() == []
    assert source.exists()


def test_a_read_only_models_folder_is_a_clear_message_for_import_and_download(qtbot, hub, read_only_folder,
                                                                             monkeypatch, make_workspace,
                                                                             tmp_path):
    monkeypatch.setenv("GENLAB_MODELS_DIR", str(read_only_folder))
    hub.add_repo("someone/Small-GGUF", {"small-Q4_K_M.gguf": gguf_file_bytes(100_000)})
    source = tmp_path / "mine-Q4_0.gguf"
    source.write_bytes(gguf_file_bytes(50_000, seed=6))
    workspace = make_workspace()
    workspace.library_tab.import_path(source)
    qtbot.waitUntil(lambda: "Cannot write to the models folder" in workspace.status_label.text(), timeout=10000)
    assert str(read_only_folder / "imported") in workspace.status_label.text()
    assert workspace.status_label.text().endswith("Choose a writable models folder (GENLAB_MODELS_DIR) or "
                                                  "import as a link.")
    workspace.downloads.request(FileRef("someone/Small-GGUF", "small-Q4_K_M.gguf"))
    folder = read_only_folder / "someone__Small-GGUF"
    qtbot.waitUntil(lambda: f"Cannot write to the models folder {folder}: " in workspace.status_label.text(),
                    timeout=10000)
    assert workspace.status_label.text().endswith("Choose a writable models folder (GENLAB_MODELS_DIR) or fix "
                                                  "its permissions.")
    assert Library().models() == [] and workspace.library_tab.tree.topLevelItemCount() == 0


def test_a_file_gone_from_the_repo_after_listing_says_so(qtbot, hub, make_workspace):
    repo = hub.add_repo("someone/Small-GGUF", {"small-Q4_K_M.gguf": gguf_file_bytes(100_000),
                                               "small-Q8_0.gguf": gguf_file_bytes(120_000, seed=2)})
    workspace = make_workspace()
    tab = workspace.hub_tab
    tab.list_files("someone/Small-GGUF")
    qtbot.waitUntil(lambda: tab.files.topLevelItemCount() == 2, timeout=10000)
    del repo.files["small-Q8_0.gguf"]  # renamed or removed upstream while the list was open
    assert not tab.download_button.isEnabled()  # no file selected yet
    tab.files.topLevelItem(1).setSelected(True)
    assert tab.download_button.isEnabled()
    tab.download_button.click()
    qtbot.waitUntil(lambda: "does not exist" in workspace.status_label.text(), timeout=10000)
    assert workspace.status_label.text() == (
        "The file 'small-Q8_0.gguf' does not exist in someone/Small-GGUF. Pick one of the repo's files: "
        "`genlab models download someone/Small-GGUF` lists them, as does opening the repo in the Models "
        "workspace's Hub tab.")
    assert Library().models() == [] and hub.stats.body_bytes == 0


def test_library_tab_shows_last_use_and_total_disk_usage(qtbot, make_workspace, tmp_path):
    import time

    owned_source, linked = tmp_path / "owned-Q4_K_M.gguf", tmp_path / "linked-Q8_0.gguf"
    owned_source.write_bytes(gguf_file_bytes(60_000, seed=11))
    linked.write_bytes(gguf_file_bytes(40_000, seed=12))
    owned = Library().import_path(owned_source, "copy")
    Library().import_path(linked, "link")
    workspace = make_workspace()
    tab = workspace.library_tab
    column = tab.COLUMNS.index("Last used")
    assert tab.tree.headerItem().text(column) == "Last used"

    def last_used():
        rows = [tab.tree.topLevelItem(i) for i in range(tab.tree.topLevelItemCount())]
        return {row.text(0): row.text(column) for row in rows}

    assert last_used() == {"owned-Q4_K_M.gguf": "never", "linked-Q8_0.gguf": "never"}
    total = owned.size + linked.stat().st_size
    assert tab.usage_label.text() == (f"2 model(s), {fmt_bytes(total)} in total, {fmt_bytes(owned.size)} in "
                                      "GenLab's models folder")
    Library().mark_used(owned.id)  # as an engine does when it loads the model
    tab.refresh()
    stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime(Library().get(owned.id).last_used))
    assert last_used() == {"owned-Q4_K_M.gguf": stamp, "linked-Q8_0.gguf": "never"}
    tab.select(owned.id)
    workspace.confirm = lambda text: True
    tab.delete_button.click()
    assert tab.usage_label.text() == (f"1 model(s), {fmt_bytes(linked.stat().st_size)} in total, 0 B in GenLab's "
                                      "models folder")


def test_gated_repo_message_then_token_from_the_hub_tab(qtbot, hub, make_workspace):
    hub.add_repo("meta/Gated-GGUF", {"gated-Q4_0.gguf": gguf_file_bytes(100_000)}, gated=True)
    hub.tokens.add("hf_ui_token")
    workspace = make_workspace()
    tab = workspace.hub_tab
    tab.list_files("meta/Gated-GGUF")
    qtbot.waitUntil(lambda: "gated" in tab.message.text(), timeout=10000)
    assert "token" in tab.message.text().lower()
    tab.ask_token = lambda: "hf_ui_token"
    tab.token_button.click()
    assert "Token saved" in tab.message.text()
    tab.list_files("meta/Gated-GGUF")
    qtbot.waitUntil(lambda: tab.files.topLevelItemCount() == 1, timeout=10000)


@pytest.mark.slow
def test_parallel_cap_queues_the_rest(qtbot, hub, runner):
    from desktop.ui.models.downloads import DownloadsController

    hub.add_repo("someone/Two-GGUF", {f"f{i}-Q4_0.gguf": gguf_file_bytes(1 * MB, seed=30 + i) for i in range(3)})
    hub.faults.rate = 8 * MB
    controller = DownloadsController(runner, max_parallel=1, resume=False)
    peak = []
    controller.changed.connect(lambda: peak.append(controller.active_count()))
    for i in range(3):
        controller.request(FileRef("someone/Two-GGUF", f"f{i}-Q4_0.gguf"))
    assert controller.active_count() == 1
    qtbot.waitUntil(lambda: all(e.status == "done" for e in DownloadList().entries()), timeout=30000)
    assert max(peak) == 1 and len(Library().models()) == 3


@pytest.mark.slow
def test_two_downloads_run_at_once_each_with_its_speed_and_eta_in_the_panel(qtbot, hub, runner):
    from desktop.ui.models.downloads import DownloadsController, DownloadsPanel

    files = {f"p{i}-Q4_0.gguf": gguf_file_bytes(6 * MB, seed=60 + i) for i in range(3)}
    hub.add_repo("someone/Pair-GGUF", files)
    hub.faults.rate = 2 * MB  # per connection: each file takes about 3 s
    controller = DownloadsController(runner, max_parallel=2, resume=False)
    panel = DownloadsPanel(controller)
    qtbot.addWidget(panel)
    for name in files:
        controller.request(FileRef("someone/Pair-GGUF", name))
    assert controller.active_count() == 2  # the cap, not one at a time

    def rows() -> dict[str, list[str]]:  # what the panel shows by itself, while progress keeps arriving
        return {panel.tree.topLevelItem(i).text(0): [panel.tree.topLevelItem(i).text(c) for c in range(6)]
                for i in range(panel.tree.topLevelItemCount())}

    def both_moving() -> bool:
        moving = [r for r in rows().values() if r[4].endswith("/s") and r[5]]
        return len(moving) == 2

    qtbot.waitUntil(both_moving, timeout=20000)  # speed and ETA for each running file
    queued = [name for name, r in rows().items() if not r[4]]
    assert len(queued) == 1 and rows()[queued[0]][2] == "queued"
    qtbot.waitUntil(lambda: controller.active_count() == 0
                    and all(e.status == "done" for e in DownloadList().entries()), timeout=60000)
    for name, data in files.items():
        [model] = [m for m in Library().models() if Path(m.path).name == name]
        assert model.sha256 == hashlib.sha256(data).hexdigest()
    qtbot.waitUntil(lambda: all(r[4] == "" and r[5] == "" and r[2] == "done" for r in rows().values()),
                    timeout=2000)  # finished: no speed, no ETA


def test_added_folder_is_remembered_and_scanned(qtbot, make_workspace, tmp_path):
    folder = tmp_path / "lm-studio" / "models" / "pub"
    folder.mkdir(parents=True)
    (folder / "found-Q6_K.gguf").write_bytes(gguf_file_bytes(80_000, seed=40))
    workspace = make_workspace()
    workspace.choose_path = lambda is_folder: str(tmp_path / "lm-studio")
    workspace.library_tab.add_folder_button.click()
    qtbot.waitUntil(lambda: workspace.library_tab.tree.topLevelItemCount() == 1, timeout=10000)
    row = workspace.library_tab.tree.topLevelItem(0)
    assert row.text(0) == "found-Q6_K.gguf" and row.text(5) == "found" and row.text(3) == "Q6_K"
    assert workspace.services.settings.downloads.extra_model_folders == [str(tmp_path / "lm-studio")]
    from desktop.core.settings import load_settings

    assert load_settings()[0].downloads.extra_model_folders == [str(tmp_path / "lm-studio")]


@pytest.mark.slow
def test_cancelling_a_pipeline_file_keeps_the_pipeline_unlisted_and_the_panel_says_which(qtbot, hub, runner,
                                                                                         tmp_path):
    from desktop.ui.models.downloads import DownloadsController, DownloadsPanel
    from tests.core.models.test_library import write_diffusers

    folder = write_diffusers(tmp_path / "pipe")
    files = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    hub.add_repo("tester/tiny-sd", files, tags=["diffusers"], library_name="diffusers")
    unet = "unet/diffusion_pytorch_model.fp16.safetensors"
    controller = DownloadsController(runner, max_parallel=1, resume=False)
    panel = DownloadsPanel(controller)
    qtbot.addWidget(panel)
    problems = []
    controller.failed.connect(lambda _key, message: problems.append(message))
    keys = {name: controller.request(FileRef("tester/tiny-sd", name)).key for name in sorted(files)}
    controller.cancel(keys[unet])  # still queued behind the first file
    qtbot.waitUntil(lambda: all(e.status in ("done", "cancelled") for e in DownloadList().entries()), timeout=30000)
    qtbot.waitUntil(lambda: bool(problems), timeout=5000)
    assert problems == [(f"tester/tiny-sd is not listed as installed: {unet} was cancelled. Download it again to "
                         f"complete the pipeline (`genlab models download tester/tiny-sd {unet}`).")]
    assert Library().models() == []
    qtbot.waitUntil(lambda: unet in panel.error_label.text(), timeout=2000)
    assert "not listed as installed" in panel.error_label.text()


def test_catalog_download_of_a_model_found_on_disk_reuses_it_and_the_catalog_says_installed(qtbot, hub, tmp_path,
                                                                                            make_workspace):
    data = gguf_file_bytes(2 * MB, seed=24)
    hub.add_repo(CATALOG_REPO, {CATALOG_FILE: data})
    found = tmp_path / "lmstudio" / CATALOG_FILE
    found.parent.mkdir()
    found.write_bytes(data)
    Library().scan([found.parent], hf_cache=False)
    hub.stats.reset()
    workspace = make_workspace()

    def catalog_row(quant):
        tree = workspace.catalog_tab.tree
        rows = [tree.topLevelItem(i).child(j) for i in range(tree.topLevelItemCount())
                for j in range(tree.topLevelItem(i).childCount())]
        return next(r for r in rows if r.data(0, Qt.ItemDataRole.UserRole) == ("qwen2.5-0.5b-instruct", quant))

    assert catalog_row("Q4_K_M").text(5) == ""  # found in a folder, nothing says which repo it is from yet
    workspace.catalog_tab.select("qwen2.5-0.5b-instruct", "Q4_K_M")
    with qtbot.waitSignal(workspace.downloads.installed, timeout=30000) as blocker:
        workspace.catalog_tab.download_button.click()
    result = blocker.args[0]
    assert result.already_installed and result.path == found and hub.stats.body_bytes == 0
    assert str(found) in workspace.status_label.text() and "already installed" in workspace.status_label.text()
    assert catalog_row("Q4_K_M").text(5) == "installed (found)" and catalog_row("Q4_K_M").toolTip(5) == str(found)
    assert catalog_row("Q8_0").text(5) == ""
    panel = workspace.downloads_panel
    qtbot.waitUntil(lambda: workspace.downloads.active_count() == 0, timeout=5000)
    panel.refresh()
    row = panel.tree.topLevelItem(0)
    assert row.text(2) == "already installed" and str(found) in row.toolTip(2)
    qtbot.waitUntil(lambda: workspace.library_tab.tree.topLevelItemCount() == 1, timeout=5000)
    assert workspace.library_tab.tree.topLevelItem(0).text(5) == "found"


def test_hub_search_rows_show_a_verdict_or_ask_to_choose_a_file(qtbot, hub, make_workspace):
    hub.add_repo("big/Huge-GGUF", {"h-Q2_K.gguf": gguf_file_bytes(30_000)}, tags=["gguf"], library_name="gguf",
                 gguf={"total": 400_000_000_000_000, "architecture": "llama", "context_length": 8192})
    hub.add_repo("tester/sd", {"model_index.json": b"{}"}, tags=["diffusers"], library_name="diffusers")
    workspace = make_workspace()
    tab = workspace.hub_tab
    tab.search()
    qtbot.waitUntil(lambda: tab.results.topLevelItemCount() == 1, timeout=10000)
    row = tab.results.topLevelItem(0)
    assert row.text(0) == "big/Huge-GGUF" and row.text(4).startswith("won't fit: needs ~")
    assert row.toolTip(4).startswith("estimate for a Q4_K_M file of 400000.0B parameters")
    assert "free RAM" in row.toolTip(4)
    tab.kind_combo.setCurrentIndex(1)
    tab.search()
    qtbot.waitUntil(lambda: tab.results.topLevelItemCount() == 1 and tab.results.topLevelItem(0).text(0) == "tester/sd",
                    timeout=10000)
    assert tab.results.topLevelItem(0).text(4) == "choose a file to see if it fits"


@pytest.mark.slow
def test_a_diffusers_repo_offers_its_whole_pipeline_with_a_verdict_and_downloads_it(qtbot, hub, make_workspace):
    from tests.core.hub.test_search import _sd_repo

    files = _sd_repo()
    hub.add_repo("tester/sd", files, tags=["diffusers"], library_name="diffusers")
    workspace = make_workspace()
    tab = workspace.hub_tab
    tab.list_files("tester/sd")
    qtbot.waitUntil(lambda: tab.files.topLevelItemCount() == len(files) + 1, timeout=10000)
    pipeline = tab.files.topLevelItem(0)
    assert pipeline.text(0) == "whole pipeline (fp16, 10 files)" and pipeline.text(2) == "FP16"
    assert pipeline.text(3).split(": ")[0] in ("fits on GPU", "runs on CPU (slow)", "won't fit")
    assert pipeline.toolTip(3).startswith("the fp16 pipeline, 10 files: needs ~")
    rows = {tab.files.topLevelItem(i).text(0): tab.files.topLevelItem(i) for i in range(1, len(files) + 1)}
    assert rows["sd-tiny.safetensors"].text(3) and rows["README.md"].text(3) == ""
    pipeline.setSelected(True)
    tab.download_button.click()
    assert "Queued 10 file(s)" in tab.message.text()
    qtbot.waitUntil(lambda: len(Library().models()) == 1, timeout=30000)
    [model] = Library().models()
    assert model.kind == "image" and model.name == "tester/sd"
    assert not (Path(model.path) / "safety_checker").exists() and not list(Path(model.path).rglob("*.bin"))


def test_the_downloads_panel_refreshes_while_changes_keep_arriving(qtbot, runner):
    from PySide6.QtCore import QTimer

    from desktop.ui.models.downloads import DownloadsController, DownloadsPanel

    controller = DownloadsController(runner, max_parallel=1, resume=False)
    panel = DownloadsPanel(controller)
    qtbot.addWidget(panel)
    DownloadList().add(FileRef("someone/Fast-GGUF", "fast-Q4_0.gguf"))  # written by another process, say
    assert panel.tree.topLevelItemCount() == 0
    burst = QTimer(interval=30)  # progress reports arrive every ~33 ms on a fast link
    burst.timeout.connect(controller.changed.emit)
    burst.start()
    try:
        qtbot.waitUntil(lambda: panel.tree.topLevelItemCount() == 1, timeout=1500)  # while they still arrive
    finally:
        burst.stop()


def test_hub_counts_read_at_a_glance():
    from desktop.ui.models.browse import _count

    assert [_count(n) for n in (7, 9_999, 812_345, 1_234_567)] == ["7", "9,999", "812K", "1.2M"]
