"""A tiny random-weight Stable Diffusion pipeline, built from configs.

It has the real SD 1.x layout (UNet2DConditionModel, AutoencoderKL with a
latent scale factor of 8 and 4 latent channels, a CLIP text encoder and
tokenizer, a PNDM-free Euler scheduler, no safety checker), so every code path
a real checkpoint takes is exercised, but it weighs well under 1 MB and makes
a 64x64 image in well under a second on a CPU.  The tokenizer's vocabulary is
written here: the 256 byte-level symbols (alone and as word ends) and a few
merges, so nothing is fetched from the hub.

Like diffusers' ``get_dummy_components``, the weights are random (seeded), so
images are noise; what matters is that they are deterministic.

Also here, for the image tests: :func:`build_tiny_sdxl_pipeline` (the SDXL
layout: two text encoders, text_time conditioning) and
:func:`build_tiny_ldm_sd_pipeline`, the same SD 1.x model both as a diffusers
folder and as one original-layout ``.safetensors`` checkpoint, to prove that
single-file loading gives the same pixels.
"""

from __future__ import annotations

from pathlib import Path

# A few common English bigrams so the BPE has merges to apply.
_MERGES = ["t h", "th e</w>", "a n", "i n", "e r", "o n", "a t", "r e", "s t", "e n"]

BOS, EOS = "<|startoftext|>", "<|endoftext|>"


def _bytes_to_unicode() -> dict[int, str]:
    """CLIP's/GPT-2's reversible byte -> printable unicode mapping."""
    visible = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) \
        + list(range(ord("®"), ord("ÿ") + 1))
    codes = visible[:]
    n = 0
    for b in range(256):
        if b not in visible:
            visible.append(b)
            codes.append(256 + n)
            n += 1
    return dict(zip(visible, (chr(c) for c in codes)))


def tiny_vocab() -> tuple[dict[str, int], list[tuple[str, str]]]:
    """A byte-level BPE vocabulary and merge list for a CLIP tokenizer."""
    symbols = list(_bytes_to_unicode().values())
    tokens = [BOS, EOS] + symbols + [s + "</w>" for s in symbols]
    for merge in _MERGES:
        merged = merge.replace(" ", "")
        if merged not in tokens:
            tokens.append(merged)
    return {tok: i for i, tok in enumerate(tokens)}, [(a, b) for a, b in (m.split(" ") for m in _MERGES)]


def build_tiny_sd_pipeline(dest: Path, *, seed: int = 0) -> Path:
    """Build the tiny pipeline and ``save_pretrained`` it (safetensors) to ``dest``.

    Returns ``dest``.  The same ``seed`` always gives the same weights.
    """
    import torch
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    dest = Path(dest)
    vocab, merges = tiny_vocab()
    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        block_out_channels=(8, 16),
        layers_per_block=1,
        sample_size=8,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32,
        attention_head_dim=(2, 4),
        norm_num_groups=4,
        time_cond_proj_dim=None,
    )
    torch.manual_seed(seed + 1)
    # Four blocks: the same 8x latent downscale as real SD checkpoints.
    vae = AutoencoderKL(
        block_out_channels=(4, 8, 8, 8),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        latent_channels=4,
        norm_num_groups=2,
        layers_per_block=1,
        sample_size=64,
    )
    torch.manual_seed(seed + 2)
    text_config = CLIPTextConfig(
        bos_token_id=vocab[BOS],
        eos_token_id=vocab[EOS],
        pad_token_id=vocab[EOS],
        hidden_size=32,
        intermediate_size=37,
        layer_norm_eps=1e-05,
        num_attention_heads=4,
        num_hidden_layers=2,
        vocab_size=len(vocab),
        max_position_embeddings=77,
        projection_dim=32,
    )
    text_encoder = CLIPTextModel(text_config)
    tokenizer = CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=77)
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
        num_train_timesteps=1000, steps_offset=1, timestep_spacing="leading",
    )
    pipe = StableDiffusionPipeline(
        unet=unet.eval(), vae=vae.eval(), text_encoder=text_encoder.eval(), tokenizer=tokenizer,
        scheduler=scheduler, safety_checker=None, feature_extractor=None,
        requires_safety_checker=False,
    )
    dest.mkdir(parents=True, exist_ok=True)
    pipe.save_pretrained(dest, safe_serialization=True)
    return dest


