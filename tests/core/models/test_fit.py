"""Hardware-fit verdicts follow the numbers."""

from __future__ import annotations

from desktop.core.hardware import GpuInfo, MachineInfo, machine_info
from desktop.core.models.catalog import find_entry
from desktop.core.models.fit import (
    FITS_GPU,
    FITS_OFFLOAD,
    RUNS_CPU,
    WONT_FIT,
    fit_catalog_variant,
    fit_image,
    fit_model,
)
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
            assert verdict.verdict in (FITS_GPU, FITS_OFFLOAD, RUNS_CPU, WONT_FIT)
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


def test_flux_fits_a_16_gb_gpu_only_quantized_and_with_cpu_offload():
    flux = find_entry("flux.1-schnell")
    bf16, q8, q4 = (flux.variant(q) for q in ("BF16", "Q8_0", "Q4_K_S"))
    gpu16, gpu48 = machine(96, 16), machine(96, 48)
    assert fit_catalog_variant(flux, bf16, gpu48).verdict == FITS_GPU  # all of it on the GPU
    assert fit_catalog_variant(flux, bf16, gpu16).verdict == RUNS_CPU
    assert fit_catalog_variant(flux, q8, gpu16).verdict == RUNS_CPU  # its 12.7 GB transformer + activations
    verdict = fit_catalog_variant(flux, q4, gpu16)
    assert verdict.verdict == FITS_OFFLOAD and verdict.device == "gpu"
    transformer = q4.parts()["transformer"]
    assert verdict.need_bytes == transformer + verdict.working + verdict.overhead < 16 * GB
    assert "CPU offload" in verdict.detail and "transformer" in verdict.detail
    # offload keeps every weight in RAM: too little RAM and it is no offload fit
    assert fit_catalog_variant(flux, q4, machine(12, 16)).verdict == WONT_FIT


def test_the_offload_verdict_counts_the_biggest_part_when_it_is_not_the_denoiser():
    parts = {"transformer": 3 * GB, "text_encoder_2": 10 * GB, "vae": GB // 4}
    verdict = fit_image(sum(parts.values()), machine(64, 12), 512, parts)
    assert verdict.verdict == FITS_OFFLOAD and verdict.working == 0
    assert verdict.need_bytes == 10 * GB + verdict.overhead and "text_encoder_2" in verdict.detail
    assert fit_image(sum(parts.values()), machine(64, 10), 512, parts).verdict == RUNS_CPU
    assert fit_image(sum(parts.values()), machine(64, 12), 512).verdict == RUNS_CPU  # parts unknown: no offload claim
