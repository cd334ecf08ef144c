"""A catalog variant built from two repos, end to end against the loopback hub: FLUX.1 whose transformer is a
GGUF file of another repo, put in a folder of its own, listed once as one diffusers model that makes the
same pixels as the same folder built here; the GGUF file alone is never listed as a language model."""

from __future__ import annotations

import json

import numpy as np
import pytest

from desktop.core.models import catalog as catalog_module
from desktop.core.models.catalog import load_catalog
from desktop.core.models.library import Library, installed_variant
from tests.commands.test_models import genlab_models

pytestmark = [pytest.mark.usefixtures("one_torch_thread"), pytest.mark.slow]

REPO, GGUF_REPO, GGUF = "tester/tiny-flux", "tester/tiny-flux-gguf", "tiny-flux-Q8_0.gguf"
FOLDER = "tester__tiny-flux-Q8_0"


@pytest.fixture(scope="module")
def flux(tmp_path_factory):
    from desktop.core.tiny_models.flow import build_tiny_flux_pipeline
    from desktop.core.tiny_models.gguf_transformer import gguf_transformer_folder

    root = tmp_path_factory.mktemp("flux-two-repos")
    original = build_tiny_flux_pipeline(root / "tiny-flux")
    return original, gguf_transformer_folder(original, root / "tiny-flux-q8", quant="Q8_0")


@pytest.fixture
def served(hub, flux, tmp_path, monkeypatch):
    """The two repos on the hub and a catalog naming them: the full folder, and the GGUF variant."""
    original, q8 = flux
    full = {p.relative_to(original).as_posix(): p for p in original.rglob("*") if p.is_file()}
    [gguf_file] = (q8 / "transformer").glob("*.gguf")
    hub.add_repo(REPO, full, library_name="diffusers")
    hub.add_repo(GGUF_REPO, {GGUF: gguf_file}, library_name="gguf")
    shared = [n for n in sorted(full) if not n.startswith("transformer/") or n.endswith("config.json")]
    files = [{"name": n, "size": full[n].stat().st_size} for n in shared]
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps({"models": [{
        "id": "tiny-flux", "name": "Tiny FLUX", "kind": "image", "family": "FLUX.1", "repo_id": REPO,
        "license": "apache-2.0", "params": "1M", "params_b": 0.001, "resolution": 64, "variants": [
            {"quantization": "F32", "format": "diffusers", "min_ram": 1, "min_vram": 1,
             "files": [{"name": n, "size": p.stat().st_size} for n, p in sorted(full.items())]},
            {"quantization": "Q8_0", "format": "diffusers", "folder": FOLDER, "min_ram": 1, "min_vram": 1,
             "files": files + [{"name": GGUF, "size": gguf_file.stat().st_size, "repo_id": GGUF_REPO,
                                "path": f"transformer/{GGUF}"}]}]}]}))
    monkeypatch.setattr(catalog_module, "resource_path", lambda *parts: catalog)
    return hub


def pixels(path) -> np.ndarray:
    from desktop.core.image.engine import ImageEngine, ImageRequest
    from desktop.core.image.params import ImageParams
    from desktop.core.records import ListSink

    params = ImageParams(prompt="a red lighthouse", steps=2, guidance=3.5, width=64, height=64, seed=5,
                         scheduler="Default")
    [image] = ImageEngine().generate(ImageRequest(str(path), params, previews=False), sink=ListSink()).images
    return np.asarray(image.image).astype(int)


def test_the_gguf_variant_lands_in_its_own_folder_and_runs_as_one_model(served, flux, capsys, genlab_home):
    assert genlab_models("download", "tiny-flux", "--quant", "Q8_0") == 0
    out = capsys.readouterr().out
    assert f"added {FOLDER} (image" in out
    [model] = Library().models()  # the GGUF alone is not listed as a model of its own
    folder = genlab_home / "models" / FOLDER
    assert model.format == "diffusers" and model.path == str(folder) and model.repo_id == REPO
    assert model.quantization == "GGUF Q8_0" and (folder / "transformer" / GGUF).is_file()
    assert not list((folder / "transformer").glob("*.safetensors"))
    [entry] = load_catalog()
    assert installed_variant(entry, entry.variant("Q8_0"), [model]) is model
    assert installed_variant(entry, entry.variant("F32"), [model]) is None

    # the full variant shares files with it (the configs, the text encoders), downloaded into its own folder
    assert genlab_models("download", "tiny-flux", "--quant", "F32") == 0
    assert f"added {REPO} (image" in capsys.readouterr().out
    listed = {m.path for m in Library().models()}
    assert listed == {str(folder), str(genlab_home / "models" / REPO.replace("/", "__"))}
    assert np.array_equal(pixels(folder), pixels(flux[1]))  # the same pixels as the folder built here


def test_a_missing_gguf_keeps_the_variant_unlisted_and_says_how_to_finish_it(served, capsys):
    served.repos[GGUF_REPO].files.pop(GGUF)
    assert genlab_models("download", "tiny-flux", "--quant", "Q8_0") != 0
    err = capsys.readouterr().err
    assert f"{FOLDER} is not listed as installed: {GGUF} failed" in err
    assert "genlab models download tiny-flux" in err
    assert Library().models() == []


def test_a_flux_gguf_imported_alone_is_refused_as_a_part_of_an_image_model(flux, capsys):
    [gguf_file] = (flux[1] / "transformer").glob("*.gguf")
    assert genlab_models("import", str(gguf_file), "--mode", "link") != 0
    err = capsys.readouterr().err
    assert "is the FLUX.1 transformer of an image model in GGUF, not a model on its own" in err
    assert "transformer folder" in err and Library().models() == []
