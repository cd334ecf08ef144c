"""The Catalog's FLUX.1 rows: on a 16 GB GPU the GGUF Q4_K_S variant fits with CPU offload and says so, and
downloading a GGUF variant queues every file into the variant's own folder, the transformer from city96's repo."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from desktop.core import paths
from desktop.core.hardware import GpuInfo, MachineInfo
from desktop.core.models.fit import FITS_OFFLOAD, RUNS_CPU
from desktop.core.services import Services
from desktop.ui.models.browse import VERDICT_COLORS, CatalogTab
from desktop.ui.models.downloads import downloads_controller
from tests.ui.models.test_catalog_speed import variant_row

GB = 1024 ** 3
GPU_16 = MachineInfo(ram_total=128 * GB, ram_available=96 * GB, cpu_count=8,
                     gpus=[GpuInfo(0, "Test GPU", "cuda", 16 * GB, 16 * GB)])


@pytest.fixture
def tab(qtbot, genlab_home, runner, hub):
    services = Services()
    controller = downloads_controller(services, runner)  # downloads from the loopback hub, which lacks FLUX
    tab = CatalogTab(controller, GPU_16, runner=runner, history=lambda: None)
    qtbot.addWidget(tab)
    yield tab
    services.close()


def test_flux_rows_say_where_it_fits_on_a_16_gb_gpu(tab):
    _, q4 = variant_row(tab, "flux.1-schnell", "Q4_K_S")
    assert q4.text(4).startswith(FITS_OFFLOAD) and "CPU offload" in q4.toolTip(4)
    assert q4.foreground(4).color().name() == VERDICT_COLORS[FITS_OFFLOAD]
    _, bf16 = variant_row(tab, "flux.1-schnell", "BF16")
    assert bf16.text(4).startswith(RUNS_CPU)


def test_downloading_a_gguf_variant_queues_its_files_into_its_own_folder(tab):
    _, row = variant_row(tab, "flux.1-schnell", "Q8_0")
    tab.tree.setCurrentItem(row)
    tab.download_selected()
    entries = tab.controller.downloads.entries()
    for entry in entries:  # paused, as a person would, before the loopback hub answers that it lacks FLUX
        tab.controller.pause(entry.key)
    folder = paths.models_dir() / "black-forest-labs__FLUX.1-schnell-Q8_0"
    assert len(entries) == 20 and {e.root for e in entries} == {str(folder)}
    assert all(Path(e.dest).is_relative_to(folder) for e in entries)
    [gguf] = [e for e in entries if e.repo_id == "city96/FLUX.1-schnell-gguf"]
    assert gguf.filename == "flux1-schnell-Q8_0.gguf" and Path(gguf.dest) == folder / "transformer" / gguf.filename
    assert not any(e.filename.startswith("transformer/diffusion_pytorch_model") for e in entries)
    assert {e.catalog_id for e in entries} == {"flux.1-schnell"} and row.data(0, Qt.ItemDataRole.UserRole)[1] == "Q8_0"
