"""Helpers for history tests: a record with every field set, an embedder that is late."""

from __future__ import annotations

from desktop.core.records import GenerationRecord, ModelIdentity


def make_record(prompt: str = "a prompt", **kw) -> GenerationRecord:
    defaults = dict(
        kind="text", output_text="an answer", session_id="s1",
        model=ModelIdentity(name="tiny", file="tiny.gguf", sha256="ab" * 32, size=123, quantization="F32",
                            files=["tiny.gguf"]),
        parameters={"temperature": 0.7, "max_tokens": 32}, seed=7, timings={"total": 1.25},
        device="cpu", versions={"genlab": "0.1.0"},
    )
    defaults.update(kw)
    return GenerationRecord(prompt=prompt, **defaults)


class LateEmbedder:
    """The real embedder behind a gate: not ready until someone waits for it or loads it.

    Records saved before that are stored unembedded, as when the app saves while
    the model is still loading; ``texts`` counts what was embedded since.
    """

    def __init__(self, real) -> None:
        self.real = real
        self.name = real.name
        self.error = None
        self.texts = 0
        self._ready = False

    @property
    def ready(self) -> bool:
        return self._ready

    def start_loading(self) -> None:
        pass

    def wait_ready(self, timeout=None) -> bool:
        self._ready = True
        return True

    def load(self) -> None:
        self._ready = True

    def encode(self, texts, batch_size: int = 32):
        self.texts += len(texts)
        return self.real.encode(texts, batch_size)
