"""One memory estimate: llama.cpp's own KV cache, the Catalog's fit verdict and the loader's layer plan agree.

The GPU layer plan used to size the KV cache as ``layers × embedding``, which
ignores grouped-query attention (fewer KV heads than attention heads), while
the fit verdict counted KV heads: the Catalog could say "fits on GPU" for a
model the loader then split between GPU and CPU.
"""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from desktop.core.hardware import GpuInfo, MachineInfo
from desktop.core.models.catalog import find_entry
from desktop.core.models.fit import FITS_GPU, fit_catalog_variant
from desktop.core.models.memory import KvShape, kv_cache_bytes
from desktop.core.text.gguf import GgufInfo, read_gguf_info
from desktop.core.text.gpu import ALL, GpuCapability, plan_gpu_layers
from desktop.core.tiny_models import gguf_writer

MIB = 1024 * 1024
N_CTX = 2048


def _old_layer_plan_kv(info: GgufInfo, n_ctx: int) -> int:
    """What text/gpu.py estimated before: f16 K and V of the full embedding width in every layer."""
    return 2 * 2 * n_ctx * max(info.layer_count, 1) * max(info.embedding_length, 1)


def _llama_cpp_kv_bytes(path, capsys) -> int:
    """The KV cache llama.cpp allocates for ``path`` at N_CTX tokens, as its load log reports it."""
    llama_cpp = pytest.importorskip("llama_cpp")
    llm = llama_cpp.Llama(model_path=str(path), n_ctx=N_CTX, n_gpu_layers=0, n_threads=1, verbose=True)
    llm.close()
    log = capsys.readouterr().err
    found = re.search(r"llama_kv_cache: size =\s*([\d.]+) MiB", log)
    assert found, f"llama.cpp's load log no longer reports its KV cache size:\n{log[-2000:]}"
    return round(float(found.group(1)) * MIB)


@pytest.fixture(scope="module")
def mha_gguf(tmp_path_factory):
    """The tiny model with as many KV heads as attention heads (no grouped-query attention)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(gguf_writer, "KV_HEADS", gguf_writer.HEADS)
        return gguf_writer.write_tiny_gguf(tmp_path_factory.mktemp("mha") / "tiny-mha.gguf")


@pytest.mark.parametrize("model", ["tiny_gguf", "mha_gguf", "stories260k"])
def test_the_estimate_is_the_kv_cache_llama_cpp_allocates(model, request, capsys):
    path = request.getfixturevalue(model)
    info = read_gguf_info(path)
    estimate = kv_cache_bytes(N_CTX, info.kv_shape)
    # llama.cpp logs MiB to two decimals; these models' caches are whole multiples of 0.25 MiB
    assert estimate == _llama_cpp_kv_bytes(path, capsys)
    grouped = info.head_count_kv < info.head_count
    assert grouped == (model != "mha_gguf")
    # the old layer plan's bound was right only without grouped-query attention
    assert (_old_layer_plan_kv(info, N_CTX) == estimate) == (not grouped)


def _machine(vram_free: int) -> MachineInfo:
    return MachineInfo(256 * 1024 * MIB, 128 * 1024 * MIB, 8, [GpuInfo(0, "Test GPU", "cuda", 2 * vram_free, vram_free)])


def _as_loaded(tiny: GgufInfo, file_size: int, layers: int, heads: int, kv_heads: int, embedding: int) -> GgufInfo:
    """What read_gguf_info gives for the catalog model's file (the tiny file's metadata, reshaped)."""
    return replace(tiny, file_size=file_size, layer_count=layers, head_count=heads, head_count_kv=kv_heads,
                   embedding_length=embedding)


# (catalog id, attention heads, KV heads, embedding length) as the models' GGUF files state them.
MODELS = [("qwen2.5-7b-instruct", 28, 4, 3584), ("phi-3.5-mini-instruct", 32, 32, 3072)]


@pytest.mark.parametrize("entry_id, heads, kv_heads, embedding", MODELS, ids=["gqa", "no-gqa"])
def test_catalog_verdict_and_layer_plan_agree(tiny_gguf, entry_id, heads, kv_heads, embedding):
    entry = find_entry(entry_id)
    variant = entry.variant("Q4_K_M")
    info = _as_loaded(read_gguf_info(tiny_gguf), variant.size, entry.arch["layers"], heads, kv_heads, embedding)
    assert info.kv_shape == KvShape.from_arch(entry.arch)
    need = fit_catalog_variant(entry, variant, _machine(1 << 50), context=N_CTX).need_bytes
    for vram_free in (need, need - 1):
        verdict = fit_catalog_variant(entry, variant, _machine(vram_free), context=N_CTX)
        plan = plan_gpu_layers(info, GpuCapability(True, "cuda", "Test GPU", vram_free), n_ctx=N_CTX)
        assert (verdict.verdict == FITS_GPU) == (vram_free == need)
        assert (plan.n_gpu_layers == ALL) == (vram_free == need), plan.reason


def test_the_old_layer_plan_would_have_split_a_gqa_model_the_catalog_fits_on_gpu(tiny_gguf):
    entry_id, heads, kv_heads, embedding = MODELS[0]
    entry = find_entry(entry_id)
    variant = entry.variant("Q4_K_M")
    info = _as_loaded(read_gguf_info(tiny_gguf), variant.size, entry.arch["layers"], heads, kv_heads, embedding)
    verdict = fit_catalog_variant(entry, variant, _machine(1 << 50), context=N_CTX)
    old_need = info.file_size + _old_layer_plan_kv(info, N_CTX) + verdict.overhead
    assert old_need > verdict.need_bytes  # so with exactly `need` free, the old plan offloaded only part
    assert _old_layer_plan_kv(info, N_CTX) == 7 * verdict.working  # 28 heads share 4 KV heads


def test_the_catalog_states_the_shape_of_its_real_test_model(stories260k):
    assert read_gguf_info(stories260k).kv_shape == KvShape.from_arch(find_entry("stories-260k").arch)
