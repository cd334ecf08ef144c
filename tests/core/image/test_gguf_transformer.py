"""A FLUX.1 folder whose transformer is one GGUF file (diffusers' GGUF loading, the config from the folder):
F32 gives the original folder's pixels, Q8_0 nearly them; the record and the library say GGUF Q8_0; a GGUF
that is no FLUX transformer, or a damaged one, is refused naming the file."""

from __future__ import annotations

import numpy as np
import pytest

from desktop.core.errors import ModelFileError
from desktop.core.image.engine import ImageRequest
from desktop.core.image.model_files import inspect_model
from desktop.core.image.params import ImageParams
from desktop.core.models.library import Library
from desktop.core.records import ListSink
from desktop.core.tiny_models.flow import build_tiny_flux_pipeline
from desktop.core.tiny_models.gguf_transformer import gguf_transformer_folder

pytestmark = [pytest.mark.usefixtures("one_torch_thread"), pytest.mark.slow]


@pytest.fixture(scope="module")
def flux(tmp_path_factory):
    root = tmp_path_factory.mktemp("flux-gguf")
    original = build_tiny_flux_pipeline(root / "tiny-flux")
    return {"original": original,
            "f32": gguf_transformer_folder(original, root / "tiny-flux-f32", quant="F32"),
            "q8": gguf_transformer_folder(original, root / "tiny-flux-q8", quant="Q8_0")}


def params(**kw) -> ImageParams:
    base = dict(prompt="a red lighthouse", steps=2, guidance=3.5, width=64, height=64, seed=5, scheduler="Default")
    base.update(kw)
    return ImageParams(**base)


def pixels(engine, model, sink=None) -> np.ndarray:
    [image] = engine.generate(ImageRequest(str(model), params(), previews=False),
                              sink=sink if sink is not None else ListSink()).images
    return np.asarray(image.image).astype(int)


def test_the_gguf_transformer_makes_the_original_folders_image(engine, flux):
    original = pixels(engine, flux["original"])
    assert np.array_equal(pixels(engine, flux["f32"]), original)  # exact weights, exact pixels
    sink = ListSink()
    quantized = pixels(engine, flux["q8"], sink)
    assert np.abs(quantized - original).max() <= 8  # 8-bit weights: the image barely moves
    assert np.array_equal(pixels(engine, flux["q8"]), quantized)  # same seed, same image
    [record] = sink.records
    assert record.model.quantization == "GGUF Q8_0"
    assert "transformer/diffusion_pytorch_model-Q8_0.gguf" in record.model.files
    assert "transformer GGUF Q8_0" in engine.loaded.describe()
    assert type(engine.loaded.pipe.transformer.transformer_blocks[0].attn.to_q.weight).__name__ == "GGUFParameter"


@pytest.mark.parametrize("quant", ["Q4_0", "Q5_1"])
def test_a_4_or_5_bit_gguf_transformer_runs_on_the_files_own_weights(engine, flux, tmp_path, quant):
    """The 4- and 5-bit block types of published FLUX GGUFs: each weight the model computes with is the
    file's block dequantized (by the gguf package, not diffusers), near the original weight."""
    import gguf
    import torch
    from diffusers.quantizers.gguf.utils import dequantize_gguf_tensor
    from safetensors.torch import load_file

    folder = gguf_transformer_folder(flux["original"], tmp_path / f"tiny-flux-{quant.lower()}", quant=quant)
    sink = ListSink()
    image = pixels(engine, folder, sink)
    assert np.array_equal(pixels(engine, folder), image)  # same seed, same image
    assert sink.records[0].model.quantization == f"GGUF {quant}"
    weight = engine.loaded.pipe.transformer.transformer_blocks[0].attn.to_q.weight
    assert weight.quant_type == gguf.GGMLQuantizationType[quant]
    [path] = (folder / "transformer").glob("*.gguf")
    stored = next(t for t in gguf.GGUFReader(str(path)).tensors if t.name == "transformer_blocks.0.attn.to_q.weight")
    expected = torch.from_numpy(gguf.quants.dequantize(stored.data, stored.tensor_type).copy())
    used = dequantize_gguf_tensor(weight).float().reshape(expected.shape)
    [original] = [load_file(str(f)) for f in sorted((flux["original"] / "transformer").glob("*.safetensors"))]
    reference = original["transformer_blocks.0.attn.to_q.weight"].float()
    error = (used - reference).abs().max().item()
    assert 0 < error <= reference.abs().max().item() / 4  # lossy, within a 4-bit step of the block's range
    # diffusers multiplies in half precision; its rounding is far below the quantization's own error
    assert (used - expected.float()).abs().max().item() < error / 20


