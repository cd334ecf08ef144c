"""A seeded history for the Insights tests: known kinds, models, days, timings, sizes and ratings."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from desktop.core.records import GenerationRecord, ModelIdentity

START = datetime(2026, 3, 1, 0, 30, tzinfo=timezone.utc)
TEXT_MODELS = ("alpha", "beta", "gamma")
IMAGE_MODELS = ("sd-tiny", "sd-turbo")
SIZES = ((512, 512), (768, 512))


def seeded_records(n: int, *, minutes_apart: int = 37) -> list[GenerationRecord]:
    """``n`` records: every 5th an image, the rest text; every 11th without timings; rating ``(i // 2) % 6``."""
    records = []
    for i in range(n):
        created = START + timedelta(minutes=minutes_apart * i)
        if i % 5 == 4:
            width, height = SIZES[(i // 10) % 2]
            timings = {} if i % 11 == 0 else {"per_step_s": 0.5 + 0.25 * (i % 4), "total_s": 3.0}
            record = GenerationRecord(
                kind="image", prompt=f"picture {i}", id=f"r{i:06d}", created_at=created,
                model=ModelIdentity(name=IMAGE_MODELS[i % 2], file="model.safetensors"),
                parameters={"width": width, "height": height, "steps": 4, "prompt": f'"width": 9{i}'},
                timings=timings, seed=i, rating=(i // 2) % 6)
        else:
            timings = {} if i % 11 == 0 else {"tokens_per_s": 10.0 + i % 7, "ttft_s": 0.1 * (i % 3),
                                              "total_s": 1.0}
            name = TEXT_MODELS[i % 3]
            # one in 13 text records has only a file name: its label is the file's
            model = ModelIdentity(name="", file=f"{name}.gguf") if i % 13 == 0 else ModelIdentity(name=name)
            record = GenerationRecord(
                kind="text", prompt=f"question {i}", id=f"r{i:06d}", created_at=created, output_text="answer",
                model=model, parameters={"temperature": 0.7}, timings=timings, seed=i, rating=(i // 2) % 6)
        records.append(record)
    return records


def save_batched(store, records: list[GenerationRecord], batch: int = 2000) -> None:
    """Append in a few large commits (zero vectors: the Insights never read them), as bench/history.py does."""
    import numpy as np

    for start in range(0, len(records), batch):
        chunk = records[start:start + batch]
        store.save_embedded(chunk, np.zeros((len(chunk), 384), dtype="float32"))
    store.flush()
