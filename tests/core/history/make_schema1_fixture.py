"""Writes tests/core/history/data/schema1: a history as GenLab's first schema stored it.

Schema 1 had one ``generations`` table, nested fields as JSON strings, a
nullable 384-d vector and no ``search_text``/``embedded`` columns; its
meta.json said ``schema_version: 1``.  Run once; the output is checked in::

    python -m tests.core.history.make_schema1_fixture
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

DATA = Path(__file__).parent / "data" / "schema1"

V1_STRINGS = ("id", "session_id", "parent_id", "kind", "prompt", "negative_prompt", "system_prompt",
              "output_text", "image_path", "image_sha256", "thumbnail_path", "model_name", "model_file",
              "model_sha256", "model_quantization", "parameters_json", "timings_json", "device",
              "versions_json", "note", "origin")


def v1_schema():
    import pyarrow as pa

    return pa.schema([pa.field(n, pa.string()) for n in V1_STRINGS] + [
        pa.field("created_at", pa.timestamp("us", tz="UTC")),
        pa.field("seed", pa.int64()),
        pa.field("rating", pa.int32()),
        pa.field("tags", pa.list_(pa.string())),
        pa.field("vector", pa.list_(pa.float32(), 384), nullable=True),
    ])


def v1_rows() -> list[dict]:
    rows = []
    for i in range(3):
        row = {n: "" for n in V1_STRINGS}
        row.update(id=f"v1-{i}", kind="text", prompt=f"schema one prompt number {i} about lighthouses",
                   output_text=f"answer {i}", session_id="v1-session", model_name="tiny", model_file="tiny.gguf",
                   model_sha256="ab" * 32, parameters_json=json.dumps({"temperature": 0.7}),
                   timings_json=json.dumps({"total": 1.5}), versions_json=json.dumps({"genlab": "0.0.1"}),
                   origin="generated", created_at=datetime(2025, 1, 2 + i, 12, 0, tzinfo=timezone.utc),
                   seed=42 + i, rating=i, tags=["old"] if i == 0 else [],
                   vector=[0.05] * 384 if i < 2 else None)
        rows.append(row)
    image = {n: "" for n in V1_STRINGS}
    image.update(id="v1-img", kind="image", prompt="an old lighthouse at dusk", negative_prompt="blurry",
                 image_path="/nonexistent/genlab/v1.png", model_name="tiny-sd", origin="generated",
                 parameters_json="{}", timings_json="{}", versions_json="{}",
                 created_at=datetime(2025, 1, 9, tzinfo=timezone.utc), seed=7, rating=0, tags=[], vector=None)
    rows.append(image)
    return rows


def write(target: Path = DATA) -> Path:
    import lancedb
    import pyarrow as pa

    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    db = lancedb.connect(str(target / "lancedb"))
    db.create_table("generations", pa.Table.from_pylist(v1_rows(), schema=v1_schema()), on_bad_vectors="null")
    (target / "meta.json").write_text(json.dumps({"schema_version": 1}), encoding="utf-8")
    return target


if __name__ == "__main__":
    print(write())