def build_tiny_sdxl_pipeline(dest: Path, *, seed: int = 0) -> Path:
    """A tiny StableDiffusionXLPipeline (two text encoders, text_time conditioning), saved to ``dest``."""
    import torch
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionXLPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

    dest = Path(dest)
    vocab, merges = tiny_vocab()
    time_dim, hidden = 8, 16
    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        block_out_channels=(8, 16), layers_per_block=1, sample_size=8, in_channels=4, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=(2, 4), use_linear_projection=True, addition_embed_type="text_time",
        addition_time_embed_dim=time_dim, transformer_layers_per_block=(1, 1),
        # six micro-conditioning numbers, each embedded in time_dim, plus the pooled text embedding
        projection_class_embeddings_input_dim=6 * time_dim + hidden,
        cross_attention_dim=2 * hidden, norm_num_groups=4,
    )
    torch.manual_seed(seed + 1)
    vae = AutoencoderKL(
        block_out_channels=(4, 8, 8, 8), in_channels=3, out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
        latent_channels=4, norm_num_groups=2, layers_per_block=1, sample_size=64, scaling_factor=0.13025,
    )
    config = dict(bos_token_id=vocab[BOS], eos_token_id=vocab[EOS], pad_token_id=vocab[EOS], hidden_size=hidden,
                  intermediate_size=37, layer_norm_eps=1e-05, num_attention_heads=2, num_hidden_layers=2,
                  vocab_size=len(vocab), max_position_embeddings=77, projection_dim=hidden, hidden_act="gelu")
    torch.manual_seed(seed + 2)
    text_encoder = CLIPTextModel(CLIPTextConfig(**config))
    torch.manual_seed(seed + 3)
    text_encoder_2 = CLIPTextModelWithProjection(CLIPTextConfig(**config))
    tokenizer = CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=77)
    tokenizer_2 = CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=77)
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
        num_train_timesteps=1000, steps_offset=1, timestep_spacing="leading",
    )
    pipe = StableDiffusionXLPipeline(
        vae=vae.eval(), text_encoder=text_encoder.eval(), text_encoder_2=text_encoder_2.eval(),
        tokenizer=tokenizer, tokenizer_2=tokenizer_2, unet=unet.eval(), scheduler=scheduler,
        add_watermarker=False,
    )
    dest.mkdir(parents=True, exist_ok=True)
    pipe.save_pretrained(dest, safe_serialization=True)
    return dest


# --- a single-file (original LDM layout) checkpoint, for from_single_file ----------------------
# Key mapping after diffusers' scripts/convert_diffusers_to_original_stable_diffusion.py, for the
# real SD 1.x block layout (4 blocks, 2 resnets per down block, 3 per up block).

def _unet_key_map() -> list[tuple[str, str]]:
    pairs = [("time_embed.0.", "time_embedding.linear_1."), ("time_embed.2.", "time_embedding.linear_2."),
             ("input_blocks.0.0.", "conv_in."), ("out.0.", "conv_norm_out."), ("out.2.", "conv_out.")]
    for i in range(4):
        for j in range(2):
            pairs.append((f"input_blocks.{3 * i + j + 1}.0.", f"down_blocks.{i}.resnets.{j}."))
            if i < 3:
                pairs.append((f"input_blocks.{3 * i + j + 1}.1.", f"down_blocks.{i}.attentions.{j}."))
        for j in range(3):
            pairs.append((f"output_blocks.{3 * i + j}.0.", f"up_blocks.{i}.resnets.{j}."))
            if i > 0:
                pairs.append((f"output_blocks.{3 * i + j}.1.", f"up_blocks.{i}.attentions.{j}."))
        if i < 3:
            pairs.append((f"input_blocks.{3 * (i + 1)}.0.op.", f"down_blocks.{i}.downsamplers.0.conv."))
            pairs.append((f"output_blocks.{3 * i + 2}.{1 if i == 0 else 2}.", f"up_blocks.{i}.upsamplers.0."))
    pairs.append(("middle_block.1.", "mid_block.attentions.0."))
    for j in range(2):
        pairs.append((f"middle_block.{2 * j}.", f"mid_block.resnets.{j}."))
    return pairs


_UNET_RESNET = [("in_layers.0", "norm1"), ("in_layers.2", "conv1"), ("out_layers.0", "norm2"),
                ("out_layers.3", "conv2"), ("emb_layers.1", "time_emb_proj"), ("skip_connection", "conv_shortcut")]


