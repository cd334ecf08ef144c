"""Field validation of imported records: an imported object (a JSONL line, a Parquet row) to a record.

:func:`record_from_dict` checks every field, and coerces the unambiguous
values (``"42"`` for a seed, ``3.0`` for a rating), so a bad line is skipped
and counted by the reader instead of failing inside the writer.  Only
``kind`` and ``prompt`` are required; unknown keys are ignored.
:func:`given_fields` says which fields an object stated, which is what the
duplicate check compares (see :mod:`desktop.core.history.digest`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import fields
from datetime import datetime, timezone
from typing import Any

from desktop.core.records import GenerationRecord, ModelIdentity

_RECORD_FIELDS = {f.name for f in fields(GenerationRecord)}
_MODEL_FIELDS = {f.name for f in fields(ModelIdentity)}
_STRING_FIELDS = ("session_id", "parent_id", "negative_prompt", "system_prompt", "output_text", "image_path",
                  "image_sha256", "thumbnail_path", "device", "note")
_MODEL_STRINGS = ("name", "file", "sha256", "quantization")
_INT64 = (-(2 ** 63), 2 ** 63 - 1)


def _text(value: Any, name: str) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise ValueError(f"{name!r} must be a string, not {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{name!r} holds characters that are not valid Unicode (lone surrogates)") from None
    return value


def _integer(value: Any, name: str, low: int = _INT64[0], high: int = _INT64[1]) -> int:
    number: Any = value
    if isinstance(value, str):
        try:
            number = float(value.strip()) if any(c in value for c in ".eE") else int(value.strip())
        except ValueError:
            number = None
    if isinstance(number, float) and number.is_integer():
        number = int(number)
    if isinstance(number, bool) or not isinstance(number, int):
        raise ValueError(f"{name!r} must be a whole number, not {value!r}"[:200])
    if not low <= number <= high:
        raise ValueError(f"{name!r} must be between {low} and {high}, not {number}")
    return number


def _created_at(value: Any) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"'created_at' must be an ISO 8601 date-time such as 2026-05-01T12:00:00+00:00, "
                             f"not {value!r}"[:200]) from None
    if not isinstance(value, datetime):
        raise ValueError(f"'created_at' must be an ISO 8601 date-time string, not {type(value).__name__}")
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    try:
        return value.astimezone(timezone.utc)
    except OverflowError:
        raise ValueError(f"'created_at' {value.isoformat()} is out of range") from None


def _string_list(value: Any, name: str) -> list[str]:
    if not isinstance(value, list):
        raise ValueError(f"{name!r} must be a list of strings, not {type(value).__name__}")
    return [_text(v, f"{name}[{i}]") for i, v in enumerate(value)]


def _mapping(value: Any, name: str) -> dict:
    if not isinstance(value, dict):
        raise ValueError(f"{name!r} must be a JSON object, not {type(value).__name__}")
    return value


def _model(value: Any) -> ModelIdentity:
    if isinstance(value, str):  # just a name
        return ModelIdentity(name=_text(value, "model"))
    data = {k: v for k, v in _mapping(value, "model").items() if k in _MODEL_FIELDS and v is not None}
    for key in _MODEL_STRINGS:
        if key in data:
            data[key] = _text(data[key], f"model.{key}")
    if "size" in data:
        data["size"] = _integer(data["size"], "model.size", 0)
    if "files" in data:
        data["files"] = _string_list(data["files"], "model.files")
    return ModelIdentity(**data)


def given_fields(data: dict) -> frozenset[str]:
    """The record fields an imported object states (``model.<key>`` for the model's), for duplicate checks."""
    names = {k for k, v in data.items() if k in _RECORD_FIELDS and v is not None}
    model = data.get("model")
    names.discard("model")
    if isinstance(model, str):
        names.add("model.name")
    elif isinstance(model, dict):
        names.update(f"model.{k}" for k, v in model.items() if k in _MODEL_FIELDS and v is not None)
    return frozenset(names)


ALL_FIELDS = given_fields({**{name: "" for name in _RECORD_FIELDS}, "model": {k: "" for k in _MODEL_FIELDS}})


def record_from_dict(data: Any, *, canonical: Any = None) -> GenerationRecord:
    """Build a record from an imported object; raises ValueError saying what is wrong.

    Only ``kind`` and ``prompt`` are required; unknown keys are ignored.  A
    record without an id gets one hashed from ``canonical`` (default: ``data``).
    """
    if not isinstance(data, dict):
        raise ValueError(f"not a JSON object (a {type(data).__name__})")
    if data.get("kind") not in ("text", "image"):
        raise ValueError(f"'kind' must be 'text' or 'image', not {data.get('kind')!r}"[:200])
    if not isinstance(data.get("prompt"), str):
        raise ValueError("'prompt' must be a string" + ("" if "prompt" in data else " and is missing"))
    values = {k: v for k, v in data.items() if k in _RECORD_FIELDS and v is not None}
    kwargs: dict[str, Any] = {"kind": values["kind"], "prompt": _text(values["prompt"], "prompt")}
    if "id" in values:
        if not isinstance(values["id"], str) or not values["id"].strip():
            raise ValueError("'id' must be a non-empty string")
        kwargs["id"] = _text(values["id"], "id")
    else:
        text = json.dumps(data if canonical is None else canonical, sort_keys=True, ensure_ascii=True, default=str)
        kwargs["id"] = hashlib.sha256(text.encode()).hexdigest()[:32]
    for key in _STRING_FIELDS:
        if key in values:
            kwargs[key] = _text(values[key], key)
    if "created_at" in values:
        kwargs["created_at"] = _created_at(values["created_at"])
    if "model" in values:
        kwargs["model"] = _model(values["model"])
    for key in ("parameters", "timings", "versions"):
        if key in values:
            kwargs[key] = _mapping(values[key], key)
    if "seed" in values:
        kwargs["seed"] = _integer(values["seed"], "seed")
    if "rating" in values:
        kwargs["rating"] = _integer(values["rating"], "rating", 0, 5)
    if "tags" in values:
        kwargs["tags"] = _string_list(values["tags"], "tags")
    kwargs["origin"] = "imported"
    return GenerationRecord(**kwargs)