def test_the_library_lists_the_folder_with_its_gguf(flux):
    model = Library().import_path(flux["q8"], "link")
    assert (model.kind, model.family, model.quantization) == ("image", "Flux", "GGUF Q8_0")


def test_a_gguf_that_is_no_flux_transformer_or_is_damaged_is_refused(flux, tiny_gguf, tmp_path):
    import shutil

    llama = tmp_path / "llama-as-transformer"
    shutil.copytree(flux["q8"], llama)
    gguf = next((llama / "transformer").glob("*.gguf"))
    gguf.write_bytes(tiny_gguf.read_bytes())
    with pytest.raises(ModelFileError, match=r"is not a FLUX.1 transformer \(llama\): it holds"):
        inspect_model(llama)
    gguf.write_bytes(next((flux["q8"] / "transformer").glob("*.gguf")).read_bytes()[:-100])
    with pytest.raises(ModelFileError, match="truncated"):
        inspect_model(llama)
    (llama / "transformer" / "second.gguf").write_bytes(b"GGUF")
    with pytest.raises(ModelFileError, match="holds 2 GGUF files"):
        inspect_model(llama)


def test_an_sd3_folder_takes_a_gguf_transformer_too(engine, tmp_path):
    from desktop.core.tiny_models.flow import build_tiny_sd3_pipeline

    original = build_tiny_sd3_pipeline(tmp_path / "tiny-sd3")
    f32 = gguf_transformer_folder(original, tmp_path / "tiny-sd3-f32", quant="F32")
    assert np.array_equal(pixels(engine, f32), pixels(engine, original))
    q8 = gguf_transformer_folder(original, tmp_path / "tiny-sd3-q8", quant="Q8_0")
    assert inspect_model(q8).transformer_gguf == "transformer/diffusion_pytorch_model-Q8_0.gguf"
    assert np.abs(pixels(engine, q8) - pixels(engine, original)).max() <= 8
    # A FLUX transformer GGUF in an SD 3 folder is refused.
    flux = build_tiny_flux_pipeline(tmp_path / "tiny-flux")
    wrong = next((gguf_transformer_folder(flux, tmp_path / "flux-q8") / "transformer").glob("*.gguf"))
    [own] = (q8 / "transformer").glob("*.gguf")
    own.write_bytes(wrong.read_bytes())
    with pytest.raises(ModelFileError, match="is not a Stable Diffusion 3.x transformer"):
        inspect_model(q8)


@pytest.mark.parametrize("names", [
    ["double_blocks.0.img_attn.qkv.weight", "single_blocks.0.linear1.weight", "img_in.weight"],  # city96's, BFL
    ["transformer_blocks.0.attn.to_q.weight", "single_transformer_blocks.0.proj_mlp.weight"],  # diffusers'
])
def test_published_flux_gguf_tensor_names_are_a_flux_transformer(flux, tmp_path, names):
    import shutil

    import gguf

    folder = tmp_path / "published"
    shutil.copytree(flux["q8"], folder)
    [path] = (folder / "transformer").glob("*.gguf")
    writer = gguf.GGUFWriter(str(path), arch="flux")
    for name in names:
        writer.add_tensor(name, np.zeros((4, 32), dtype=np.float16))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    info = inspect_model(folder)
    assert (info.family, info.quantization) == ("flux", "GGUF F16")
