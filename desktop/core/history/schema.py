"""The history table's layout and the mapping between records and rows.

One row per generation.  Nested parts of a :class:`GenerationRecord`
(parameters, timings, versions) are stored as JSON strings so the table
schema stays stable while engines add parameters; the model identity is
flattened into ``model_*`` columns so it can be filtered.  ``search_text`` is
what the full-text index covers; ``vector`` is the embedding, zero until the
embedder has run (``embedded`` says which).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from desktop.core.records import GenerationRecord, ModelIdentity, new_id

SCHEMA_VERSION = 2
VECTOR_DIM = 384
TABLE_NAME = "generations_v2"
# Text that goes into the embedding and the full-text column is capped: the
# embedder only reads ~256 tokens and a huge output would bloat the FTS index.
MAX_EMBED_CHARS = 2000
# Those ~256 tokens are about 1,000 characters of English.  When a prompt and
# its output do not both fit in that window, the prompt is cut to
# EMBED_PROMPT_CHARS so the output keeps a fair share of what is read.
EMBED_WINDOW_CHARS = 1000
EMBED_PROMPT_CHARS = 600
MAX_SEARCH_TEXT_CHARS = 20000

STRING_COLUMNS = (
    "id", "session_id", "parent_id", "kind", "prompt", "negative_prompt", "system_prompt",
    "output_text", "image_path", "image_sha256", "thumbnail_path", "model_name", "model_file",
    "model_sha256", "model_quantization", "parameters_json", "timings_json", "device",
    "versions_json", "note", "origin", "search_text", "embed_model",
)


def arrow_schema():
    import pyarrow as pa

    fields = [pa.field(name, pa.string()) for name in STRING_COLUMNS]
    fields += [
        pa.field("created_at", pa.timestamp("us", tz="UTC")),
        pa.field("model_size", pa.int64()),
        pa.field("model_files", pa.list_(pa.string())),
        pa.field("seed", pa.int64()),
        pa.field("rating", pa.int32()),
        pa.field("tags", pa.list_(pa.string())),
        pa.field("embedded", pa.bool_()),
        pa.field("vector", pa.list_(pa.float32(), VECTOR_DIM)),
    ]
    return pa.schema(fields)


def search_text_of(record: GenerationRecord) -> str:
    parts = [record.prompt, record.negative_prompt, record.output_text, record.note, " ".join(record.tags)]
    return "\n".join(p for p in parts if p)[:MAX_SEARCH_TEXT_CHARS]


def _clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, at a space near the end when there is one."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ", limit - 40)
    return cut[:space] if space > 0 else cut


def embed_text_of(record: GenerationRecord) -> str:
    """What the embedder reads: prompt + output for text, prompt + negative for images.

    A text record's prompt is cut (to EMBED_PROMPT_CHARS, or less when the
    output is short) only where it would leave the output out of the
    embedder's window, so a long prompt still lets its output be found.
    """
    if record.kind == "image":
        text = record.prompt
        if record.negative_prompt:
            text += "\nnot: " + record.negative_prompt
        return text[:MAX_EMBED_CHARS]
    if not record.output_text:
        return record.prompt[:MAX_EMBED_CHARS]
    prompt = _clip(record.prompt, max(EMBED_PROMPT_CHARS, EMBED_WINDOW_CHARS - 1 - len(record.output_text)))
    return (prompt + "\n" + record.output_text)[:MAX_EMBED_CHARS]


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def record_to_row(record: GenerationRecord, vector: list[float] | None = None,
                  embed_model: str = "") -> dict[str, Any]:
    m = record.model
    return {
        "id": record.id,
        "created_at": _utc(record.created_at),
        "session_id": record.session_id,
        "parent_id": record.parent_id,
        "kind": record.kind,
        "prompt": record.prompt,
        "negative_prompt": record.negative_prompt,
        "system_prompt": record.system_prompt,
        "output_text": record.output_text,
        "image_path": record.image_path,
        "image_sha256": record.image_sha256,
        "thumbnail_path": record.thumbnail_path,
        "model_name": m.name,
        "model_file": m.file,
        "model_sha256": m.sha256,
        "model_quantization": m.quantization,
        "model_size": int(m.size or 0),
        "model_files": list(m.files),
        "parameters_json": json.dumps(record.parameters, sort_keys=True, default=str),
        "seed": record.seed,
        "timings_json": json.dumps(record.timings, sort_keys=True),
        "device": record.device,
        "versions_json": json.dumps(record.versions, sort_keys=True),
        "rating": int(record.rating),
        "tags": list(record.tags),
        "note": record.note,
        "origin": record.origin,
        "search_text": search_text_of(record),
        "embedded": vector is not None,
        "embed_model": embed_model if vector is not None else "",
        "vector": list(vector) if vector is not None else [0.0] * VECTOR_DIM,
    }


def _loads(text: Any) -> dict:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def row_to_record(row: dict[str, Any]) -> GenerationRecord:
    created: Any = row.get("created_at")
    if isinstance(created, str):
        created = datetime.fromisoformat(created)
    if hasattr(created, "to_pydatetime"):  # pandas Timestamp
        created = created.to_pydatetime()
    return GenerationRecord(
        kind=row.get("kind") or "text",
        prompt=row.get("prompt") or "",
        id=row.get("id") or new_id(),
        created_at=_utc(created) if created else datetime.now(timezone.utc),
        session_id=row.get("session_id") or "",
        parent_id=row.get("parent_id") or "",
        negative_prompt=row.get("negative_prompt") or "",
        system_prompt=row.get("system_prompt") or "",
        output_text=row.get("output_text") or "",
        image_path=row.get("image_path") or "",
        image_sha256=row.get("image_sha256") or "",
        thumbnail_path=row.get("thumbnail_path") or "",
        model=ModelIdentity(
            name=row.get("model_name") or "",
            file=row.get("model_file") or "",
            sha256=row.get("model_sha256") or "",
            size=int(row.get("model_size") or 0),
            quantization=row.get("model_quantization") or "",
            files=list(row.get("model_files") or []),
        ),
        parameters=_loads(row.get("parameters_json")),
        seed=None if row.get("seed") is None else int(row["seed"]),
        timings=_loads(row.get("timings_json")),
        device=row.get("device") or "",
        versions=_loads(row.get("versions_json")),
        rating=int(row.get("rating") or 0),
        tags=list(row.get("tags") or []),
        note=row.get("note") or "",
        origin=row.get("origin") or "generated",
    )
