"""The curated catalog is complete, real-looking data that the code can use."""

from __future__ import annotations

import json
import re

import pytest

from desktop.core.models.catalog import CatalogError, find_entry, load_catalog
from desktop.core.models.headers import quantization_from_name
from tests.conftest import REPO_ROOT, STORIES_SHA256


def test_catalog_covers_text_image_and_embedding_models():
    entries = load_catalog()
    assert 15 <= len(entries) <= 35
    kinds = {e.kind for e in entries}
    assert kinds == {"text", "image", "embedding"}
    families = {e.family for e in entries}
    for needed in ("Qwen2.5", "Llama 3.2", "Phi-3.5", "Gemma 2", "Mistral", "SDXL"):
        assert needed in families
    for current in ("Qwen3", "Gemma 3", "Phi-4", "SmolLM2", "SmolLM3"):  # the 2025 generation
        assert current in families, current
    assert find_entry("all-minilm-l6-v2").repo_id == "sentence-transformers/all-MiniLM-L6-v2"


def test_every_entry_is_complete_and_consistent():
    for entry in load_catalog():
        assert re.fullmatch(r"[\w.-]+/[\w.-]+", entry.repo_id), entry.id
        assert entry.license and entry.params and entry.params_b > 0
        for variant in entry.variants:
            assert variant.size > 0 and variant.min_ram > 0
            if entry.kind == "text":
                assert variant.main_file.name.endswith(".gguf")
                assert variant.min_vram >= variant.size  # the weights at least
                named = quantization_from_name(variant.main_file.name)
                assert named in ("", variant.quantization), variant.main_file.name
        if entry.kind == "text" and entry.id != "stories-260k":
            assert len(entry.variants) >= 1 and entry.arch["layers"] > 0


def test_exact_sizes_and_hashes_are_well_formed():
    variants = [v for e in load_catalog() for v in e.variants]
    assert sum(v.size_exact for v in variants) >= 20
    for variant in variants:
        for f in variant.files:
            assert f.sha256 == "" or re.fullmatch(r"[0-9a-f]{64}", f.sha256), f.name
    # the catalog's stories260K is the file the test fixtures pin (from ../shared/models/README)
    stories = find_entry("stories-260k").variants[0].main_file
    assert stories.sha256 == STORIES_SHA256


def test_flux_schnell_is_offered_full_and_with_a_gguf_transformer_from_city96():
    flux = find_entry("flux.1-schnell")
    assert flux.kind == "image" and flux.license == "apache-2.0" and flux.resolution == 1024
    full = flux.variant("BF16")
    assert full.size_exact and full.size == 33_725_923_002 and not full.folder
    assert all(f.sha256 and not f.repo_id for f in full.files if f.size > 1_000_000)
    shared = {f.name for f in full.files if not f.name.startswith("transformer/diffusion_pytorch_model")}
    for quant in ("Q8_0", "Q4_K_S"):
        variant = flux.variant(quant)
        assert variant.folder and variant.folder != flux.repo_id.replace("/", "__")
        [gguf] = [f for f in variant.files if f.repo_id]
        assert gguf.repo_id == "city96/FLUX.1-schnell-gguf" and gguf.name == f"flux1-schnell-{quant}.gguf"
        assert gguf.dest == f"transformer/{gguf.name}" and variant.main_file is gguf
        assert {f.name for f in variant.files if not f.repo_id} == shared  # configs, text encoders, VAE
        assert variant.size < full.size


def test_text_models_offer_several_quantizations():
    multi = [e for e in load_catalog() if e.kind == "text" and len(e.variants) >= 2]
    assert len(multi) >= 8


def test_unknown_variant_and_malformed_catalog_are_clear_errors(tmp_path):
    with pytest.raises(CatalogError, match="Q2_K"):
        find_entry("qwen2.5-0.5b-instruct").variant("Q2_K")
    bad = tmp_path / "catalog.json"
    bad.write_text(json.dumps({"models": [{"id": "x"}]}))
    with pytest.raises(CatalogError, match="malformed"):
        load_catalog(bad)


