"""Hardware-fit verdicts follow the numbers."""

from __future__ import annotations

from desktop.core.hardware import GpuInfo, MachineInfo, machine_info
from desktop.core.models.catalog import find_entry
from desktop.core.models.fit import FITS_GPU, RUNS_CPU, WONT_FIT, fit_catalog_variant, fit_model
from desktop.core.models.memory import KvShape, kv_cache_bytes

GB = 1024 ** 3


def machine(ram_free: float, vram_free: float = 0) -> MachineInfo:
    gpus = [GpuInfo(0, "Test GPU", "cuda", int(vram_free * 2 * GB), int(vram_free * GB))] if vram_free else []
    return MachineInfo(int(ram_free * 2 * GB), int(ram_free * GB), 8, gpus)


def test_kv_cache_follows_the_architecture_and_context():
    shape = KvShape.from_arch({"layers": 28, "kv_heads": 4, "head_dim": 128})
    assert shape == KvShape(28, 4, 128, 128)
    assert kv_cache_bytes(8192, shape) == 2 * kv_cache_bytes(4096, shape)
    assert kv_cache_bytes(4096, shape) == 2 * 28 * 4 * 128 * 2 * 4096


def test_an_incomplete_catalog_arch_falls_back_to_the_file_size_estimate():
    assert KvShape.from_arch({"layers": 28, "head_dim": 128}) is None
    assert KvShape.from_arch({}) is None and KvShape.from_arch(None) is None


def test_verdicts_for_a_7b_model():
    entry = find_entry("qwen2.5-7b-instruct")
    q4 = entry.variant("Q4_K_M")
    on_gpu = fit_catalog_variant(entry, q4, machine(32, 24))
    assert on_gpu.verdict == FITS_GPU and on_gpu.need_bytes > q4.size
    on_cpu = fit_catalog_variant(entry, q4, machine(16, 2))
    assert on_cpu.verdict == RUNS_CPU
    too_big = fit_catalog_variant(entry, entry.variant("Q8_0"), machine(4))
    assert too_big.verdict == WONT_FIT
    assert "needs ~" in too_big.detail and "free RAM" in too_big.detail


def test_longer_context_can_turn_a_fit_into_a_miss():
    entry = find_entry("phi-3.5-mini-instruct")
    variant = entry.variant("Q4_K_M")
    small = fit_catalog_variant(entry, variant, machine(4), context=2048)
    large = fit_catalog_variant(entry, variant, machine(4), context=32768)
    assert small.verdict == RUNS_CPU and large.verdict == WONT_FIT
    assert large.working > small.working


def test_image_models_need_more_on_cpu_than_on_gpu():
    cpu = fit_model("image", 2 * GB, machine(64))
    gpu = fit_model("image", 2 * GB, machine(64, 24))
    assert cpu.need_bytes > gpu.need_bytes and gpu.verdict == FITS_GPU and cpu.verdict == RUNS_CPU


def test_this_machine_gets_a_verdict_for_every_catalog_variant():
    info = machine_info()
    from desktop.core.models.catalog import load_catalog

    for entry in load_catalog():
        for variant in entry.variants:
            verdict = fit_catalog_variant(entry, variant, info)
            assert verdict.verdict in (FITS_GPU, RUNS_CPU, WONT_FIT)
            assert verdict.ram_available == info.ram_available


def test_a_parameter_count_gives_an_estimated_verdict_that_says_so():
    from desktop.core.models.fit import Q4_K_M_BITS, fit_parameters

    seven_b = fit_parameters("text", 7_000_000_000, machine(16, 2), context=4096)
    assert seven_b.verdict == RUNS_CPU and seven_b.weights == int(7e9 * Q4_K_M_BITS / 8)
    assert seven_b.detail.startswith("estimate for a Q4_K_M file of 7.0B parameters")
    assert fit_parameters("text", 7_000_000_000, machine(16, 24)).verdict == FITS_GPU
    assert fit_parameters("text", 70_000_000_000, machine(16, 2)).verdict == WONT_FIT
    # a model trained for 2k tokens is judged at 2k, not at the asked-for 32k
    short = fit_parameters("text", 1_000_000_000, machine(16), context=32768, context_length=2048)
    assert short.working == kv_cache_bytes(2048, None, short.weights)
    sdxl = fit_parameters("image", 3_500_000_000, machine(64, 24))
    assert sdxl.verdict == FITS_GPU and sdxl.weights == 7_000_000_000 and "fp16" in sdxl.detail
