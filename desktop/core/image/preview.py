"""Cheap live previews from latents.

A full VAE decode per step would cost as much as a denoising step; instead
the 4 latent channels are mixed linearly into RGB with the factors the
community fitted for SD 1.x/2.x and SDXL latents (as in ComfyUI and A1111's
"Approx NN/cheap" previews).  The result has the latent's resolution (1/8
of the image), which the UI scales up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# rows: latent channels 0..3; columns: R, G, B
SD_FACTORS = ((0.3512, 0.2297, 0.3227),
              (0.3250, 0.4974, 0.2350),
              (-0.2829, 0.1762, 0.2721),
              (-0.2120, -0.2616, -0.7177))
SD_BIAS = (0.0, 0.0, 0.0)
SDXL_FACTORS = ((0.3651, 0.4232, 0.4341),
                (-0.2533, -0.0042, 0.1068),
                (0.1076, 0.1111, -0.0362),
                (-0.3165, -0.2492, -0.2188))
SDXL_BIAS = (0.1084, -0.0175, -0.0011)


@dataclass
class StepPreview:
    """The progress payload of one denoising step.

    ``rgb`` is a contiguous ``uint8`` numpy array of shape (h, w, 3) at latent
    resolution; ``image_index`` counts images within the batch.
    """

    step: int
    total: int
    image_index: int
    batch_count: int
    rgb: Any
    eta_seconds: float | None = None

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])


class LatentPreviewer:
    """Turns a latent batch into an RGB array; keeps its factor tensor per device/dtype."""

    def __init__(self, xl: bool) -> None:
        self._factors_rows = SDXL_FACTORS if xl else SD_FACTORS
        self._bias_values = SDXL_BIAS if xl else SD_BIAS
        self._cache: dict[tuple[Any, Any], tuple[Any, Any]] = {}

    def _tensors(self, latents: Any) -> tuple[Any, Any]:
        import torch

        key = (latents.device, latents.dtype)
        if key not in self._cache:
            factors = torch.tensor(self._factors_rows, dtype=latents.dtype, device=latents.device)
            bias = torch.tensor(self._bias_values, dtype=latents.dtype, device=latents.device)
            self._cache[key] = (factors, bias)
        return self._cache[key]

    def rgb(self, latents: Any) -> Any:
        """uint8 (h, w, 3) numpy array of the first latent in the batch."""
        import torch

        with torch.no_grad():
            latent = latents[0, :4]
            factors, bias = self._tensors(latent)
            image = torch.matmul(latent.permute(1, 2, 0), factors) + bias  # (h, w, 4) @ (4, 3)
            image = ((image + 1.0) * 127.5).clamp(0, 255).to(torch.uint8)
            return image.cpu().numpy()
