"""The dedupe content digest: whether an imported record is a duplicate of one already seen.

A record's content is every field but its locations (``id``, ``origin`` and
the image file paths: an import marks the one and moves the others).  Two
records are the same when every field the imported line stated agrees
(:func:`same_content`); against records earlier in the same file the import
compares their :func:`content_digest`, a few hundred bytes a record, instead
of keeping the records.  A record whose id is taken by other content is kept
under :func:`conflict_id`, derived from the old id and the content, so
importing the same lines again skips it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from desktop.core.history.fields import ALL_FIELDS
from desktop.core.records import GenerationRecord

_LOCATIONS = frozenset({"id", "origin", "image_path", "thumbnail_path"})  # not content: see the module docstring
_CONTENT = sorted(ALL_FIELDS - _LOCATIONS)  # the fields a content digest covers, in its order
_SLOT = {name: i for i, name in enumerate(_CONTENT)}
_FIELD_DIGEST = 8  # bytes per field


def _value(record: GenerationRecord, name: str) -> Any:
    """The field ``name`` of ``record``; ``model.X`` names a field of its model identity."""
    return getattr(record.model, name[len("model."):]) if name.startswith("model.") else getattr(record, name)


def _field(record: GenerationRecord, name: str) -> Any:
    """The field as content compares it: tags in any order are the same tags."""
    value = _value(record, name)
    return sorted(value) if name == "tags" else value


def content_digest(record: GenerationRecord) -> bytes:
    """A short digest of each content field of ``record`` (every field but its locations), one after another.

    What an import keeps of the records it already took from the file, in
    place of the records: :func:`same_content` compares any set of stated
    fields against it, a few hundred bytes a record however long its texts.
    """
    parts = []
    for name in _CONTENT:
        text = json.dumps(_field(record, name), sort_keys=True, ensure_ascii=True, default=str)
        parts.append(hashlib.blake2b(text.encode(), digest_size=_FIELD_DIGEST).digest())
    return b"".join(parts)


def same_content(incoming: GenerationRecord, known: GenerationRecord | bytes, given: frozenset = ALL_FIELDS) -> bool:
    """Whether everything ``incoming``'s line stated (``given``) agrees with ``known`` (a record or its digest)."""
    names = given - _LOCATIONS
    if isinstance(known, bytes):
        mine = content_digest(incoming)
        return all(mine[_SLOT[n] * _FIELD_DIGEST:(_SLOT[n] + 1) * _FIELD_DIGEST]
                   == known[_SLOT[n] * _FIELD_DIGEST:(_SLOT[n] + 1) * _FIELD_DIGEST] for n in names)
    return all(_field(incoming, name) == _field(known, name) for name in names)


def conflict_id(record: GenerationRecord, given: frozenset) -> str:
    """The id a conflicting record is kept under: the same line gets the same one, so a re-import skips it."""
    content = {name: _value(record, name) for name in sorted(given - _LOCATIONS)}
    text = json.dumps([record.id, content], sort_keys=True, ensure_ascii=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]
