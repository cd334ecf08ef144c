"""The model library: import with header checks, delete, scan, identity."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from desktop.core.jobs import CancelToken, JobCancelled
from desktop.core.models import hashing
from desktop.core.models.errors import ImportRejected, ModelInUse, UnknownModel
from desktop.core.models.library import Library
from tests.support.hub_server import gguf_file_bytes, use_hub


def write_gguf(path: Path, size: int = 256 * 1024, seed: int = 1) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gguf_file_bytes(size, seed))
    return path


def write_diffusers(folder: Path) -> Path:
    from safetensors.numpy import save_file

    for part in ("unet", "vae"):
        (folder / part).mkdir(parents=True)
        (folder / part / "config.json").write_text("{}")
        save_file({"down_blocks.0.weight": np.zeros((4, 4), dtype=np.float16)},
                  str(folder / part / "diffusion_pytorch_model.fp16.safetensors"))
    (folder / "model_index.json").write_text(json.dumps(
        {"_class_name": "StableDiffusionPipeline", "unet": ["diffusers", "UNet2DConditionModel"],
         "vae": ["diffusers", "AutoencoderKL"], "safety_checker": [None, None]}))
    return folder


@pytest.mark.parametrize("mode", ["copy", "move", "link"])
def test_import_a_gguf_in_each_mode(tmp_path, mode):
    source = write_gguf(tmp_path / "src" / "my-model-Q5_K_M.gguf")
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    model = Library().import_path(source, mode)
    assert model.sha256 == digest and model.kind == "text" and model.format == "gguf"
    assert model.quantization == "Q5_K_M" and model.family == "Llama" and model.source == "imported"
    assert source.exists() == (mode != "move")
    assert Path(model.path).exists()
    assert (Path(model.path) == source) == (mode == "link")
    assert model.owned == (mode != "link")
    assert Library().find_by_sha256(digest).id == model.id


def test_real_stories_model_imports_with_its_metadata(stories260k):
    model = Library().import_path(stories260k, "link")
    assert model.sha256 == hashing.model_sha256(stories260k)
    assert model.context_length == 2048 and model.family == "Llama"


def test_import_rejects_a_file_that_is_not_a_model(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    with pytest.raises(ImportRejected, match="not a model file"):
        Library().import_path(notes)
    assert Library().models() == []


def test_import_rejects_a_gguf_with_a_bad_header(tmp_path):
    bad_magic = tmp_path / "bad.gguf"
    bad_magic.write_bytes(b"GGUX" + b"\0" * 100)
    with pytest.raises(ImportRejected, match="not a GGUF model"):
        Library().import_path(bad_magic)
    truncated = tmp_path / "truncated.gguf"
    truncated.write_bytes(gguf_file_bytes(64 * 1024)[:200])
    with pytest.raises(ImportRejected, match="truncated or its metadata is damaged"):
        Library().import_path(truncated)
    cut_data = tmp_path / "cut-data.gguf"  # a whole header, but the tensor data breaks off
    cut_data.write_bytes(gguf_file_bytes(64 * 1024)[:-100])
    with pytest.raises(ImportRejected, match=r"cut-data.gguf is truncated: tensor 'token_embd.weight' ends at byte"):
        Library().import_path(cut_data)
    wrong_version = tmp_path / "v9.gguf"
    wrong_version.write_bytes(b"GGUF" + (9).to_bytes(4, "little") + b"\0" * 64)
    with pytest.raises(ImportRejected, match="version 9"):
        Library().import_path(wrong_version)
    assert Library().models() == []
    assert not list((Library().models_root).glob("imported/*"))


def test_import_rejects_a_folder_without_model_index(tmp_path):
    folder = tmp_path / "not-diffusers"
    (folder / "unet").mkdir(parents=True)
    with pytest.raises(ImportRejected, match="no model_index.json"):
        Library().import_path(folder)


def test_import_a_diffusers_folder_and_a_broken_safetensors(tmp_path):
    folder = write_diffusers(tmp_path / "tiny-sd")
    model = Library().import_path(folder, "copy")
    assert model.kind == "image" and model.format == "diffusers" and model.family == "Stable Diffusion"
    assert (Path(model.path) / "unet" / "config.json").exists()
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes((10 ** 9).to_bytes(8, "little") + b"{}")
    with pytest.raises(ImportRejected, match="not a valid safetensors"):
        Library().import_path(broken)


def test_import_refuses_a_safetensors_file_whose_tensor_data_breaks_off(tmp_path):
    header = json.dumps({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}).encode()
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(len(header).to_bytes(8, "little") + header + b"\0" * 8)
    with pytest.raises(ImportRejected, match="cut.safetensors is truncated: 8 bytes of tensor data are missing"):
        Library().import_path(cut)
    assert Library().models() == []


def test_import_refuses_a_diffusers_folder_with_bad_or_missing_weights(tmp_path):
    folder = write_diffusers(tmp_path / "badpipe")
    for weights in folder.glob("*/*.safetensors"):
        weights.unlink()
    (folder / "unet" / "diffusion_pytorch_model.safetensors").write_bytes(b"garbage")  # config + junk, no vae weights
    with pytest.raises(ImportRejected) as info:
        Library().import_path(folder, "link")
    message = str(info.value)
    assert "unet/diffusion_pytorch_model.safetensors is damaged" in message
    assert "vae has no weights" in message and "complete pipeline" in message
    assert Library().models() == []


def test_import_refuses_a_diffusers_folder_with_truncated_or_pickle_only_weights(tmp_path):
    folder = write_diffusers(tmp_path / "truncated")
    vae = folder / "vae" / "diffusion_pytorch_model.fp16.safetensors"
    vae.write_bytes(vae.read_bytes()[:-8])
    with pytest.raises(ImportRejected, match=r"vae/diffusion_pytorch_model.fp16.safetensors is damaged .*truncated"):
        Library().import_path(folder, "copy")
    assert not list(Library().models_root.glob("imported/*"))
    pickled = write_diffusers(tmp_path / "pickled")
    unet = pickled / "unet"
    (unet / "diffusion_pytorch_model.fp16.safetensors").rename(unet / "diffusion_pytorch_model.bin")
    with pytest.raises(ImportRejected, match=r"only pickle weights \(unet/diffusion_pytorch_model.bin\)") as info:
        Library().import_path(pickled, "link")
    assert "arbitrary code" in info.value.hint
    assert Library().models() == []


def test_import_refuses_a_sharded_component_missing_a_shard(tmp_path):
    folder = write_diffusers(tmp_path / "sharded")
    (folder / "unet" / "diffusion_pytorch_model.safetensors.index.json").write_text(json.dumps(
        {"weight_map": {"a": "diffusion_pytorch_model.fp16.safetensors",
                        "b": "diffusion_pytorch_model-00002-of-00002.safetensors"}}))
    with pytest.raises(ImportRejected, match="unet/diffusion_pytorch_model-00002-of-00002.safetensors is missing"):
        Library().import_path(folder, "link")


@pytest.mark.slow
def test_a_real_tiny_pipeline_passes_the_weight_checks(tiny_sd_pipeline):
    model = Library().import_path(tiny_sd_pipeline, "link")
    assert model.format == "diffusers" and model.kind == "image"


def test_cancelled_copy_leaves_nothing(tmp_path):
    source = write_gguf(tmp_path / "big.gguf", size=9 * 1024 * 1024)
    token = CancelToken()
    token.cancel()
    with pytest.raises(JobCancelled):
        Library().import_path(source, "copy", cancel=token)
    assert not list(Library().models_root.rglob("*.gguf"))
    assert Library().models() == []


def test_delete_frees_space_and_refuses_a_loaded_model(tmp_path):
    library = Library()
    model = library.import_path(write_gguf(tmp_path / "a.gguf"), "copy")
    path = Path(model.path)
    with pytest.raises(ModelInUse, match="loaded"):
        library.delete(model.id, is_loaded=lambda p: p == path)
    assert path.exists()
    plan = library.plan_delete(model.id)
    assert plan.bytes_freed == path.stat().st_size and "frees" in plan.message
    done = library.delete(model.id, is_loaded=lambda p: False)
    assert done.bytes_freed == plan.bytes_freed
    assert not path.exists() and library.models() == []
    with pytest.raises(UnknownModel):
        library.get(model.id)


def test_deleting_a_linked_model_keeps_its_file(tmp_path):
    source = write_gguf(tmp_path / "mine.gguf")
    library = Library()
    model = library.import_path(source, "link")
    plan = library.delete(model.id)
    assert plan.bytes_freed == 0 and "stay on disk" in plan.message
    assert source.exists() and library.models() == []


def test_scan_user_folders_finds_ggufs_without_copying(tmp_path):
    folder = tmp_path / "lmstudio" / "models"
    good = [write_gguf(folder / "pub" / f"m{i}-Q4_K_M.gguf", seed=i) for i in range(2)]
    (folder / "broken.gguf").write_bytes(b"nope")
    (folder / "readme.txt").write_text("x")
    library = Library()
    result = library.scan([folder], hf_cache=False)
    assert sorted(m.path for m in result.added) == sorted(str(p) for p in good)
    assert len(result.rejected) == 1 and "broken.gguf" in result.rejected[0]
    assert all(m.source == "found" and not m.owned for m in library.models())
    assert library.scan([folder], hf_cache=False).added == []  # re-scan is idempotent
    good[0].unlink()
    again = library.scan([folder], hf_cache=False)
    assert [m.path for m in again.removed] == [str(good[0])]
    assert [m.path for m in library.models()] == [str(good[1])]


def test_scan_finds_models_in_the_hugging_face_cache(tmp_path, monkeypatch):
    server = use_hub(monkeypatch)
    try:
        data = gguf_file_bytes(128 * 1024, seed=9)
        server.add_repo("someone/cached-GGUF", {"cached-Q8_0.gguf": data})
        cache = tmp_path / "hf-cache"
        monkeypatch.setenv("HF_HUB_CACHE", str(cache))
        from huggingface_hub import hf_hub_download

        from desktop.core.hub.access import hub_online

        with hub_online():
            hf_hub_download("someone/cached-GGUF", "cached-Q8_0.gguf", cache_dir=cache, endpoint=server.url)
    finally:
        server.close()
    result = Library().scan([], hf_cache=True)
    [model] = result.added
    assert model.repo_id == "someone/cached-GGUF" and model.sha256 == hashlib.sha256(data).hexdigest()
    assert model.quantization == "Q8_0"


def test_a_second_copy_never_takes_over_a_listed_entry(tmp_path):
    library = Library()
    listed = library.import_path(write_gguf(tmp_path / "mine-Q4_K_M.gguf", seed=4), "copy")
    folder = tmp_path / "gpt4all"
    copy = write_gguf(folder / "same-bytes-Q4_K_M.gguf", seed=4)
    result = library.scan([folder], hf_cache=False)
    assert result.added == [] and result.duplicates == [str(copy)]
    [model] = library.models()
    assert (model.path, model.source, model.owned) == (listed.path, "imported", True)
    with pytest.raises(ImportRejected, match="already in the library as mine-Q4_K_M.gguf") as info:
        library.import_path(copy, "copy")
    assert listed.path in str(info.value)
    assert len(list(library.models_root.glob("imported/*"))) == 1  # nothing was copied
    assert library.import_path(Path(listed.path), "link").id == listed.id  # the listed file itself: a no-op
    library.delete(listed.id)
    [found] = library.scan([folder], hf_cache=False).added  # once the listed copy is gone, the other one counts
    assert found.path == str(copy) and found.source == "found"


def test_verify_detects_a_changed_file(tmp_path):
    library = Library()
    model = library.import_path(write_gguf(tmp_path / "v.gguf"), "copy")
    ok, message = library.verify(model.id)
    assert ok and "OK" in message
    with open(model.path, "r+b") as fh:
        fh.seek(-1, 2)
        fh.write(b"\x01")
    ok, message = library.verify(model.id[:8])
    assert not ok and "CHANGED" in message


def test_identity_for_the_history_is_stable_and_stamps_last_use(tmp_path):
    library = Library()
    model = library.import_path(write_gguf(tmp_path / "id-Q4_K_M.gguf"), "link")
    assert library.get(model.id).last_used == 0
    identity = library.identity(Path(model.path))
    assert identity.sha256 == model.sha256 == hashlib.sha256(Path(model.path).read_bytes()).hexdigest()
    assert identity.quantization == "Q4_K_M" and identity.size == model.size
    assert library.get(model.id).last_used > 0
    assert library.find_by_sha256(identity.sha256).path == model.path  # how a re-run finds it again
    loose = write_gguf(tmp_path / "not-in-library.gguf", seed=3)
    assert library.identity(loose).sha256 == hashing.model_sha256(loose)


def test_two_imports_of_the_same_name_never_share_a_file(tmp_path, monkeypatch):
    """The first import, between choosing its name and copying, must not lose that name to a second one."""
    import threading

    import desktop.core.models.library as library_module

    first_source = write_gguf(tmp_path / "a" / "same-name-Q4_0.gguf", seed=11)
    second_source = write_gguf(tmp_path / "b" / "same-name-Q4_0.gguf", seed=12)
    real_disk_free = library_module.disk_free
    first_waits, second_done = threading.Event(), threading.Event()

    def disk_free(path):
        if threading.current_thread().name == "first-import":
            first_waits.set()
            second_done.wait(20)
        return real_disk_free(path)

    monkeypatch.setattr(library_module, "disk_free", disk_free)
    outcome = {}
    first = threading.Thread(name="first-import", daemon=True,
                             target=lambda: outcome.update(model=Library().import_path(first_source, "copy")))
    first.start()
    assert first_waits.wait(20)
    second = Library().import_path(second_source, "copy")
    second_done.set()
    first.join(20)
    models = [outcome["model"], second]
    assert len({m.path for m in models}) == 2
    for model, source in zip(models, (first_source, second_source)):
        assert Path(model.path).read_bytes() == source.read_bytes()
        assert hashlib.sha256(Path(model.path).read_bytes()).hexdigest() == model.sha256
    folder = Library().models_root / "imported"
    assert sorted(p.name for p in folder.iterdir()) == ["same-name-Q4_0-1.gguf", "same-name-Q4_0.gguf"]


def test_an_import_that_fails_or_is_cancelled_leaves_no_name_taken(tmp_path, monkeypatch):
    import desktop.core.models.library as library_module
    from desktop.core.models.errors import DiskFull

    source = write_gguf(tmp_path / "big.gguf", size=9 * 1024 * 1024)
    folder = tmp_path / "diffusers"
    write_diffusers(folder)
    with monkeypatch.context() as patch:
        patch.setattr(library_module, "disk_free", lambda path: 0)
        for item in (source, folder):
            with pytest.raises(DiskFull):
                Library().import_path(item, "copy")
    token = CancelToken()
    hashing.model_sha256(source)  # hashed already: the cancel comes during the copy

    def cancel_mid_copy(report):
        if report.message.startswith("Copying"):
            token.cancel()

    with pytest.raises(JobCancelled):
        Library().import_path(source, "copy", cancel=token, progress=cancel_mid_copy)
    assert list((Library().models_root / "imported").iterdir()) == []
    assert Library().models() == []
    assert Path(Library().import_path(source, "copy").path).name == "big.gguf"  # the name is free again


def test_a_model_is_found_by_its_name_without_suffix_or_quantization(tmp_path):
    from desktop.core.models.library import resolve_model

    library = Library()
    smol = library.import_path(write_gguf(tmp_path / "SmolLM2-135M-Instruct.Q4_1.gguf", seed=1), mode="link")
    qwen = library.import_path(write_gguf(tmp_path / "Qwen3-0.6B-Q4_K_M.gguf", seed=2), mode="link")
    assert library.get("SmolLM2-135M-Instruct").id == smol.id
    assert library.get("smollm2-135m-instruct.q4_1").id == smol.id  # case does not matter
    assert library.get("Qwen3-0.6B").id == qwen.id
    assert resolve_model("Qwen3-0.6B") == Path(qwen.path)
    # A path-like reference stays a path, even when it does not exist (reported by its name).
    assert resolve_model("missing/Qwen3-0.6B.gguf") == Path("missing/Qwen3-0.6B.gguf")
    with pytest.raises(UnknownModel, match="No model in the library matches 'Qwen3'"):
        library.get("Qwen3")  # a bare prefix is not a name


def test_a_short_name_shared_by_two_models_names_both(tmp_path):
    library = Library()
    a = library.import_path(write_gguf(tmp_path / "a" / "Tiny-Q4_0.gguf", seed=3), mode="link")
    b = library.import_path(write_gguf(tmp_path / "b" / "Tiny-Q8_0.gguf", seed=4), mode="link")
    with pytest.raises(UnknownModel) as info:
        library.get("Tiny")
    assert "matches 2 models" in str(info.value) and a.name in str(info.value) and b.name in str(info.value)
    assert "id" in info.value.hint
