"""The tiny diffusers pipeline used by the image tests, benchmarks and --self-test."""

from __future__ import annotations

import hashlib
import json

from desktop.core.tiny_models import build_tiny_sd_pipeline


def _weights(folder):
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in (".safetensors", ".bin", ".ckpt"))


def test_tiny_pipeline_is_a_small_safetensors_diffusers_folder(tiny_sd_pipeline):
    index = json.loads((tiny_sd_pipeline / "model_index.json").read_text())
    assert index["_class_name"] == "StableDiffusionPipeline"
    weights = _weights(tiny_sd_pipeline)
    assert {p.parent.name for p in weights} == {"unet", "vae", "text_encoder"}
    assert all(p.suffix == ".safetensors" for p in weights)
    total = sum(p.stat().st_size for p in tiny_sd_pipeline.rglob("*") if p.is_file())
    assert total < 1024 * 1024


def test_same_seed_gives_identical_weights_and_another_seed_does_not(tiny_sd_pipeline, tmp_path):
    again = build_tiny_sd_pipeline(tmp_path / "again", seed=0)
    other = build_tiny_sd_pipeline(tmp_path / "other", seed=1)

    def unet_hash(folder):
        return hashlib.sha256((folder / "unet" / "diffusion_pytorch_model.safetensors").read_bytes()).hexdigest()

    assert unet_hash(again) == unet_hash(tiny_sd_pipeline)
    assert unet_hash(other) != unet_hash(tiny_sd_pipeline)


def test_tokenizer_applies_merges_without_the_hub(tiny_sd_pipeline):
    from transformers import CLIPTokenizer

    tok = CLIPTokenizer.from_pretrained(tiny_sd_pipeline / "tokenizer", local_files_only=True)
    ids = tok("the cat").input_ids
    assert ids[0] == tok.bos_token_id and ids[-1] == tok.eos_token_id
    assert tok.convert_ids_to_tokens(ids[1]) == "the</w>"  # merged by "t h" then "th e</w>"
    assert max(ids) < tok.vocab_size
