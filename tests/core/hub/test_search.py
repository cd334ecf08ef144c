"""Hub search, repo ids / URLs and file listings, online (loopback hub) and offline."""

from __future__ import annotations

import json

import pytest

from desktop.core.hub.search import list_repo_files, open_or_search, parse_repo_ref, search_models
from desktop.core.models.errors import NotAHubUrl, NotOnHub, TokenRequired
from tests.support.hub_server import gguf_file_bytes


@pytest.fixture
def hub(hub):
    """The loopback hub of tests/conftest.py with this module's repos."""
    server = hub
    server.add_repo("bartowski/Qwen-GGUF", {"Qwen-Q4_K_M.gguf": gguf_file_bytes(40_000),
                                            "Qwen-Q8_0.gguf": gguf_file_bytes(60_000), "README.md": b"hi"},
                    tags=["gguf", "text-generation"], library_name="gguf", downloads=500, likes=3)
    server.add_repo("tiny/Llama-GGUF", {"llama-IQ4_XS.gguf": gguf_file_bytes(30_000)},
                    tags=["gguf"], library_name="gguf", downloads=50, likes=90)
    server.add_repo("stabilityai/tiny-sd", {"model_index.json": b"{}"}, tags=["diffusers"], library_name="diffusers",
                    downloads=900)
    return server


def test_search_filters_by_kind_and_sorts(hub):
    by_downloads = search_models("", kind="text", sort="downloads")
    assert by_downloads.ok
    assert [m.repo_id for m in by_downloads.models] == ["bartowski/Qwen-GGUF", "tiny/Llama-GGUF"]
    by_likes = search_models("", kind="text", sort="likes")
    assert [m.repo_id for m in by_likes.models] == ["tiny/Llama-GGUF", "bartowski/Qwen-GGUF"]
    images = search_models("tiny", kind="image")
    assert [(m.repo_id, m.kind) for m in images.models] == [("stabilityai/tiny-sd", "image")]


