"""Expected generation speed: measured from GenLab's records when it has them, else from memory bandwidth."""

from __future__ import annotations

import json

import pytest

from desktop.core.hardware import MachineInfo
from desktop.core.models.speed import (
    CACHE_NAME,
    TOKEN_OVERHEAD_S,
    cpu_tokens_per_s,
    estimate_speed,
    history_speeds,
    machine_bandwidth,
    measure_bandwidth,
    store_speeds,
)
from desktop.core.records import GenerationRecord, ModelIdentity

MACHINE = MachineInfo(ram_total=16 * 1024 ** 3, ram_available=8 * 1024 ** 3, cpu_count=8)
GB = 1024 ** 3


@pytest.mark.slow
def test_the_bandwidth_is_measured_once_and_then_read_from_the_cache(genlab_home):
    first = machine_bandwidth(MACHINE)
    cache = genlab_home / CACHE_NAME
    saved = json.loads(cache.read_text())
    assert first > 1e8 and saved["bytes_per_s"] == first  # a real copy moves far more than 100 MB/s
    cache.write_text(json.dumps({**saved, "bytes_per_s": 123456789.0}))
    assert machine_bandwidth(MACHINE) == 123456789.0  # not measured again
    other = MachineInfo(ram_total=MACHINE.ram_total, ram_available=0, cpu_count=2)
    assert machine_bandwidth(other) != 123456789.0  # another machine's number is not reused


@pytest.mark.slow
def test_an_unreadable_cache_is_measured_again(genlab_home):
    (genlab_home / CACHE_NAME).write_text("not json")
    assert machine_bandwidth(MACHINE) > 1e8


def test_measure_bandwidth_with_a_small_buffer():
    assert measure_bandwidth(1024 * 1024, repeats=2) > 0


def test_bigger_weights_are_slower_and_a_tiny_model_is_bounded_by_the_per_token_cost():
    bandwidth = 20e9
    small, large = cpu_tokens_per_s(int(0.4 * GB), bandwidth), cpu_tokens_per_s(5 * GB, bandwidth)
    assert small > 5 * large
    assert 1 < large < 5  # a 5 GB model on a 20 GB/s CPU: a few tokens per second
    assert cpu_tokens_per_s(1_000_000, bandwidth) < 1 / TOKEN_OVERHEAD_S


def test_history_speeds_take_the_median_per_sha256_and_per_file_name():
    rows = [("AB12", "/models/Qwen3-0.6B-Q4_K_M.gguf", {"tokens_per_s": 20.0}),
            ("ab12", "Qwen3-0.6B-Q4_K_M.gguf", {"tokens_per_s": 30.0}),
            ("ab12", "Qwen3-0.6B-Q4_K_M.gguf", {"tokens_per_s": 100.0}),
            ("cd34", "other.gguf", {"tokens_per_s": "fast"}),  # an imported oddity
            ("cd34", "other.gguf", {"tokens_per_s": 0}),
            ("", "", {"tokens_per_s": 5.0})]
    assert history_speeds(rows) == {"ab12": 30.0, "qwen3-0.6b-q4_k_m.gguf": 30.0}


def test_the_measured_speed_wins_over_the_estimate():
    measured = {"qwen3-0.6b-q4_k_m.gguf": 42.0}
    found = estimate_speed(GB, bandwidth=20e9, file="Qwen3-0.6B-Q4_K_M.gguf", measured=measured)
    assert found.measured and found.tokens_per_s == 42.0 and found.summary == "42 tok/s measured"
    guess = estimate_speed(GB, bandwidth=20e9, file="another.gguf", measured=measured)
    assert not guess.measured and guess.summary.startswith("~") and guess.summary.endswith("tok/s on CPU")
    assert "memory bandwidth" in guess.detail
    assert estimate_speed(GB, bandwidth=None) is None


def test_pace_words():
    assert estimate_speed(1_000_000, bandwidth=20e9).pace == "fast"
    assert estimate_speed(10 * GB, bandwidth=20e9).pace == "slow"


def test_store_speeds_read_the_text_records_of_a_real_history(store):
    model = ModelIdentity(name="tiny", file="tiny-Q4_K_M.gguf", sha256="ff" * 32)
    store.save_many([GenerationRecord(kind="text", prompt="a", model=model, timings={"tokens_per_s": 12.0}),
                     GenerationRecord(kind="text", prompt="b", model=model, timings={"tokens_per_s": 14.0}),
                     GenerationRecord(kind="image", prompt="c", model=model, timings={"tokens_per_s": 99.0})])
    assert store_speeds(store) == {"ff" * 32: 13.0, "tiny-q4_k_m.gguf": 13.0}
