"""The curated model catalog (``resources/catalog.json``).

Entries are data: a model (repo id, licence, kind, family, parameters) with
one or more variants (a quantization and its files with sizes, plus the
minimum RAM / VRAM).  A few entries are ``recommended``: good first picks,
marked in the Catalog.  This module only reads and checks them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from desktop.core.errors import GenLabError
from desktop.core.paths import resource_path

KINDS = ("text", "image", "embedding")


class CatalogError(GenLabError):
    """The catalog file is missing or malformed."""


@dataclass
class CatalogFile:
    name: str
    size: int
    sha256: str = ""  # the LFS sha256 at the revision the size was taken from, when known


@dataclass
class CatalogVariant:
    quantization: str
    files: list[CatalogFile]
    min_ram: int
    min_vram: int
    size_exact: bool = False
    format: str = "gguf"

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def main_file(self) -> CatalogFile:
        return max(self.files, key=lambda f: f.size)


@dataclass
class CatalogEntry:
    id: str
    name: str
    kind: str
    family: str
    repo_id: str
    license: str
    params: str
    params_b: float
    variants: list[CatalogVariant]
    description: str = ""
    context_length: int = 0
    resolution: int = 0
    arch: dict[str, int] = field(default_factory=dict)
    recommended: bool = False  # a good first pick

    def variant(self, quantization: str | None = None) -> CatalogVariant:
        if quantization is None:
            return self.variants[0]
        for variant in self.variants:
            if variant.quantization.lower() == quantization.lower():
                return variant
        raise CatalogError(f"{self.name} has no {quantization} variant.",
                           f"Choose one of {', '.join(v.quantization for v in self.variants)}.")


def _entry(raw: dict) -> CatalogEntry:
    variants = [CatalogVariant(v["quantization"], [CatalogFile(f["name"], int(f["size"]), f.get("sha256", ""))
                                                        for f in v["files"]],
                               int(v["min_ram"]), int(v["min_vram"]), bool(v.get("size_exact", False)),
                               v.get("format", "gguf")) for v in raw["variants"]]
    if raw["kind"] not in KINDS or not variants or "/" not in raw["repo_id"]:
        raise ValueError(f"bad kind, variants or repo_id in {raw.get('id')!r}")
    return CatalogEntry(raw["id"], raw["name"], raw["kind"], raw["family"], raw["repo_id"], raw["license"],
                        raw["params"], float(raw["params_b"]), variants, raw.get("description", ""),
                        int(raw.get("context_length", 0)), int(raw.get("resolution", 0)), dict(raw.get("arch", {})),
                        raw.get("recommended", False) is True)


def load_catalog(path: Path | None = None) -> list[CatalogEntry]:
    path = path or resource_path("catalog.json")
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return [_entry(item) for item in data["models"]]
    except OSError as exc:
        raise CatalogError(f"The model catalog {path} cannot be read: {exc.strerror or exc}.",
                           "Reinstall GenLab.") from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise CatalogError(f"The model catalog {path} is malformed: {exc}.", "Reinstall GenLab.") from exc


def find_entry(entry_id: str, entries: list[CatalogEntry] | None = None) -> CatalogEntry:
    for entry in entries if entries is not None else load_catalog():
        if entry.id == entry_id:
            return entry
    raise CatalogError(f"No catalog model is called {entry_id!r}.", "List them with `genlab models search --catalog`.")
