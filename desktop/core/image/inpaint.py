"""Inpainting and outpainting: what the family's inpainting pipeline is given, and the checks.

Both go through the inpainting pipeline diffusers has for the family
(``AutoPipelineForInpainting.from_pipe``: StableDiffusionInpaintPipeline,
StableDiffusionXLInpaintPipeline, StableDiffusion3InpaintPipeline,
FluxInpaintPipeline), built from the loaded pipeline's components, so nothing
is loaded again.  With an inpainting checkpoint (a UNet taking 9 input
channels: latents, mask, masked image) the pipeline feeds it the mask; with an
ordinary model it does masked img2img (the kept area's latents are put back
after each step).

:func:`prepare_inpaint` turns the request into :class:`InpaintInputs`: the
image the pipeline starts from (the outpainting canvas), the repaint mask, and
the feathered mask through which the original pixels are pasted back after
decoding (:func:`desktop.core.image.masks.paste_back`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from desktop.core.errors import InvalidParameter
from desktop.core.image.hires import check_hires
from desktop.core.image.masks import MAX_FEATHER, Mask, feather, read_mask
from desktop.core.image.outpaint import check_pads, outpaint_canvas
from desktop.core.image.params import FLOW_FAMILIES, ImageParams

INPAINT, OUTPAINT = "inpaint", "outpaint"
CHECKPOINT, MASKED_IMG2IMG = "inpainting checkpoint", "masked img2img"
INPAINT_UNET_CHANNELS = 9  # latents 4 + mask 1 + masked-image latents 4


@dataclass
class InpaintInputs:
    kind: str  # INPAINT | OUTPAINT
    image: Any  # PIL RGB the pipeline starts from (for outpainting: the extended canvas)
    mask: Any  # PIL L, white = repaint (the pipeline binarizes it at 128)
    feathered: Any  # PIL L, the paste-back blend
    pads: tuple[int, int, int, int] | None = None  # outpainting only
    notes: list[str] = field(default_factory=list)

    @property
    def size(self) -> tuple[int, int]:
        return self.image.size


def check_inpaint_and_hires(params: ImageParams, family: str, multiple: int,
                            max_side: int) -> tuple[ImageParams, list[str]]:
    """Refuse bad mask, outpaint and hires settings; returns params with the outpaint pads rounded
    to ``multiple`` and a note when that changed them."""
    notes: list[str] = []
    blur = params.mask_blur
    if isinstance(blur, bool) or not isinstance(blur, int) or not 0 <= blur <= MAX_FEATHER:
        raise InvalidParameter(f"Mask feather must be a whole number of pixels from 0 to {MAX_FEATHER} "
                               f"(got {blur!r}).", "4-8 px hides the seam; 0 keeps a hard edge.")
    if params.mask_image and not params.init_image:
        raise InvalidParameter("A mask needs the image it applies to: give an init image too (--init).",
                               "White in the mask = repaint, black = keep.")
    if params.outpaint and not params.init_image:
        raise InvalidParameter("Outpainting extends an image: give the init image too (--init).")
    if params.mask_image and params.outpaint:
        raise InvalidParameter("Choose a mask or outpainting, not both: outpainting makes its own mask.",
                               "Outpaint first, then inpaint the result with a mask.")
    if params.outpaint:
        pads = check_pads(params.outpaint, params.width, params.height, multiple, max_side)
        if list(pads) != list(params.outpaint):
            notes.append(f"Outpaint {','.join(map(str, params.outpaint))} was rounded to "
                         f"{','.join(map(str, pads))} (sides go in steps of {multiple} px for this model).")
        params = replace(params, outpaint=list(pads))
    if params.is_hires:
        if params.is_inpaint:
            raise InvalidParameter("Hires fix applies to text-to-image and image-to-image, not to inpainting.",
                                   "Inpaint at the size you want, or make the hires image first.")
        plan = check_hires(params.hires_scale, params.hires_strength, params.hires_method,
                           width=params.width, height=params.height, multiple=multiple, max_side=max_side,
                           latent_ok=family not in FLOW_FAMILIES)
        if int(params.steps * plan.strength) < 1:
            raise InvalidParameter(f"Steps {params.steps} at Hires strength {plan.strength:g} leave no "
                                   "denoising step for the hires pass.", "Use more steps or a higher strength.")
    return params, notes


def prepare_inpaint(params: ImageParams, init: Any, *, seed: int) -> InpaintInputs:
    """The pipeline's inputs for an inpaint (``params.mask_image``) or outpaint (``params.outpaint``).

    ``init`` is the init image at the request's width and height.  Raises
    InvalidParameter for a mask that cannot be read or marks nothing.
    """
    if params.outpaint:
        left, top, right, bottom = (int(v) for v in params.outpaint)
        canvas = outpaint_canvas(init, (left, top, right, bottom), seed=seed, overlap=max(8, params.mask_blur))
        return InpaintInputs(OUTPAINT, canvas.image, canvas.mask, feather(canvas.mask, params.mask_blur),
                             canvas.pads, canvas.notes)
    mask: Mask = read_mask(params.mask_image, init.size)
    return InpaintInputs(INPAINT, init, mask.image, feather(mask.image, params.mask_blur), None, mask.notes)


def inpaint_method(pipe: Any) -> str:
    """CHECKPOINT when the UNet takes the mask as input channels, else MASKED_IMG2IMG."""
    unet = getattr(pipe, "unet", None)
    if unet is not None and unet.config.in_channels == INPAINT_UNET_CHANNELS:
        return CHECKPOINT
    return MASKED_IMG2IMG


def is_inpainting_checkpoint(pipe: Any) -> bool:
    return inpaint_method(pipe) == CHECKPOINT