def test_installed_variants_are_recognised_by_sha256_or_by_repo_and_file_name(tmp_path):
    import hashlib

    from desktop.core.models.library import Library, installed_variant
    from tests.support.hub_server import gguf_file_bytes

    by_hash = tmp_path / "renamed-by-the-user.gguf"
    by_hash.write_bytes(gguf_file_bytes(64 * 1024, seed=11))
    by_name = tmp_path / "tiny-q8_0.gguf"
    by_name.write_bytes(gguf_file_bytes(64 * 1024, seed=12))
    digest = hashlib.sha256(by_hash.read_bytes()).hexdigest()
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps({"models": [{
        "id": "tiny", "name": "Tiny", "kind": "text", "family": "Qwen2.5", "repo_id": "someone/Tiny-GGUF",
        "license": "apache-2.0", "params": "1M", "params_b": 0.001, "variants": [
            {"quantization": "Q4_K_M", "min_ram": 1, "min_vram": 1, "files": [
                {"name": "tiny-q4_k_m.gguf", "size": 65536, "sha256": digest}]},
            {"quantization": "Q8_0", "min_ram": 1, "min_vram": 1, "files": [{"name": "tiny-q8_0.gguf", "size": 65536}]},
            {"quantization": "F16", "min_ram": 1, "min_vram": 1, "files": [{"name": "tiny-f16.gguf", "size": 65536}]},
        ]}]}))
    [entry] = load_catalog(catalog)
    library = Library()
    hashed = library.import_path(by_hash, "link")  # no repo known: only the hash can tell
    named = library.add_path(by_name, source="found", owned=False, repo_id="someone/Tiny-GGUF")
    models = library.models()
    assert installed_variant(entry, entry.variant("Q4_K_M"), models).id == hashed.id
    assert installed_variant(entry, entry.variant("Q8_0"), models).id == named.id
    assert installed_variant(entry, entry.variant("F16"), models) is None
    by_name.unlink()  # a listed file that is gone is not installed
    assert installed_variant(entry, entry.variant("Q8_0"), library.models()) is None


def test_current_small_models_are_offered_with_their_real_hub_files():
    files = {e.id: (e.repo_id, e.variant("Q4_K_M").main_file.name) for e in load_catalog() if e.kind == "text"
             and any(v.quantization == "Q4_K_M" for v in e.variants)}
    assert files["qwen3-0.6b"] == ("unsloth/Qwen3-0.6B-GGUF", "Qwen3-0.6B-Q4_K_M.gguf")
    assert files["qwen3-4b"] == ("Qwen/Qwen3-4B-GGUF", "Qwen3-4B-Q4_K_M.gguf")
    assert files["gemma-3-1b-it"] == ("ggml-org/gemma-3-1b-it-GGUF", "gemma-3-1b-it-Q4_K_M.gguf")
    for entry_id in ("qwen3-1.7b", "gemma-3-4b-it", "phi-4-mini-instruct", "smollm2-135m-instruct",
                     "smollm2-360m-instruct", "smollm3-3b", "llama-3.2-1b-instruct", "llama-3.2-3b-instruct"):
        assert entry_id in files, entry_id
    qwen = find_entry("qwen3-1.7b").variants[0]
    assert qwen.size_exact and qwen.main_file.size == 1107409472 and len(qwen.main_file.sha256) == 64


def test_a_few_first_picks_are_recommended(tmp_path):
    recommended = [e for e in load_catalog() if e.recommended]
    assert 2 <= len(recommended) <= 6
    assert {e.kind for e in recommended} == {"text", "image"}
    assert all(e.variants[0].size < 3 * 1024 ** 3 for e in recommended)  # a first pick is a small download
    raw = json.loads((REPO_ROOT / "resources" / "catalog.json").read_text())
    raw["models"] = raw["models"][:1]
    raw["models"][0]["recommended"] = "yes"  # only true marks a pick
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(raw))
    assert not load_catalog(path)[0].recommended
