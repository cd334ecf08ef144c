"""A tiny random-weight Stable Diffusion *inpainting* pipeline, built from configs.

The tiny SD pipeline (:func:`desktop.core.tiny_models.diffusion.build_tiny_sd_pipeline`)
with its UNet rebuilt from the same config but 9 input channels (4 latent, 1
mask, 4 masked-image latents), saved as a StableDiffusionInpaintPipeline
folder: the layout of runwayml's and stabilityai's inpainting checkpoints.
"""

from __future__ import annotations

from pathlib import Path


def build_tiny_sd_inpaint_pipeline(dest: Path, *, seed: int = 0) -> Path:
    """Build it and ``save_pretrained`` it (safetensors) to ``dest``; returns ``dest``."""
    import tempfile

    import torch
    from diffusers import StableDiffusionInpaintPipeline, StableDiffusionPipeline, UNet2DConditionModel

    from desktop.core.tiny_models.diffusion import build_tiny_sd_pipeline

    dest = Path(dest)
    with tempfile.TemporaryDirectory(prefix="tiny-sd-") as tmp:
        base = StableDiffusionPipeline.from_pretrained(build_tiny_sd_pipeline(Path(tmp) / "sd", seed=seed),
                                                       local_files_only=True, safety_checker=None,
                                                       requires_safety_checker=False)
    config = dict(base.unet.config)
    config["in_channels"] = 9
    torch.manual_seed(seed + 7)
    unet = UNet2DConditionModel.from_config(config).eval()
    pipe = StableDiffusionInpaintPipeline(
        unet=unet, vae=base.vae, text_encoder=base.text_encoder, tokenizer=base.tokenizer,
        scheduler=base.scheduler, safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    dest.mkdir(parents=True, exist_ok=True)
    pipe.save_pretrained(dest, safe_serialization=True)
    return dest


def build_tiny_sdxl_inpaint_pipeline(dest: Path, *, seed: int = 0) -> Path:
    """The tiny SDXL pipeline with a 9-input-channel UNet, saved as a StableDiffusionXLInpaintPipeline
    folder (the layout of diffusers' stable-diffusion-xl-1.0-inpainting-0.1)."""
    import tempfile

    import torch
    from diffusers import StableDiffusionXLInpaintPipeline, StableDiffusionXLPipeline, UNet2DConditionModel

    from desktop.core.tiny_models.diffusion import build_tiny_sdxl_pipeline

    dest = Path(dest)
    with tempfile.TemporaryDirectory(prefix="tiny-sdxl-") as tmp:
        base = StableDiffusionXLPipeline.from_pretrained(build_tiny_sdxl_pipeline(Path(tmp) / "sdxl", seed=seed),
                                                         local_files_only=True)
    config = dict(base.unet.config)
    config["in_channels"] = 9
    torch.manual_seed(seed + 7)
    unet = UNet2DConditionModel.from_config(config).eval()
    pipe = StableDiffusionXLInpaintPipeline(
        vae=base.vae, text_encoder=base.text_encoder, text_encoder_2=base.text_encoder_2, tokenizer=base.tokenizer,
        tokenizer_2=base.tokenizer_2, unet=unet, scheduler=base.scheduler, requires_aesthetics_score=False,
        force_zeros_for_empty_prompt=True, add_watermarker=False)
    dest.mkdir(parents=True, exist_ok=True)
    pipe.save_pretrained(dest, safe_serialization=True)
    return dest
