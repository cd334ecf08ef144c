"""The curated model catalog (``resources/catalog.json``).

Entries are data: a model (repo id, licence, kind, family, parameters) with
one or more variants (a quantization and its files with sizes, plus the
minimum RAM / VRAM).  A few entries are ``recommended``: good first picks,
marked in the Catalog.  This module only reads and checks them.

A diffusers variant may gather files from more than one repo: FLUX.1 with a
GGUF-quantized transformer takes the pipeline's text encoders, VAE and
configs from the model's repo and the transformer from a GGUF repo (a file's
``repo_id``), put at ``transformer/`` (its ``path``) in a folder of its own
(the variant's ``folder``), so it never mixes with the full-precision one.
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
    name: str  # the file's path in its hub repo
    size: int
    sha256: str = ""  # the LFS sha256 at the revision the size was taken from, when known
    repo_id: str = ""  # the hub repo the file comes from, when not the entry's (a GGUF transformer)
    path: str = ""  # where it goes in the variant's model folder, when not at ``name``

    @property
    def dest(self) -> str:
        """The file's path inside the model folder."""
        return self.path or self.name


@dataclass
class CatalogVariant:
    quantization: str
    files: list[CatalogFile]
    min_ram: int
    min_vram: int
    size_exact: bool = False
    format: str = "gguf"
    folder: str = ""  # the model folder's name under the models folder, when not the repo's own

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    def parts(self) -> dict[str, int]:
        """Bytes per pipeline component (a diffusers folder's top-level folders); one part for a single file."""
        sizes: dict[str, int] = {}
        for f in self.files:
            top = f.dest.split("/", 1)[0] if "/" in f.dest else ""
            sizes[top] = sizes.get(top, 0) + f.size
        return sizes

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
    variants = [CatalogVariant(v["quantization"], [CatalogFile(f["name"], int(f["size"]), f.get("sha256", ""),
                                                           f.get("repo_id", ""), f.get("path", ""))
                                                        for f in v["files"]],
                               int(v["min_ram"]), int(v["min_vram"]), bool(v.get("size_exact", False)),
                               v.get("format", "gguf"), v.get("folder", "")) for v in raw["variants"]]
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
