"""Crash-proof loading: 200 mutated tiny GGUFs either work or fail with a clear error.

The mutations run in a worker process (bench/fuzz_gguf.py) so that a native
llama.cpp abort could not take the test process down; any mutation that kills
the worker must then be refused cleanly by the engine with its child-process
probe, in this process.
"""

from __future__ import annotations

import pytest

from desktop.core.errors import ModelFileError
from desktop.core.text.probe import ensure_loadable, run_probe
from tests.support.gguf_fuzz import KINDS, layout_of, mutate, probe_crashed, run_mutations

pytest.importorskip("llama_cpp")


@pytest.mark.slow
def test_two_hundred_mutations_load_or_fail_clearly(tiny_gguf):
    report = run_mutations(tiny_gguf, count=200, seed=0)
    assert len(report.outcomes) == 200
    assert {o["kind"] for o in report.outcomes.values()} == set(KINDS)
    unclear = [o for o in report.outcomes.values() if o["outcome"] == "unclear"]
    assert unclear == []
    for o in report.outcomes.values():
        if o["outcome"] == "refused":
            assert f"mutant-{o['i']}.gguf" in o["message"]  # names the file
        elif o["outcome"] == "loaded":
            assert o["message"] == "8 tokens"
    assert report.count("loaded") > 0 and report.count("refused") > 0
    # Anything that killed the worker is refused by the engine's probe without harming us.
    for i, message in probe_crashed(tiny_gguf, report, seed=0).items():
        assert message != "LOADED" and "cannot be used" in message, (i, message)


@pytest.fixture(scope="module")
def duplicate_vocab_gguf(tiny_gguf, tmp_path_factory):
    """A file whose vocabulary has a duplicate token: llama.cpp aborts the process on it."""
    layout = layout_of(tiny_gguf)
    data = bytearray(layout.data)
    (a, n), (b, _) = [t for t in layout.token_strings if t[1] == 3][:2]
    data[a:a + n] = layout.data[b:b + n]
    path = tmp_path_factory.mktemp("dup") / "duplicate-vocab.gguf"
    path.write_bytes(bytes(data))
    return path


@pytest.mark.slow
def test_probe_survives_a_native_abort(duplicate_vocab_gguf):
    verdict = run_probe(duplicate_vocab_gguf)
    assert not verdict.ok
    assert "crashed" in verdict.message and "GGML_ASSERT" in verdict.message


@pytest.mark.slow
def test_engine_refuses_a_file_that_would_abort_llama_cpp(duplicate_vocab_gguf):
    import hashlib

    sha = hashlib.sha256(duplicate_vocab_gguf.read_bytes()).hexdigest()
    with pytest.raises(ModelFileError, match="crashed while test-loading"):
        ensure_loadable(duplicate_vocab_gguf, sha)
    with pytest.raises(ModelFileError, match="crashed while test-loading"):
        ensure_loadable(duplicate_vocab_gguf, sha)  # the verdict is cached: no second child


def test_validation_names_the_duplicate_token(duplicate_vocab_gguf):
    from desktop.core.text.gguf import read_gguf_info

    with pytest.raises(ModelFileError, match="appears twice"):
        read_gguf_info(duplicate_vocab_gguf)


def test_mutations_are_deterministic(tiny_gguf):
    layout = layout_of(tiny_gguf)
    assert mutate(layout, 7, 0) == mutate(layout, 7, 0)
    assert mutate(layout, 7, 0) != mutate(layout, 7, 1)


def test_frozen_app_without_probe_entry_loads_without_the_probe(tiny_gguf, monkeypatch, caplog):
    import hashlib
    import sys

    from desktop.core.text import probe as text_probe

    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(text_probe, "_frozen_entry_wired", False)
    sha = hashlib.sha256(tiny_gguf.read_bytes()).hexdigest() + "-frozen"  # not in the verdict cache
    with caplog.at_level("WARNING", logger="desktop.core.text.probe"):
        ensure_loadable(tiny_gguf, sha)  # no child (it would start a second app): no error either
    assert "loading it directly" in caplog.text
    assert text_probe.cached_verdict(sha) is None


def test_probe_entry_returns_for_normal_starts(monkeypatch):
    import sys

    from desktop.core.text import probe as text_probe

    monkeypatch.setattr(text_probe, "_frozen_entry_wired", False)  # restored after the test
    monkeypatch.setattr(sys, "argv", ["genlab-gui"])
    text_probe.run_if_probe_child()  # returns: not a probe child
    assert text_probe._frozen_entry_wired
