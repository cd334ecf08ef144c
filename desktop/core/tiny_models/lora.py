"""Tiny random LoRAs for the tiny pipelines, in the diffusers (PEFT) and kohya key formats.

:func:`build_tiny_lora` adds a PEFT LoRA (``init_lora_weights=False``, so it
changes the output from the first step) to the attention projections of a
tiny pipeline's UNet and saves it as diffusers' ``save_lora_weights`` does
(``unet.<module>.lora_A.weight``).  :func:`to_kohya` rewrites such a file
with the key names kohya's trainers and A1111 use
(``lora_unet_<module_with_underscores>.lora_down.weight`` plus an ``alpha``
per module), so the same adapter can be loaded from both formats.
"""

from __future__ import annotations

from pathlib import Path

TARGETS = ("to_q", "to_k", "to_v", "to_out.0")


def build_tiny_lora(pipeline: Path, dest: Path, *, seed: int = 0, rank: int = 4,
                    metadata: dict[str, str] | None = None) -> Path:
    """A random LoRA for the denoiser of the diffusers folder ``pipeline`` (its UNet, or the SD 3 /
    FLUX transformer), saved to the file ``dest``."""
    import torch
    from diffusers import FluxTransformer2DModel, SD3Transformer2DModel, UNet2DConditionModel
    from peft import LoraConfig, get_peft_model_state_dict
    from safetensors.torch import save_file

    pipeline = Path(pipeline)
    if (pipeline / "unet").is_dir():
        prefix, model = "unet", UNet2DConditionModel.from_pretrained(pipeline / "unet")
    else:
        flux = "Flux" in (pipeline / "model_index.json").read_text(encoding="utf-8")
        cls = FluxTransformer2DModel if flux else SD3Transformer2DModel
        prefix, model = "transformer", cls.from_pretrained(pipeline / "transformer")
    torch.manual_seed(seed)
    model.add_adapter(LoraConfig(r=rank, lora_alpha=rank, init_lora_weights=False, target_modules=list(TARGETS)))
    state = {f"{prefix}.{key}": value.contiguous() for key, value in get_peft_model_state_dict(model).items()}
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(dest), metadata={"format": "pt", **(metadata or {})})
    return dest


def to_kohya(source: Path, dest: Path) -> Path:
    """``source`` (a diffusers-format UNet LoRA) rewritten with kohya/A1111 key names."""
    import torch
    from safetensors.torch import load_file, save_file

    state = load_file(str(source))
    out = {}
    for key, value in state.items():
        module, _, kind = key.removeprefix("unet.").rpartition(".lora_")
        name = "lora_unet_" + module.replace(".", "_")
        if kind == "A.weight":
            out[f"{name}.lora_down.weight"] = value
            out[f"{name}.alpha"] = torch.tensor(float(value.shape[0]))  # alpha = rank: scale 1, as the PEFT one
        elif kind == "B.weight":
            out[f"{name}.lora_up.weight"] = value
        else:
            raise ValueError(f"unexpected LoRA key {key}")
    dest = Path(dest)
    save_file({k: v.contiguous() for k, v in out.items()}, str(dest))
    return dest
