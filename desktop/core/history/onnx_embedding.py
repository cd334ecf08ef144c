"""The int8 ONNX form of a sentence-transformers model: made locally once, then run with onnxruntime.

About 3x the texts/s of the fp32 torch model on two CPU cores, with cosine
agreement ~0.99 (see ``python -m bench embedder``).  The export reads the
model's own safetensors weights (never a downloaded graph), wraps the
transformer with the model's pooling (mean over real tokens, then L2
normalisation, as its ``modules.json`` / ``1_Pooling`` say) so the graph
outputs the sentence vector, fuses BERT's attention for onnxruntime and
quantizes the weights to int8 per channel (per-tensor int8 lost too much on
CPUs without VNNI: median cosine 0.95).

The file is cached under ``<data root>/cache/embedders`` keyed by the weights'
sha256, written to a temporary name and renamed only once it loads and agrees
with torch, so a crash mid-export leaves no half file under the real name.
A frozen bundle may ship the same file in ``resources/embedders``.

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
MIN_AGREEMENT = 0.97  # cosine to torch on the check sentences, below which an export is refused


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


def export_int8(folder: Path, dest: Path) -> None:
    """Write the int8 graph of ``folder`` to ``dest`` atomically (raises on any failure)."""
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
        _check_agreement(int8, folder, bert)
        with open(int8, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(int8, dest)


def _remove_tree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def _check_agreement(graph: Path, folder: Path, bert: Any) -> None:
    import numpy as np
    import torch

    texts = ["a cat sleeps on the sofa", "Act as a Linux terminal and reply only with the output of my commands."]
    runner = OnnxEmbedding(graph, folder, threads=1)
    got = runner.encode(texts)
    tok = runner.tokenizer
    with torch.no_grad():
        want = [_Pooled(bert)(*(torch.tensor([v]) for v in _inputs(tok.encode(t))))[0].numpy() for t in texts]
    agreement = float(min(np.dot(g, w) for g, w in zip(got, want)))
    if agreement < MIN_AGREEMENT:
        raise ValueError(f"the int8 export agrees with the model only to cosine {agreement:.3f}")


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

        return Pooled()


def default_threads() -> int:
    # Spinning is off (below), so a second thread costs nothing when the cores are busy.
    return max(1, min(4, os.cpu_count() or 1))


class OnnxEmbedding:
    """An onnxruntime session over the int8 graph, with the model's fast tokenizer."""

    def __init__(self, graph: Path, folder: Path, threads: int | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or default_threads()
        options.inter_op_num_threads = 1
        # Spinning worker threads made single queries slow on a busy 2-core machine (as torch's did).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_seq_length(folder))  # the model's limit, not tokenizer.json's
        self.tokenizer.no_padding()

    def encode(self, texts: list[str], batch_size: int = BATCH):
        """Unit-length float32 vectors, batched by token length so little padding is computed."""
        import numpy as np

        encodings = self.tokenizer.encode_batch(list(texts))
        out = None
        order = sorted(range(len(encodings)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), batch_size):
            picked = order[start:start + batch_size]
            width = max(len(encodings[i].ids) for i in picked)
            ids = np.zeros((len(picked), width), dtype=np.int64)
            mask = np.zeros_like(ids)
            for row, i in enumerate(picked):
                n = len(encodings[i].ids)
                ids[row, :n], mask[row, :n] = encodings[i].ids, 1
            vectors = self.session.run(None, {"input_ids": ids, "attention_mask": mask,
                                              "token_type_ids": np.zeros_like(ids)})[0]
            if out is None:
                out = np.zeros((len(encodings), vectors.shape[1]), dtype=np.float32)
            out[picked] = vectors
        return out if out is not None else np.zeros((0, 384), dtype=np.float32)
