"""n_gpu_layers is chosen from file size, layer count and free VRAM, with a reason."""

from __future__ import annotations

from dataclasses import replace

import pytest

from desktop.core.models.memory import kv_cache_bytes
from desktop.core.text.gguf import read_gguf_info
from desktop.core.text.gpu import ALL, AUTO, GpuCapability, plan_gpu_layers

GB = 1024**3


@pytest.fixture
def seven_b(tiny_gguf):
    """The tiny file's metadata, resized to look like a 4 GB, 32-layer Llama-3-8B-shaped model."""
    return replace(read_gguf_info(tiny_gguf), file_size=4 * GB, layer_count=32, embedding_length=4096,
                   head_count=32, head_count_kv=8)


def cuda(free: int) -> GpuCapability:
    return GpuCapability(True, "cuda", "Test GPU", free)


def test_cpu_only_build_uses_no_gpu_layers(seven_b):
    plan = plan_gpu_layers(seven_b, GpuCapability(False, "cuda", "Test GPU", 80 * GB), n_ctx=4096)
    assert plan.n_gpu_layers == 0 and "CPU only" in plan.reason


def test_cpu_only_build_overrides_a_requested_count_and_says_so(seven_b):
    plan = plan_gpu_layers(seven_b, GpuCapability(False, "cpu", "", 0), n_ctx=4096, requested=20)
    assert plan.n_gpu_layers == 0 and "you asked for 20" in plan.reason


def test_no_gpu_found(seven_b):
    plan = plan_gpu_layers(seven_b, GpuCapability(True, "cpu", "", 0), n_ctx=4096)
    assert plan.n_gpu_layers == 0 and "no GPU" in plan.reason


def test_all_layers_when_the_model_fits(seven_b):
    plan = plan_gpu_layers(seven_b, cuda(24 * GB), n_ctx=4096)
    assert plan.n_gpu_layers == ALL and "all 32 layers fit" in plan.reason


def test_partial_offload_when_it_does_not_fit(seven_b):
    free = 2 * GB + kv_cache_bytes(4096, seven_b.kv_shape)
    plan = plan_gpu_layers(seven_b, cuda(free), n_ctx=4096)
    assert 0 < plan.n_gpu_layers < 32
    per_layer = seven_b.file_size / 33
    assert plan.n_gpu_layers * per_layer <= free  # never plans more than the free memory
    assert f"{plan.n_gpu_layers} of 32 layers" in plan.reason


def test_too_little_vram_means_cpu(seven_b):
    plan = plan_gpu_layers(seven_b, cuda(256 * 1024 * 1024), n_ctx=4096)
    assert plan.n_gpu_layers == 0 and "not even one layer" in plan.reason


def test_user_override_wins(seven_b):
    assert plan_gpu_layers(seven_b, cuda(1 * GB), n_ctx=4096, requested=ALL).n_gpu_layers == ALL
    plan = plan_gpu_layers(seven_b, cuda(80 * GB), n_ctx=4096, requested=10)
    assert plan.n_gpu_layers == 10 and "as you set" in plan.reason
    assert plan_gpu_layers(seven_b, cuda(80 * GB), n_ctx=4096, requested=0).reason.startswith("CPU")


def test_bigger_context_needs_more_memory(seven_b):
    free = 5 * GB
    small = plan_gpu_layers(seven_b, cuda(free), n_ctx=512, requested=AUTO)
    large = plan_gpu_layers(seven_b, cuda(free), n_ctx=32768, requested=AUTO)
    assert small.n_gpu_layers == ALL
    assert 0 <= large.n_gpu_layers < 32
