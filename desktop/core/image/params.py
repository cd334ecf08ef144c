"""Image generation parameters: defaults per model family and validation.

:class:`ImageParams` is everything a person chooses for one request.  The
model family decides the defaults (SD 1.x 512 px, SDXL 1024 px, Turbo models
1 step with guidance 0, LCM a few steps with low guidance) and the sensible
size range.  :func:`validate_params` raises :class:`InvalidParameter` with a
message naming the bad value by the Images panel's label (Width, Steps,
Guidance scale...; the CLI flags are the same words), the allowed range and
what to do, and returns soft warnings (an
empty prompt, too many steps for a Turbo model) that the caller shows.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from desktop.core.errors import InvalidParameter

SD1, SD2, SDXL, SD_TURBO, SDXL_TURBO = "sd1", "sd2", "sdxl", "sd-turbo", "sdxl-turbo"
SD3, FLUX, FLUX_SCHNELL = "sd3", "flux", "flux-schnell"
FAMILY_LABELS = {
    SD1: "Stable Diffusion 1.x",
    SD2: "Stable Diffusion 2.x",
    SDXL: "Stable Diffusion XL",
    SD_TURBO: "SD-Turbo",
    SDXL_TURBO: "SDXL-Turbo",
    SD3: "Stable Diffusion 3.x",
    FLUX: "FLUX.1 (dev)",
    FLUX_SCHNELL: "FLUX.1 (schnell)",
}
# Rectified-flow transformers: their own flow-matching scheduler only (the SD samplers do not apply).
FLOW_FAMILIES = (SD3, FLUX, FLUX_SCHNELL)
# FLUX is guidance-distilled: the guidance scale is an input of the model, there is no
# classifier-free guidance pass, so a negative prompt has nothing to act on.
NO_NEGATIVE_PROMPT = (FLUX, FLUX_SCHNELL)
SIZE_MULTIPLE = 8  # the VAE downsamples by 8; other sizes are silently cropped by diffusers
MIN_SIDE = 64
MAX_STEPS = 150
MAX_GUIDANCE = 30.0
MAX_BATCH = 100
MAX_SEED = 2**64 - 1
MAX_LORA_WEIGHT = 5.0  # A1111 takes any number; past this a LoRA only makes noise


@dataclass
class LoraChoice:
    """One LoRA chosen for a request: a file (or library name) and its weight.

    ``sha256`` is filled in when the file was resolved (records keep it, so a
    re-run finds that exact file again); ``name`` is what the person typed or
    the file's stem.
    """

    path: str
    weight: float = 1.0
    sha256: str = ""
    name: str = ""


@dataclass
class EmbeddingChoice:
    """One textual-inversion embedding for a request: a file (or library name) and, once resolved,
    its sha256 and the token the prompt uses it by (records keep all three)."""

    path: str
    sha256: str = ""
    name: str = ""
    token: str = ""


@dataclass
class ImageParams:
    """One request.  ``seed=None`` means "pick a random one" (then recorded)."""

    prompt: str = ""
    negative_prompt: str = ""
    steps: int = 25
    guidance: float = 7.0
    width: int = 512
    height: int = 512
    seed: int | None = None
    scheduler: str = "Default"
    batch_count: int = 1
    init_image: str = ""  # path of an image for img2img; empty for text-to-image
    strength: float = 0.75
    loras: list[LoraChoice] = field(default_factory=list)  # besides the prompt's <lora:name:w> tags
    lora_tags: bool = True  # read <lora:...> tags from the prompt (a re-run takes the recorded list instead)
    # Textual-inversion embeddings (desktop.core.image.embeddings): besides these, with embedding_auto
    # every known embedding whose token is a word of the prompt or negative prompt, as in A1111.
    embeddings: list[EmbeddingChoice] = field(default_factory=list)
    embedding_auto: bool = True  # a re-run takes the recorded list instead
    # Inpainting (desktop.core.image.inpaint): a mask on the init image, white = repaint.
    mask_image: str = ""
    mask_sha256: str = ""  # when set (a re-run), the mask file must still have these bytes
    mask_blur: int = 4  # feather radius in px of the paste-back blend
    outpaint: list[int] = field(default_factory=list)  # [left, top, right, bottom] px to add; empty: none
    # Hires fix (desktop.core.image.hires): 0 = off, else enlarge by this much and denoise again.
    hires_scale: float = 0.0
    hires_strength: float = 0.5
    hires_method: str = "lanczos"  # latent | bicubic | lanczos

    @property
    def is_img2img(self) -> bool:
        return bool(self.init_image)

    @property
    def is_inpaint(self) -> bool:
        """Inpainting or outpainting (both go through the family's inpainting pipeline)."""
        return bool(self.init_image) and (bool(self.mask_image) or bool(self.outpaint))

    @property
    def is_hires(self) -> bool:
        return bool(self.hires_scale)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ImageParams":
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["loras"] = [LoraChoice(**{k: v for k, v in item.items() if k in LoraChoice.__dataclass_fields__})
                          if isinstance(item, dict) else item for item in known.get("loras") or []]
        known["embeddings"] = [
            EmbeddingChoice(**{k: v for k, v in item.items() if k in EmbeddingChoice.__dataclass_fields__})
            if isinstance(item, dict) else item for item in known.get("embeddings") or []]
        if "mode" in data and "embedding_auto" not in data:
            known["embedding_auto"] = False  # a record made before embeddings existed used none
        return cls(**known)

    def with_seed(self, seed: int) -> "ImageParams":
        return replace(self, seed=seed)


@dataclass(frozen=True)
class FamilyDefaults:
    width: int
    height: int
    steps: int
    guidance: float
    scheduler: str
    max_side: int
    max_recommended_steps: int = MAX_STEPS
    size_multiple: int = SIZE_MULTIPLE


FAMILY_DEFAULTS: dict[str, FamilyDefaults] = {
    SD1: FamilyDefaults(512, 512, 25, 7.0, "DPM++ 2M Karras", 2048),
    SD2: FamilyDefaults(768, 768, 25, 7.0, "DPM++ 2M Karras", 2048),
    SDXL: FamilyDefaults(1024, 1024, 30, 6.0, "DPM++ 2M Karras", 4096),
    SD_TURBO: FamilyDefaults(512, 512, 1, 0.0, "Euler a", 2048, max_recommended_steps=4),
    SDXL_TURBO: FamilyDefaults(512, 512, 1, 0.0, "Euler a", 4096, max_recommended_steps=4),
    # SD 3.5's model cards: 28-40 steps at CFG 4.5-7; FLUX.1-dev 28-50 steps at guidance 3.5;
    # schnell 1-4 steps, guidance unused (0).
    # Both transformers take 2x2 patches of the 8x latents: sides go in steps of 16.
    SD3: FamilyDefaults(1024, 1024, 28, 4.5, "Default", 2048, size_multiple=16),
    FLUX: FamilyDefaults(1024, 1024, 28, 3.5, "Default", 2048, size_multiple=16),
    FLUX_SCHNELL: FamilyDefaults(1024, 1024, 4, 0.0, "Default", 2048, max_recommended_steps=8, size_multiple=16),
}
LCM_DEFAULTS = FamilyDefaults(512, 512, 4, 1.5, "LCM", 2048, max_recommended_steps=8)


def defaults_for(family: str, *, lcm: bool = False) -> FamilyDefaults:
    if lcm:
        base = FAMILY_DEFAULTS.get(family, FAMILY_DEFAULTS[SD1])
        side = 1024 if family in (SDXL, SDXL_TURBO) else 512
        return replace(LCM_DEFAULTS, width=side, height=side, max_side=base.max_side)
    return FAMILY_DEFAULTS.get(family, FAMILY_DEFAULTS[SD1])


def default_params(family: str, *, lcm: bool = False, **overrides: Any) -> ImageParams:
    d = defaults_for(family, lcm=lcm)
    params = ImageParams(steps=d.steps, guidance=d.guidance, width=d.width, height=d.height,
                         scheduler=d.scheduler)
    return replace(params, **overrides)


def random_seed() -> int:
    """A fresh 32-bit seed (the range A1111 and Civitai show)."""
    return secrets.randbelow(2**32)


def _nearest_multiple(value: int, max_side: int, multiple: int = SIZE_MULTIPLE) -> int:
    """The size the Size boxes round a typed value to: half up, so 100 becomes 104."""
    rounded = (value + multiple // 2) // multiple * multiple
    return max(MIN_SIDE, min(max_side - max_side % multiple, rounded))


def _named(sides: list[tuple[str, int]]) -> str:
    return " and ".join(f"{label} {value}" for label, value in sides)


def _check_size(width: Any, height: Any, family: str, max_side: int, multiple: int = SIZE_MULTIPLE) -> None:
    """Refuse a bad size in one message naming every wrong side (Width 100 and Height 70 ...)."""
    sides = [("Width", width), ("Height", height)]
    for label, value in sides:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidParameter(f"{label} must be a whole number of pixels (got {value!r}).")
    outside = [(label, v) for label, v in sides if not MIN_SIDE <= v <= max_side]
    uneven = [(label, v) for label, v in sides if MIN_SIDE <= v <= max_side and v % multiple]
    problems = []
    if outside:
        model = FAMILY_LABELS.get(family, "this model")
        problems.append(f"{_named(outside)} must be between {MIN_SIDE} and {max_side} px for {model}")
    if len(uneven) == 2:
        tries = " × ".join(str(_nearest_multiple(v, max_side, multiple)) for _, v in uneven)
        problems.append(f"{_named(uneven)} must be multiples of {multiple} (try {tries})")
    elif uneven:
        value = uneven[0][1]
        lower = value - value % multiple
        tries = " or ".join(str(v) for v in (lower, lower + multiple) if MIN_SIDE <= v <= max_side)
        problems.append(f"{_named(uneven)} must be a multiple of {multiple} (try {tries})")
    if problems:
        raise InvalidParameter(", and ".join(problems) + ".",
                               f"Sizes go in steps of {multiple} pixels.")


@dataclass
class Validated:
    """The outcome of validation: the params with the seed filled in, and warnings."""

    params: ImageParams
    warnings: list[str] = field(default_factory=list)


def validate_params(params: ImageParams, family: str = SD1, *, lcm: bool = False,
                    known_schedulers: tuple[str, ...] = ()) -> Validated:
    """Check every field; raise InvalidParameter on the first bad one."""
    d = defaults_for(family, lcm=lcm)
    warnings: list[str] = []
    if not isinstance(params.prompt, str) or not params.prompt.strip():
        warnings.append("The prompt is empty: the model will make an unguided image.")
    if family in NO_NEGATIVE_PROMPT and params.negative_prompt.strip():
        warnings.append(f"{FAMILY_LABELS[family]} takes no negative prompt (it is guidance-distilled): "
                        "it was left out.")
    _check_size(params.width, params.height, family, d.max_side, d.size_multiple)
    steps = params.steps
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS:
        raise InvalidParameter(f"Steps must be between 1 and {MAX_STEPS} (got {steps!r}).",
                               f"{d.steps} steps is a good start for this model.")
    if steps > d.max_recommended_steps:
        warnings.append(f"This model is made for at most {d.max_recommended_steps} steps; "
                        f"{steps} steps cost time and may not look better.")
    g = params.guidance
    if isinstance(g, bool) or not isinstance(g, (int, float)) or not math.isfinite(g):
        raise InvalidParameter(f"Guidance scale must be a number (got {g!r}).",
                               f"Use a value between 0 and {MAX_GUIDANCE:g}; {d.guidance:g} suits this model.")
    if not 0 <= g <= MAX_GUIDANCE:
        raise InvalidParameter(f"Guidance scale must be between 0 and {MAX_GUIDANCE:g} (got {g:g}).",
                               f"{d.guidance:g} suits this model.")
    b = params.batch_count
    if isinstance(b, bool) or not isinstance(b, int) or not 1 <= b <= MAX_BATCH:
        raise InvalidParameter(f"Batch count must be between 1 and {MAX_BATCH} (got {b!r}).",
                               "Each image of a batch gets the next seed.")
    seed = params.seed
    if seed is None:
        seed = random_seed()
    elif isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise InvalidParameter(f"Seed must be a whole number from 0 to {MAX_SEED} (got {seed!r}).",
                               "Leave it empty for a random seed.")
    if known_schedulers and params.scheduler not in known_schedulers:
        raise InvalidParameter(f"Scheduler must be one GenLab knows (got {params.scheduler!r}).",
                               "Choose one of: " + ", ".join(known_schedulers) + ".")
    for lora in params.loras:
        w = lora.weight
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not math.isfinite(w) \
                or not -MAX_LORA_WEIGHT <= w <= MAX_LORA_WEIGHT:
            raise InvalidParameter(f"The weight of LoRA {lora.name or Path(lora.path).name} must be a number "
                                   f"from {-MAX_LORA_WEIGHT:g} to {MAX_LORA_WEIGHT:g} (got {w!r}).",
                                   "1 applies it fully, 0.5 half, 0 not at all.")
    if params.init_image:
        s = params.strength
        if isinstance(s, bool) or not isinstance(s, (int, float)) or not math.isfinite(s) or not 0 < s <= 1:
            raise InvalidParameter(f"Strength must be above 0 and at most 1 (got {s!r}).",
                                   "0.3 keeps most of the init image, 0.8 changes most of it.")
        if int(steps * s) < 1:
            raise InvalidParameter(
                f"Steps {steps} at Strength {s:g} leave no denoising step to run.",
                f"Use at least {math.ceil(1 / s)} steps or a higher strength.")
        if not Path(params.init_image).is_file():
            raise InvalidParameter(f"Init image {params.init_image} does not exist.",
                                   "Pick an existing image file.")
    from desktop.core.image.inpaint import check_inpaint_and_hires  # it imports this module

    params, notes = check_inpaint_and_hires(params, family, d.size_multiple, d.max_side)
    warnings += notes
    return Validated(replace(params, seed=seed), warnings)
