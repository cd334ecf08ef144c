"""The Catalog (and the Hub's GGUF rows) say how fast a text model will run on this CPU; first picks are marked."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt

from desktop.core.hardware import MachineInfo
from desktop.core.history.store import HistoryStore
from desktop.core.models.speed import CACHE_NAME, _machine_key
from desktop.core.records import GenerationRecord, ModelIdentity
from desktop.core.services import Services
from desktop.ui.models.browse import PACE_COLORS, RECOMMENDED_BADGE, CatalogTab, HubTab, current_machine
from desktop.ui.models.downloads import downloads_controller
from desktop.ui.models.view import ModelsWorkspace
from tests.support.hub_server import gguf_file_bytes

CPU_ONLY = MachineInfo(ram_total=64 * 1024 ** 3, ram_available=48 * 1024 ** 3, cpu_count=8)  # no GPU


def variant_row(tab: CatalogTab, entry_id: str, quantization: str):
    for i in range(tab.tree.topLevelItemCount()):
        parent = tab.tree.topLevelItem(i)
        for j in range(parent.childCount()):
            if parent.child(j).data(0, Qt.ItemDataRole.UserRole) == (entry_id, quantization):
                return parent, parent.child(j)
    raise AssertionError(f"no row for {entry_id} {quantization}")


@pytest.fixture
def services(genlab_home):
    s = Services()
    yield s
    s.close()


def make_tab(qtbot, services, runner) -> CatalogTab:
    tab = CatalogTab(downloads_controller(services, runner), CPU_ONLY, runner=runner,
                     history=lambda: services.opened_history_store)
    qtbot.addWidget(tab)
    qtbot.waitUntil(lambda: tab.bandwidth is not None, timeout=30000)
    return tab


def test_on_a_cpu_the_tiny_model_reads_fast_and_a_7b_model_slow(qtbot, services, runner, genlab_home):
    # A fixed bandwidth (as measured on a modest laptop) makes the words predictable.
    (genlab_home / CACHE_NAME).write_text(json.dumps({"machine": _machine_key(CPU_ONLY), "bytes_per_s": 10e9}))
    tab = make_tab(qtbot, services, runner)
    assert tab.bandwidth == 10e9
    _, tiny = variant_row(tab, "stories-260k", "F32")
    _, big = variant_row(tab, "qwen2.5-7b-instruct", "Q8_0")
    assert "tok/s on CPU" in tiny.text(4) and "runs on CPU (slow)" not in tiny.text(4)
    assert tiny.foreground(4).color().name() == PACE_COLORS["fast"]
    assert big.foreground(4).color().name() == PACE_COLORS["slow"]
    assert "memory bandwidth" in big.toolTip(4) and "weights" in big.toolTip(4)
    rate = lambda item: float(item.text(4).split()[0].lstrip("~").replace("k", "e3"))  # noqa: E731
    assert rate(tiny) > 50 * rate(big)


@pytest.mark.slow
def test_genlab_s_own_replies_give_the_measured_speed(qtbot, services, runner, genlab_home):
    store = services.provide_history_store(HistoryStore(embedder=None))
    model = ModelIdentity(name="Qwen3 0.6B", file="Qwen3-0.6B-Q4_K_M.gguf")
    store.save_many([GenerationRecord(kind="text", prompt=str(i), model=model, timings={"tokens_per_s": rate})
                     for i, rate in enumerate((30.0, 34.0, 38.0))])
    tab = make_tab(qtbot, services, runner)
    _, row = variant_row(tab, "qwen3-0.6b", "Q4_K_M")
    assert row.text(4).startswith("34 tok/s measured")
    assert "your history" in row.toolTip(4)


def test_recommended_first_picks_carry_a_badge(qtbot, services, runner):
    tab = make_tab(qtbot, services, runner)
    picks = {e.id for e in tab.entries if e.recommended}
    assert picks
    for entry in tab.entries:
        parent, _ = variant_row(tab, entry.id, entry.variants[0].quantization)
        assert (RECOMMENDED_BADGE in parent.text(0)) == (entry.id in picks), entry.id
    # The first picks come first, before every other entry.
    badges = [RECOMMENDED_BADGE in tab.tree.topLevelItem(i).text(0) for i in range(tab.tree.topLevelItemCount())]
    assert badges == sorted(badges, reverse=True) and badges[0]


def test_hub_gguf_results_and_files_show_the_expected_speed_too(qtbot, hub, services, runner):
    hub.add_repo("someone/Small-GGUF", {"small-Q4_K_M.gguf": gguf_file_bytes(100_000)},
                 tags=["gguf"], library_name="gguf")
    tab = HubTab(downloads_controller(services, runner), CPU_ONLY, runner)
    qtbot.addWidget(tab)
    tab.list_files("someone/Small-GGUF")
    qtbot.waitUntil(lambda: tab.files.topLevelItemCount() == 1, timeout=10000)
    row = tab.files.topLevelItem(0)
    assert row.text(3) == "runs on CPU · measuring speed…"  # until the Catalog's measurement arrives
    tab.set_speed((10e9, {}))
    assert row.text(3).startswith("~") and row.text(3).endswith("tok/s on CPU")
    assert row.foreground(3).color().name() == PACE_COLORS["fast"]
    assert "memory bandwidth" in row.toolTip(3) and "Memory:" in row.toolTip(3)
    tab.set_speed((10e9, {"small-q4_k_m.gguf": 42.0}))  # GenLab's own replies with this file
    assert row.text(3) == "42 tok/s measured"

    tab.query_edit.setText("small")
    tab.search()
    qtbot.waitUntil(lambda: tab.results.topLevelItemCount() == 1, timeout=10000)
    assert tab.results.topLevelItem(0).text(4).endswith("tok/s on CPU")


def test_the_hub_tab_gets_the_catalog_s_measurement(qtbot, services, runner, genlab_home):
    (genlab_home / CACHE_NAME).write_text(json.dumps({"machine": _machine_key(current_machine()),
                                                      "bytes_per_s": 12e9}))
    workspace = ModelsWorkspace(services, runner)
    qtbot.addWidget(workspace)
    qtbot.waitUntil(lambda: workspace.hub_tab.bandwidth is not None, timeout=30000)
    assert workspace.hub_tab.bandwidth == workspace.catalog_tab.bandwidth == 12e9
