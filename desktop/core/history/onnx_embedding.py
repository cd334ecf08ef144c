"""The int8 ONNX form of a sentence-transformers model: made locally once, then run with onnxruntime.

The export reads the model's own safetensors weights (never a downloaded
graph), wraps the transformer with the model's pooling (mean over real tokens,
then L2 normalisation, as its ``modules.json`` / ``1_Pooling`` say) so the
graph outputs the sentence vector, fuses BERT's attention for onnxruntime and
quantizes the weights to int8 per channel (per-tensor int8 lost too much on
CPUs without VNNI: median cosine 0.95).  Figures: ``python -m bench knowledge``
(texts/s of both backends in one run) and bench/README.md.

Before a graph is kept it must agree with the torch model on CHECK_TEXTS
(lowest cosine MIN_AGREEMENT, mean MIN_MEAN_AGREEMENT); the torch vectors are
stamped into the graph's metadata, so every later load repeats the check
without torch (:func:`load_checked`) and a damaged file is exported again.

The file is cached under ``<data root>/cache/embedders`` keyed by the weights'
sha256, written to a temporary name and renamed only once it agrees with
torch, so a crash mid-export leaves no half file under the real name.  A
frozen bundle may ship the same file in ``resources/embedders``.

Only models this module can reproduce exactly are exported: a Transformer,
mean Pooling and Normalize, nothing else (``supported`` says why not).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from desktop.core import paths

log = logging.getLogger(__name__)

FORMAT = "int8-v1"  # bump when the export recipe changes: old cache files are then ignored
BATCH = 32
MIN_AGREEMENT = 0.97  # lowest cosine to torch on CHECK_TEXTS, below which an export is refused
MIN_MEAN_AGREEMENT = 0.985  # ... and their mean
# Short and long, prose, a command, code and a list; the last one runs into the truncation.
CHECK_TEXTS = [
    "a cat sleeps on the sofa",
    "Act as a Linux terminal and reply only with the output of my commands.",
    "tax law reform",
    "def load(path):\n    with open(path, encoding='utf-8') as fh:\n        return json.load(fh)",
    "Chunks and their embeddings live in LanceDB tables beside the history, with the same hybrid search "
    "(full-text and vector). Deleting a collection removes its chunks leaving no trace on disk.",
    "- install the package\n- run the tests\n- open an issue when something fails",
    " ".join(["A lighthouse keeper writes down every ship that passes in a storm."] * 30),  # over 256 tokens
]


def supported(folder: Path) -> str | None:
    """None when ``folder`` can be exported exactly, else why not."""
    try:
        modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
        kinds = [str(m.get("type", "")).rsplit(".", 1)[-1] for m in modules]
        pooling = json.loads((folder / modules[1]["path"] / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, IndexError, TypeError, AttributeError):
        return "its modules.json or pooling config is unreadable"
    if kinds != ["Transformer", "Pooling", "Normalize"]:
        return f"its modules are {kinds}, not Transformer, Pooling, Normalize"
    modes = [k for k, v in pooling.items() if k.startswith("pooling_mode") and v]
    if modes != ["pooling_mode_mean_tokens"]:
        return f"its pooling is {modes}, not mean tokens"
    if not (folder / "tokenizer.json").is_file():
        return "it has no tokenizer.json"
    return None


def cache_path(sha256: str) -> Path:
    return paths.data_root() / "cache" / "embedders" / f"{sha256[:32]}-{FORMAT}.onnx"


def bundled_path(sha256: str) -> Path:
    return paths.resource_path("embedders", f"{sha256[:32]}-{FORMAT}.onnx")


def max_seq_length(folder: Path) -> int:
    try:
        return int(json.loads((folder / "sentence_bert_config.json").read_text(encoding="utf-8"))["max_seq_length"])
    except (OSError, ValueError, KeyError, TypeError):
        return 256


def export_int8(folder: Path, dest: Path) -> float:
    """Write the int8 graph of ``folder`` to ``dest`` atomically; returns its agreement with torch
    (raises on any failure, leaving ``dest`` as it was)."""
    import tempfile

    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel

    dest.parent.mkdir(parents=True, exist_ok=True)
    for stale in dest.parent.glob(".export-*"):  # left by an export that crashed
        _remove_tree(stale)
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    bert = AutoModel.from_pretrained(str(folder), attn_implementation="eager", local_files_only=True).eval()
    with tempfile.TemporaryDirectory(prefix=".export-", dir=dest.parent) as tmp:
        fp32, fused, int8 = (Path(tmp) / n for n in ("fp32.onnx", "fused.onnx", "int8.onnx"))
        ids = torch.ones(2, 8, dtype=torch.long)
        names = ["input_ids", "attention_mask", "token_type_ids"]
        with torch.no_grad():
            torch.onnx.export(_Pooled(bert), (ids, ids, torch.zeros_like(ids)), str(fp32), input_names=names,
                              output_names=["sentence_embedding"], opset_version=17, dynamo=False,
                              dynamic_axes={**{n: {0: "batch", 1: "tokens"} for n in names},
                                            "sentence_embedding": {0: "batch"}})
        source = fp32
        if config.get("model_type") == "bert":
            from onnxruntime.transformers import optimizer

            optimizer.optimize_model(str(fp32), model_type="bert", num_heads=int(config["num_attention_heads"]),
                                     hidden_size=int(config["hidden_size"]), opt_level=1).save_model_to_file(str(fused))
            source = fused
        quantize_dynamic(str(source), str(int8), weight_type=QuantType.QInt8, per_channel=True,
                         extra_options={"DefaultTensorType": 1})  # 1: float, for the fused ops' outputs
        reference = _torch_vectors(bert, _tokenizer(folder))
        lowest = agreement(OnnxEmbedding(int8, folder, threads=1), reference)
        _stamp(int8, reference)
        with open(int8, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(int8, dest)
    return lowest


def load_checked(graph: Path, folder: Path, threads: int | None = None) -> OnnxEmbedding:
    """The runner of ``graph`` once its vectors of CHECK_TEXTS agree with the torch vectors stamped into it
    at export (raises on an unreadable file, a missing stamp or too low an agreement).  Costs one batch
    of CHECK_TEXTS, not torch: a cache file damaged on disk, or one whose int8 kernels behave differently
    on this CPU, is caught before any vector of it is stored."""
    import numpy as np

    runner = OnnxEmbedding(graph, folder, threads)
    meta = runner.session.get_modelmeta().custom_metadata_map
    if meta.get("genlab_format") != FORMAT or "genlab_reference" not in meta:
        raise ValueError(f"{graph.name} has no {FORMAT} check vectors")
    reference = np.asarray(json.loads(meta["genlab_reference"]), dtype=np.float32)
    agreement(runner, reference)
    return runner


def agreement(runner: OnnxEmbedding, reference: Any) -> float:
    """The lowest cosine between ``runner``'s vectors of CHECK_TEXTS and ``reference`` (the torch model's);
    raises ValueError below MIN_AGREEMENT, or when the mean is below MIN_MEAN_AGREEMENT."""
    got = runner.encode(CHECK_TEXTS)
    if got.shape != reference.shape:
        raise ValueError(f"the int8 graph gives vectors of shape {got.shape}, not {reference.shape}")
    cosines = (got * reference).sum(axis=1)
    lowest, mean = float(cosines.min()), float(cosines.mean())
    if not (lowest >= MIN_AGREEMENT and mean >= MIN_MEAN_AGREEMENT):  # (also refuses NaN)
        raise ValueError(f"the int8 graph agrees with the model only to cosine {lowest:.3f} (mean {mean:.3f}; "
                         f"at least {MIN_AGREEMENT} and a mean of {MIN_MEAN_AGREEMENT} are needed)")
    return lowest


def _torch_vectors(bert: Any, tokenizer: Any) -> Any:
    """The torch model's unit vectors of CHECK_TEXTS, one text at a time (no padding)."""
    import numpy as np
    import torch

    bert.eval()
    pooled = _Pooled(bert)
    with torch.inference_mode():
        return np.stack([pooled(*(torch.tensor([v]) for v in _inputs(tokenizer.encode(t))))[0].numpy()
                         for t in CHECK_TEXTS]).astype(np.float32)