def _vae_key_map() -> list[tuple[str, str]]:
    pairs = [("nin_shortcut", "conv_shortcut"), ("norm_out", "conv_norm_out"), ("mid.attn_1.", "mid_block.attentions.0.")]
    for i in range(4):
        for j in range(2):
            pairs.append((f"encoder.down.{i}.block.{j}.", f"encoder.down_blocks.{i}.resnets.{j}."))
        if i < 3:
            pairs.append((f"down.{i}.downsample.", f"down_blocks.{i}.downsamplers.0."))
            pairs.append((f"up.{3 - i}.upsample.", f"up_blocks.{i}.upsamplers.0."))
        for j in range(3):
            pairs.append((f"decoder.up.{3 - i}.block.{j}.", f"decoder.up_blocks.{i}.resnets.{j}."))
    for i in range(2):
        pairs.append((f"mid.block_{i + 1}.", f"mid_block.resnets.{i}."))
    return pairs


_VAE_ATTN = [("norm.", "group_norm."), ("q.", "to_q."), ("k.", "to_k."), ("v.", "to_v."), ("proj_out.", "to_out.0.")]


def _rename(state: dict, pairs: list[tuple[str, str]], inner: list[tuple[str, str]], inner_if: str) -> dict:
    out = {}
    for key, value in state.items():
        new = key
        if inner_if in key:
            for ldm, hf in inner:
                new = new.replace(hf, ldm)
        for ldm, hf in pairs:
            new = new.replace(hf, ldm)
        out[new] = value
    return out


def build_tiny_ldm_sd_pipeline(dest: Path, checkpoint: Path, *, seed: int = 0) -> tuple[Path, Path]:
    """A tiny SD 1.x pipeline with the real block layout, as a diffusers folder *and* as one
    original-layout ``.safetensors`` checkpoint (what civitai files look like).

    Returns ``(folder, checkpoint)``; the folder's configs are what ``from_single_file`` needs.
    """
    import torch
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from safetensors.torch import save_file
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    dest, checkpoint = Path(dest), Path(checkpoint)
    vocab, merges = tiny_vocab()
    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        block_out_channels=(8, 8, 8, 8), layers_per_block=2, sample_size=8, in_channels=4, out_channels=4,
        down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
        up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
        cross_attention_dim=32, attention_head_dim=2, norm_num_groups=4,
    )
    torch.manual_seed(seed + 1)
    vae = AutoencoderKL(
        block_out_channels=(4, 4, 4, 4), in_channels=3, out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
        latent_channels=4, norm_num_groups=2, layers_per_block=2, sample_size=64,
    )
    torch.manual_seed(seed + 2)
    text_encoder = CLIPTextModel(CLIPTextConfig(
        bos_token_id=vocab[BOS], eos_token_id=vocab[EOS], pad_token_id=vocab[EOS], hidden_size=32,
        intermediate_size=37, layer_norm_eps=1e-05, num_attention_heads=4, num_hidden_layers=2,
        vocab_size=len(vocab), max_position_embeddings=77, projection_dim=32))
    scheduler = EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                       num_train_timesteps=1000, steps_offset=1, timestep_spacing="leading")
    pipe = StableDiffusionPipeline(unet=unet.eval(), vae=vae.eval(), text_encoder=text_encoder.eval(),
                                   tokenizer=CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=77),
                                   scheduler=scheduler, safety_checker=None, feature_extractor=None,
                                   requires_safety_checker=False)
    dest.mkdir(parents=True, exist_ok=True)
    pipe.save_pretrained(dest, safe_serialization=True)

    state = {}
    unet_sd = _rename(unet.state_dict(), _unet_key_map(), _UNET_RESNET, "resnets")
    state.update({f"model.diffusion_model.{k}": v for k, v in unet_sd.items()})
    vae_sd = _rename(vae.state_dict(), _vae_key_map(), _VAE_ATTN, "attentions")
    for key, value in vae_sd.items():
        if any(f"mid.attn_1.{w}.weight" in key for w in ("q", "k", "v", "proj_out")):
            value = value.reshape(*value.shape, 1, 1)  # linear -> 1x1 conv, as in LDM
        state[f"first_stage_model.{key}"] = value
    for key, value in text_encoder.state_dict().items():
        # transformers >= 5.6 flattened CLIPTextModel (no "text_model." level); LDM files always have it
        inner = key if key.startswith("text_model.") else f"text_model.{key}"
        state[f"cond_stage_model.transformer.{inner}"] = value
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in state.items()}, str(checkpoint))
    return dest, checkpoint