def test_search_offline_says_so_without_raising(monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", "https://huggingface.co")  # blocked by the test suite's network guard
    result = search_models("qwen")
    assert result.status == "offline" and "Offline" in result.message and result.models == []


def test_search_with_nothing_listening_is_offline(monkeypatch):
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    assert search_models("qwen", timeout=2).status == "offline"


def test_list_repo_files_with_sizes_and_quantization(hub):
    files = list_repo_files("bartowski/Qwen-GGUF")
    assert [(f.path, f.quantization) for f in files if f.is_model_file] == [
        ("Qwen-Q4_K_M.gguf", "Q4_K_M"), ("Qwen-Q8_0.gguf", "Q8_0")]
    sizes = {f.path: f.size for f in files}
    assert sizes["README.md"] == 2 and sizes["Qwen-Q8_0.gguf"] == len(hub.repos["bartowski/Qwen-GGUF"].files["Qwen-Q8_0.gguf"].data)
    assert all(len(f.sha256) == 64 for f in files if f.is_model_file)


def test_unknown_and_gated_repos_are_clear_errors(hub):
    with pytest.raises(NotOnHub, match="nobody/nothing"):
        list_repo_files("nobody/nothing")
    hub.add_repo("meta/gated", {"a.gguf": b"x"}, gated=True)
    with pytest.raises(TokenRequired, match="token"):
        list_repo_files("meta/gated")


def test_an_exact_repo_id_or_a_hub_url_opens_the_repo_and_other_text_searches(hub):
    hub.add_repo("Qwen/Qwen2.5-0.5B-Instruct-GGUF", {"q-Q4_K_M.gguf": gguf_file_bytes(20_000)}, tags=["gguf"],
                 library_name="gguf")
    hub.add_repo("Qwen/Qwen2.5-1.5B-Instruct-GGUF", {"q-Q8_0.gguf": gguf_file_bytes(20_000)}, tags=["gguf"],
                 library_name="gguf")
    repo = open_or_search("Qwen/Qwen2.5-0.5B-Instruct-GGUF")
    assert repo.ref.repo_id == "Qwen/Qwen2.5-0.5B-Instruct-GGUF" and repo.search is None
    assert [f.path for f in repo.files] == ["q-Q4_K_M.gguf"]
    url = open_or_search(f"{hub.url}/Qwen/Qwen2.5-1.5B-Instruct-GGUF/tree/main")
    assert url.ref.repo_id == "Qwen/Qwen2.5-1.5B-Instruct-GGUF" and [f.path for f in url.files] == ["q-Q8_0.gguf"]
    prefix = open_or_search("Qwen/Qwen2.5")  # owner/name shaped, but no such repo: a search
    assert prefix.ref is None and prefix.search.ok
    assert [m.repo_id for m in prefix.search.models] == ["Qwen/Qwen2.5-0.5B-Instruct-GGUF",
                                                         "Qwen/Qwen2.5-1.5B-Instruct-GGUF"]
    assert prefix.note == "No repo is named exactly Qwen/Qwen2.5; showing the search results for it instead."
    words = open_or_search("qwen gguf")
    assert words.ref is None and words.note == "" and words.search.ok
    with pytest.raises(NotOnHub, match="nobody/nothing"):  # a URL names one repo: no guessing
        open_or_search(f"{hub.url}/nobody/nothing")
    with pytest.raises(NotAHubUrl):
        open_or_search("https://example.com/Qwen/Qwen2.5")


@pytest.mark.parametrize("text, expected", [
    ("Qwen/Qwen2.5-0.5B-Instruct-GGUF", ("Qwen/Qwen2.5-0.5B-Instruct-GGUF", None, "main")),
    ("https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct-GGUF", ("Qwen/Qwen2.5-0.5B-Instruct-GGUF", None, "main")),
    ("https://huggingface.co/bartowski/x-GGUF/blob/main/x-Q4_K_M.gguf", ("bartowski/x-GGUF", "x-Q4_K_M.gguf", "main")),
    ("hf.co/a/b/resolve/abc123/sub/f.gguf", ("a/b", "sub/f.gguf", "abc123")),
    ("https://huggingface.co/a/b/tree/dev", ("a/b", None, "dev")),
])
def test_repo_ids_and_hub_urls_are_parsed(text, expected):
    ref = parse_repo_ref(text)
    assert (ref.repo_id, ref.filename, ref.revision) == expected


@pytest.mark.parametrize("text", ["https://github.com/ggerganov/llama.cpp", "not a repo", "ftp://huggingface.co/a/b",
                                  "https://huggingface.co/datasets/a/b", "https://huggingface.co/onlyone"])
def test_text_that_is_not_a_hub_repo_is_refused(text):
    with pytest.raises(NotAHubUrl):
        parse_repo_ref(text)


def test_saved_token_is_user_only_and_used(hub, genlab_home, keyring_backend):
    import stat

    from desktop.core.hub.access import save_token, token

    keyring_backend("none")  # a Linux session without Secret Service: the keyring package has no backend
    where = save_token("hf_saved\n")
    assert stat.S_IMODE((genlab_home / "hf-token").stat().st_mode) == 0o600 and where.endswith("hf-token")
    assert token() == "hf_saved"
    hub.add_repo("meta/private", {"p.gguf": b"GGUF"}, private=True)
    hub.tokens.add("hf_saved")
    assert [f.path for f in list_repo_files("meta/private")] == ["p.gguf"]


def test_a_token_goes_to_the_os_keyring_when_there_is_one_and_replaces_the_file(hub, genlab_home,
                                                                              keyring_backend):
    from desktop.core.hub.access import KEYRING_USER, save_token, token
    from desktop.core.secrets import KEYRING_SERVICE

    keyring_backend("none")
    save_token("hf_old_plaintext")
    assert (genlab_home / "hf-token").exists()
    backend = keyring_backend("working")
    assert save_token(" hf_in_keyring ") == "keyring"
    assert backend.passwords[(KEYRING_SERVICE, KEYRING_USER)] == "hf_in_keyring"
    assert not (genlab_home / "hf-token").exists()  # the old token no longer lies on disk in plain text
    assert token() == "hf_in_keyring"
    hub.add_repo("meta/private", {"p.gguf": b"GGUF"}, private=True)
    hub.tokens.add("hf_in_keyring")
    assert [f.path for f in list_repo_files("meta/private")] == ["p.gguf"]


def _safetensors(n: int, dtype=None) -> bytes:
    import numpy as np
    from safetensors.numpy import save

    return save({"w": np.zeros(n, dtype=dtype or np.float16)})


def _sd_repo() -> dict[str, bytes]:
    """A diffusers repo as the hub has them: fp32 and fp16 weights, a safety checker, a single-file checkpoint."""
    import numpy as np

    index = {"_class_name": "StableDiffusionPipeline", "unet": ["diffusers", "UNet2DConditionModel"],
             "vae": ["diffusers", "AutoencoderKL"], "text_encoder": ["transformers", "CLIPTextModel"],
             "tokenizer": ["transformers", "CLIPTokenizer"], "scheduler": ["diffusers", "EulerDiscreteScheduler"],
             "safety_checker": ["stable_diffusion", "StableDiffusionSafetyChecker"]}
    files = {"model_index.json": json.dumps(index).encode(), "README.md": b"card", "sd-tiny.safetensors": _safetensors(300_000),
             "scheduler/scheduler_config.json": b"{}", "tokenizer/vocab.json": b"{}", "tokenizer/merges.txt": b"",
             "safety_checker/config.json": b"{}", "safety_checker/model.safetensors": _safetensors(50_000)}
    for part, n in (("unet", 400_000), ("vae", 100_000), ("text_encoder", 200_000)):
        name = "model" if part == "text_encoder" else "diffusion_pytorch_model"
        files[f"{part}/config.json"] = b"{}"
        files[f"{part}/{name}.safetensors"] = _safetensors(n, np.float32)
        files[f"{part}/{name}.fp16.safetensors"] = _safetensors(n)
        files[f"{part}/{name}.bin"] = b"pickle"
    return files


def test_search_rows_carry_the_parameter_count_the_hub_reports(hub):
    from desktop.core.hub.search import search_result_fit
    from desktop.core.models.fit import RUNS_CPU, WONT_FIT
    from tests.core.models.test_fit import machine

    hub.add_repo("big/Llama-70B-GGUF", {"l-Q4_K_M.gguf": gguf_file_bytes(30_000)}, tags=["gguf"], library_name="gguf",
                 gguf={"total": 70_553_706_496, "architecture": "llama", "context_length": 131072})
    hub.add_repo("tester/sd-single", {"model_index.json": b"{}", "sd.safetensors": _safetensors(123_456)},
                 tags=["diffusers"], library_name="diffusers")
    found = {m.repo_id: m for m in search_models("", kind="text").models}
    small = found["bartowski/Qwen-GGUF"]
    # read from the GGUF header the hub parsed: one F32 tensor of that many values
    assert small.params == (40_000 - 1024) // 4 // 16 * 16 and small.context_length == 2048
    assert found["big/Llama-70B-GGUF"].params == 70_553_706_496
    assert search_result_fit(found["big/Llama-70B-GGUF"], machine(32)).verdict == WONT_FIT
    assert search_result_fit(small, machine(32)).verdict == RUNS_CPU
    images = {m.repo_id: m for m in search_models("", kind="image").models}
    assert images["tester/sd-single"].params == 123_456  # root safetensors are counted by the hub
    assert images["stabilityai/tiny-sd"].params == 0 and search_result_fit(images["stabilityai/tiny-sd"],
                                                                           machine(32)) is None


def test_a_diffusers_pipeline_is_judged_on_the_fp16_files_it_would_download(hub):
    from desktop.core.hub.search import pipeline_download_set, repo_choices
    from desktop.core.models.fit import FITS_GPU, image_activations
    from tests.core.models.test_fit import machine

    hub.add_repo("tester/sd", _sd_repo(), tags=["diffusers"], library_name="diffusers")
    files = list_repo_files("tester/sd")
    chosen, precision = pipeline_download_set(files)
    weights = [f.path for f in chosen if f.path.endswith(".safetensors")]
    assert precision == "fp16" and weights == ["unet/diffusion_pytorch_model.fp16.safetensors",
                                               "vae/diffusion_pytorch_model.fp16.safetensors",
                                               "text_encoder/model.fp16.safetensors"]
    assert {f.path for f in chosen} >= {"model_index.json", "scheduler/scheduler_config.json", "tokenizer/merges.txt",
                                        "unet/config.json"}
    assert not any(f.path.startswith("safety_checker/") or f.path.endswith(".bin") for f in chosen)
    [pipeline, single] = repo_choices(files, machine(64, 24))
    sizes = {f.path: f.size for f in files}
    fp16_bytes = sum(sizes[w] for w in weights)
    assert pipeline.files == [f.path for f in chosen] and pipeline.size == sum(f.size for f in chosen)
    assert pipeline.verdict.verdict == FITS_GPU and pipeline.verdict.weights == fp16_bytes
    assert pipeline.verdict.need_bytes == fp16_bytes + image_activations(512) + 512 * 1024 * 1024
    assert "the fp16 pipeline, 10 files" in pipeline.verdict.detail
    assert single.files == ["sd-tiny.safetensors"] and "single-file checkpoint" in single.verdict.detail
    # without fp16 files the full-precision weights are fetched, and judged as the fp16 they load as on a GPU
    fp32_only = [f for f in files if ".fp16." not in f.path]
    chosen, precision = pipeline_download_set(fp32_only)
    assert precision == "fp32" and "unet/diffusion_pytorch_model.safetensors" in [f.path for f in chosen]
    fp32_bytes = sum(f.size for f in chosen if f.path.endswith(".safetensors"))
    assert repo_choices(fp32_only, machine(64, 24))[0].verdict.weights == fp32_bytes // 2
    # a component with only pickle weights: no pipeline GenLab could load
    assert pipeline_download_set([f for f in fp32_only if f.path != "vae/diffusion_pytorch_model.safetensors"]) is None


def test_a_gguf_repo_offers_each_file_with_its_verdict(hub):
    from desktop.core.hub.search import repo_choices
    from desktop.core.models.fit import fit_model
    from tests.core.models.test_fit import machine

    choices = repo_choices(list_repo_files("bartowski/Qwen-GGUF"), machine(8), context=8192)
    assert [(c.label, c.files, c.quantization) for c in choices] == [
        ("Qwen-Q4_K_M.gguf", ["Qwen-Q4_K_M.gguf"], "Q4_K_M"), ("Qwen-Q8_0.gguf", ["Qwen-Q8_0.gguf"], "Q8_0")]
    size = len(hub.repos["bartowski/Qwen-GGUF"].files["Qwen-Q8_0.gguf"].data)
    assert choices[1].verdict == fit_model("text", size, machine(8), context=8192)


def test_a_keyring_that_keeps_nothing_leaves_the_token_in_the_file(hub, genlab_home):
    """keyring's null backend accepts a password and drops it: the token file must stay."""
    import keyring
    from keyring.backends import null

    from desktop.core.hub.access import save_token, token

    keyring.set_keyring(null.Keyring())  # the autouse no_os_keyring fixture puts the previous backend back
    where = save_token("hf_first")
    assert where == str(genlab_home / "hf-token") and token() == "hf_first"
    assert save_token("hf_second") == where  # replacing a token already in the file
    assert (genlab_home / "hf-token").read_text(encoding="utf-8") == "hf_second" and token() == "hf_second"