def _stamp(graph: Path, reference: Any) -> None:
    """Write the recipe and the torch vectors of CHECK_TEXTS into ``graph``'s metadata (see load_checked)."""
    import onnx

    model = onnx.load(str(graph))
    for key, value in (("genlab_format", FORMAT),
                       ("genlab_reference", json.dumps([[round(float(x), 6) for x in v] for v in reference]))):
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(graph))


def _remove_tree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)




def _inputs(encoding: Any) -> tuple[list[int], list[int], list[int]]:
    return encoding.ids, encoding.attention_mask, [0] * len(encoding.ids)


class _Pooled:
    """The transformer followed by mean pooling and L2 normalisation, as one torch module."""

    def __new__(cls, bert: Any) -> Any:
        import torch

        class Pooled(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.bert = bert

            def forward(self, input_ids, attention_mask, token_type_ids):
                hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                                   token_type_ids=token_type_ids).last_hidden_state
                mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
                mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                return torch.nn.functional.normalize(mean, p=2, dim=1)

        # Built in eval mode: torch.onnx.export puts the module back in the mode it found it in, and a
        # module left in training mode (nn.Module's default) would switch the BERT's dropout on for the
        # agreement check after the export (measured: cosine 0.916 to the model instead of 0.99).
        return Pooled().eval()


def _tokenizer(folder: Path) -> Any:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.enable_truncation(max_seq_length(folder))  # the model's limit, not tokenizer.json's
    tokenizer.no_padding()
    return tokenizer


def default_threads() -> int:
    # Spinning is off (below), so a second thread costs nothing when the cores are busy.
    return max(1, min(4, os.cpu_count() or 1))


class OnnxEmbedding:
    """An onnxruntime session over the int8 graph, with the model's fast tokenizer."""

    def __init__(self, graph: Path, folder: Path, threads: int | None = None) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or default_threads()
        options.inter_op_num_threads = 1
        # Spinning worker threads made single queries slow on a busy 2-core machine (as torch's did).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
        self.tokenizer = _tokenizer(folder)

    def encode(self, texts: list[str], batch_size: int = BATCH):
        """Unit-length float32 vectors, one text per run (``batch_size`` is accepted for the fp32 path's sake).

        Dynamic int8 quantization scales each activation by the range of the whole input tensor: in a
        batch, a text's vector would depend on its batch mates, padding included (cosine 0.99 between
        a text alone and in a batch of 32, as far off as int8 is from fp32).  One text per run gives
        every text one vector, computes no padding, and measured no slower on two cores.
        """
        import numpy as np

        vectors = []
        for encoding in self.tokenizer.encode_batch(list(texts)):
            ids = np.asarray([encoding.ids], dtype=np.int64)
            vectors.append(self.session.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids),
                                                   "token_type_ids": np.zeros_like(ids)})[0][0])
        return np.stack(vectors).astype(np.float32) if vectors else np.zeros((0, 384), dtype=np.float32)
