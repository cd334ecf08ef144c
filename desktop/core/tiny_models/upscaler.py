"""Tiny random-weight upscalers built with spandrel's own architecture classes.

:func:`build_tiny_esrgan` makes an ESRGAN (RRDBNet, the Real-ESRGAN
architecture) with few filters and one block, so it runs in a fraction of a
second on a CPU, and saves its state dict as ``.safetensors`` or ``.pth``
(plain tensors, which ``torch.load(weights_only=True)`` reads).  The tests
and ``python -m bench image`` load it back through GenLab's loader, which
detects the architecture and scale from the tensors as for a real
Real-ESRGAN file.
"""

from __future__ import annotations

from pathlib import Path


def build_tiny_esrgan(dest: Path, *, scale: int = 4, filters: int = 8, blocks: int = 1, seed: int = 0) -> Path:
    import torch
    from spandrel.architectures.ESRGAN import ESRGAN

    torch.manual_seed(seed)
    model = ESRGAN(in_nc=3, out_nc=3, num_filters=filters, num_blocks=blocks, scale=scale)
    state = {key: value.detach().contiguous() for key, value in model.state_dict().items()}
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.suffix.lower() == ".safetensors":
        from safetensors.torch import save_file

        save_file(state, str(dest))
    else:
        torch.save(state, str(dest))
    return dest
