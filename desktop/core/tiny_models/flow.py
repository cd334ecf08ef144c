"""Tiny random-weight SD 3.x and FLUX.1 pipelines, built from configs.

They have the real layouts -- an MM-DiT transformer (``SD3Transformer2DModel``,
``FluxTransformer2DModel``), a flow-matching Euler scheduler, CLIP text
encoders and a T5 encoder with its own tokenizer, an 8x VAE with 16 latent
channels -- so the code paths of real checkpoints run, but each weighs well
under 1 MB and makes a 64x64 image in a fraction of a second on a CPU.  The
T5 tokenizer is a small Unigram vocabulary written here (a ``tokenizer.json``),
so nothing is fetched from the hub.

:func:`build_tiny_flux_pipeline` makes FLUX.1-dev's guidance-distilled
layout (``guidance_embeds``); with ``schnell=True`` the timestep-distilled
FLUX.1-schnell one (no guidance embedding).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from desktop.core.tiny_models.diffusion import BOS, EOS, tiny_vocab

LATENT_CHANNELS = 16  # as SD3 and FLUX's VAEs


def tiny_t5_tokenizer() -> Any:
    """A T5 tokenizer (Unigram, lower-cased, ``</s>`` appended) over letters, digits and punctuation."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import T5TokenizerFast

    symbols = ["<pad>", "</s>", "<unk>"] + [f"▁{c}" for c in "abcdefghijklmnopqrstuvwxyz"] \
        + list("abcdefghijklmnopqrstuvwxyz0123456789.,!?'-")
    tok = Tokenizer(models.Unigram([(s, -i / 10) for i, s in enumerate(symbols)], unk_id=2))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    return T5TokenizerFast(tokenizer_object=tok, eos_token="</s>", unk_token="<unk>", pad_token="<pad>",
                           extra_ids=0, model_max_length=512)


def _t5(d_model: int, vocab_size: int) -> Any:
    from transformers import T5Config, T5EncoderModel

    return T5EncoderModel(T5Config(vocab_size=vocab_size, d_model=d_model, d_kv=8, d_ff=37, num_layers=2,
                                   num_heads=2, relative_attention_num_buckets=8, decoder_start_token_id=0,
                                   pad_token_id=0, eos_token_id=1)).eval()


def _clip_config(hidden: int) -> Any:
    from transformers import CLIPTextConfig

    vocab, _ = tiny_vocab()
    return CLIPTextConfig(bos_token_id=vocab[BOS], eos_token_id=vocab[EOS], pad_token_id=vocab[EOS],
                          hidden_size=hidden, intermediate_size=37, layer_norm_eps=1e-05, num_attention_heads=2,
                          num_hidden_layers=2, vocab_size=len(vocab), max_position_embeddings=77,
                          projection_dim=hidden, hidden_act="gelu")


def _clip_tokenizer() -> Any:
    from transformers import CLIPTokenizer

    vocab, merges = tiny_vocab()
    return CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=77)


def _vae(shift: float, scale: float) -> Any:
    from diffusers import AutoencoderKL

    # Four blocks: the real 8x latent downscale; no quant convs, as in SD3 and FLUX.
    return AutoencoderKL(block_out_channels=(4, 8, 8, 8), in_channels=3, out_channels=3,
                         down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
                         latent_channels=LATENT_CHANNELS, norm_num_groups=2, layers_per_block=1, sample_size=64,
                         use_quant_conv=False, use_post_quant_conv=False, shift_factor=shift,
                         scaling_factor=scale).eval()


def build_tiny_sd3_pipeline(dest: Path, *, seed: int = 0) -> Path:
    """A tiny StableDiffusion3Pipeline (two CLIPs with projection, T5, MM-DiT), saved to ``dest``."""
    import torch
    from diffusers import FlowMatchEulerDiscreteScheduler, SD3Transformer2DModel, StableDiffusion3Pipeline
    from transformers import CLIPTextModelWithProjection

    hidden = 16
    torch.manual_seed(seed)
    # Text tokens: the two CLIPs' hidden states side by side (2 x 16), padded to T5's width (32).
    transformer = SD3Transformer2DModel(
        sample_size=8, patch_size=2, in_channels=LATENT_CHANNELS, out_channels=LATENT_CHANNELS, num_layers=1,
        attention_head_dim=8, num_attention_heads=2, joint_attention_dim=2 * hidden, caption_projection_dim=16,
        pooled_projection_dim=2 * hidden, pos_embed_max_size=16).eval()
    torch.manual_seed(seed + 1)
    vae = _vae(0.0609, 1.5305)
    torch.manual_seed(seed + 2)
    text_encoder = CLIPTextModelWithProjection(_clip_config(hidden)).eval()
    torch.manual_seed(seed + 3)
    text_encoder_2 = CLIPTextModelWithProjection(_clip_config(hidden)).eval()
    tokenizer_3 = tiny_t5_tokenizer()
    torch.manual_seed(seed + 4)
    text_encoder_3 = _t5(2 * hidden, len(tokenizer_3))
    pipe = StableDiffusion3Pipeline(
        transformer=transformer, scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0), vae=vae,
        text_encoder=text_encoder, tokenizer=_clip_tokenizer(), text_encoder_2=text_encoder_2,
        tokenizer_2=_clip_tokenizer(), text_encoder_3=text_encoder_3, tokenizer_3=tokenizer_3)
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    pipe.save_pretrained(dest, safe_serialization=True)
    return dest


def build_tiny_flux_pipeline(dest: Path, *, seed: int = 0, schnell: bool = False) -> Path:
    """A tiny FluxPipeline (CLIP for the pooled vector, T5 for the tokens, MM-DiT), saved to ``dest``."""
    import torch
    from diffusers import FlowMatchEulerDiscreteScheduler, FluxPipeline, FluxTransformer2DModel
    from transformers import CLIPTextModel

    hidden = 16
    torch.manual_seed(seed)
    # FLUX packs 2x2 latent patches into one token: 4 x 16 channels in.
    transformer = FluxTransformer2DModel(
        patch_size=1, in_channels=4 * LATENT_CHANNELS, num_layers=1, num_single_layers=1, attention_head_dim=16,
        num_attention_heads=2, joint_attention_dim=32, pooled_projection_dim=hidden, axes_dims_rope=(4, 4, 8),
        guidance_embeds=not schnell).eval()
    torch.manual_seed(seed + 1)
    vae = _vae(0.1159, 0.3611)
    torch.manual_seed(seed + 2)
    text_encoder = CLIPTextModel(_clip_config(hidden)).eval()
    tokenizer_2 = tiny_t5_tokenizer()
    torch.manual_seed(seed + 3)
    text_encoder_2 = _t5(32, len(tokenizer_2))
    scheduler = FlowMatchEulerDiscreteScheduler(shift=1.0, use_dynamic_shifting=not schnell, base_shift=0.5,
                                                max_shift=1.15, base_image_seq_len=256, max_image_seq_len=4096)
    pipe = FluxPipeline(transformer=transformer, scheduler=scheduler, vae=vae, text_encoder=text_encoder,
                        tokenizer=_clip_tokenizer(), text_encoder_2=text_encoder_2, tokenizer_2=tokenizer_2)
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    pipe.save_pretrained(dest, safe_serialization=True)
    return dest
