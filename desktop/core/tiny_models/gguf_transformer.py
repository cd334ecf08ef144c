"""A tiny FLUX / SD 3 pipeline folder whose transformer is one GGUF file, written with the ``gguf`` package.

:func:`gguf_transformer_folder` copies a tiny pipeline folder (see
:mod:`desktop.core.tiny_models.flow`) without its transformer's safetensors
and writes the same weights as ``transformer/<name>.gguf``: ``"Q8_0"``
quantizes every matrix whose rows split into Q8_0's 32-value blocks
(``gguf.quants``), the rest stay F32 as in published FLUX GGUFs; ``"Q5_1"``,
``"Q5_0"``, ``"Q4_1"`` and ``"Q4_0"`` do the same with those block types
(published FLUX GGUFs come in all of them; the K-quants such as Q4_K need
256-value rows and ``gguf.quants`` cannot write them, so none is built); ``"F16"``
stores every matrix as F16; ``"F32"`` keeps the exact weights, so its images
equal the original folder's.  Tensor names are diffusers' own: diffusers
maps the original (BFL) names of published files only at the real model
widths.
"""

from __future__ import annotations

import shutil
from pathlib import Path

BLOCK_QUANTS = ("Q8_0", "Q5_1", "Q5_0", "Q4_1", "Q4_0")
QUANTS = (*BLOCK_QUANTS, "F16", "F32")


def gguf_transformer_folder(pipeline: Path, dest: Path, *, quant: str = "Q8_0") -> Path:
    """A copy of the diffusers folder ``pipeline`` at ``dest`` with its transformer as a ``quant`` GGUF."""
    import gguf
    import numpy as np
    from safetensors.numpy import load_file

    if quant not in QUANTS:
        raise ValueError(f"unknown GGUF type {quant!r}; one of {', '.join(QUANTS)}")
    pipeline, dest = Path(pipeline), Path(dest)
    shutil.copytree(pipeline, dest, ignore=lambda folder, names: [n for n in names if n.endswith(".safetensors")]
                    if Path(folder).name == "transformer" else [])
    tensors: dict[str, np.ndarray] = {}
    for weights in sorted((pipeline / "transformer").glob("*.safetensors")):
        tensors.update(load_file(str(weights)))
    arch = "flux" if "Flux" in (pipeline / "model_index.json").read_text(encoding="utf-8") else "sd3"
    path = dest / "transformer" / f"diffusion_pytorch_model-{quant}.gguf"
    writer = gguf.GGUFWriter(str(path), arch=arch)
    qtype = gguf.GGMLQuantizationType[quant] if quant in BLOCK_QUANTS else None
    block = gguf.GGML_QUANT_SIZES[qtype][0] if qtype is not None else 0
    for name, value in tensors.items():
        data = value.astype(np.float32)
        if qtype is not None and data.ndim == 2 and data.shape[-1] % block == 0:
            writer.add_tensor(name, gguf.quants.quantize(data, qtype), raw_dtype=qtype)
        elif quant == "F16" and data.ndim == 2:
            writer.add_tensor(name, data.astype(np.float16))
        else:
            writer.add_tensor(name, data)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return dest
