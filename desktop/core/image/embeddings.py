"""Textual-inversion embeddings: which a request uses, their base family, loading them.

An embedding is a few learned vectors for the text encoder that stand for a
token written in the prompt.  Only ``.safetensors`` files are read (A1111's
``.pt`` embeddings are pickles: refused), in the four layouts
:func:`desktop.core.models.scan.embedding_layout` knows.

The token is the file name without ``.safetensors``, as in A1111 (write
``EasyNegative`` to use ``EasyNegative.safetensors``), or a diffusers-format
file's own placeholder (``<cat-toy>``), which is what its trainer wrote in
prompts.  Tokens match whole words, in any case, as in A1111: CLIP's
tokenizer lower-cases the prompt, so each embedding is loaded under its
token in lower case and the prompt the pipeline gets has it written so
(:func:`prompt_for_model`); diffusers then finds it and expands it to all
its vectors.  Records keep the prompt as it was written.

A request uses the embeddings named in ``ImageParams.embeddings`` (the CLI's
``--embedding``, a re-run's recorded list) and, with ``embedding_auto``,
every embedding in the library or in ``<models dir>/embeddings`` whose token
is a word of the prompt or the negative prompt: A1111 users never choose an
embedding any other way, they write its name.  A chosen embedding of another
family is refused naming both; a found one is left out with a warning, as
A1111 skips them (one name often has an SD 1.x and an SDXL version).

The base family comes from the vectors' width: 768 SD 1.x, 1024 SD 2.x,
``clip_l`` + ``clip_g`` SDXL; other widths (the tiny test models) are
checked against the loaded text encoder.  :class:`EmbeddingSlots` loads them
with diffusers' ``load_textual_inversion`` (each SDXL half into its own
encoder) and unloads them all when the set changes, so a prompt with no
embedding meets the bare text encoder, and a re-run loads the same bytes.
"""

from __future__ import annotations

import logging
import re
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Sequence

from desktop.core.errors import InvalidParameter, ModelFileError
from desktop.core.image.lora import FAMILY_GROUP, family_label, recorded_file
from desktop.core.image.params import FLOW_FAMILIES, SD1, SD2, SDXL, EmbeddingChoice, ImageParams
from desktop.core.models.headers import read_safetensors_header, refuse_pickle
from desktop.core.models.scan import EmbeddingLayout, embedding_layout

if TYPE_CHECKING:
    from desktop.core.models.library import Library

log = logging.getLogger(__name__)

WIDTH_FAMILY = {768: SD1, 1024: SD2}  # CLIP ViT-L/14 (SD 1.x), OpenCLIP ViT-H/14 (SD 2.x)
SDXL_WIDTHS = {"clip_l": 768, "clip_g": 1280}
FOLDER = "embeddings"  # under the models dir, as A1111's embeddings folder


@dataclass(frozen=True)
class EmbeddingBase:
    """What an embedding's vectors say about the model it was made for."""

    family: str  # "" when the width is none of the published ones
    evidence: str  # how the family was found, for messages


@dataclass(frozen=True)
class ResolvedEmbedding:
    """An embedding found on disk, hashed, its token and base read: what the engine loads and records."""

    name: str
    token: str
    path: Path
    sha256: str
    layout: EmbeddingLayout
    base: EmbeddingBase

    def choice(self) -> EmbeddingChoice:
        return EmbeddingChoice(path=str(self.path), sha256=self.sha256, name=self.name, token=self.token)


def read_layout(path: Path) -> EmbeddingLayout:
    """``path``'s embedding layout; raises ModelFileError naming what the file is when it is no embedding."""
    refuse_pickle(path)
    if path.suffix.lower() != ".safetensors":
        raise ModelFileError(f"{path.name} is not a .safetensors embedding.",
                             "GenLab loads textual-inversion embeddings from .safetensors files.")
    header = read_safetensors_header(path)
    layout = embedding_layout(header)
    if layout is None:
        count = len([k for k in header if k != "__metadata__"])
        raise ModelFileError(f"{path.name} is not a textual-inversion embedding: it holds {count} tensors, "
                             "not a few vectors (emb_params, clip_l and clip_g, or one tensor named by its token).",
                             "Choose an embedding .safetensors file; LoRAs go in --lora or <lora:name:weight>.")
    return layout


def embedding_token(path: Path, layout: EmbeddingLayout) -> str:
    return layout.stored_token or path.stem


def embedding_base(layout: EmbeddingLayout) -> EmbeddingBase:
    if set(layout.tensors) == {"clip_l", "clip_g"}:
        return EmbeddingBase(SDXL, "its clip_l and clip_g vectors")
    width = layout.shapes[""][1]
    family = WIDTH_FAMILY.get(width, "")
    return EmbeddingBase(family, f"its {width}-wide vectors" if family else "")


def resolve(name: str, path: Path) -> ResolvedEmbedding:
    from desktop.core.models import hashing

    layout = read_layout(path)
    return ResolvedEmbedding(name=name, token=embedding_token(path, layout), path=path.resolve(),
                             sha256=hashing.model_sha256(path), layout=layout, base=embedding_base(layout))


def check_family(emb: ResolvedEmbedding, model_family: str, model_name: str) -> None:
    """Refuse an embedding made for another family than the model's (or any, for SD 3.x and FLUX)."""
    made_for = emb.base.family
    if model_family in FLOW_FAMILIES:
        made = f" (made for {family_label(made_for)})" if made_for else ""
        raise InvalidParameter(
            f"The embedding {emb.name}{made} cannot be used with {model_name}: GenLab applies textual-inversion "
            f"embeddings to Stable Diffusion 1.x, 2.x and XL models, and it is {family_label(model_family)}.",
            "Leave the embedding out, or load a model of its family.")
    if made_for and FAMILY_GROUP.get(made_for, made_for) != FAMILY_GROUP.get(model_family, model_family):
        raise InvalidParameter(
            f"The embedding {emb.name} is for {family_label(made_for)} (from {emb.base.evidence}), "
            f"but {model_name} is {family_label(model_family)}.",
            f"Choose an embedding made for {family_label(model_family)}, or load a {family_label(made_for)} model.")


def find_embedding(name: str, library: Library) -> Path:
    """The file ``name`` (a path, a library model, or a stem in ``<models dir>/embeddings``) stands for."""
    from desktop.core import paths
    from desktop.core.models.errors import UnknownModel

    path = Path(name).expanduser()
    if path.is_file():
        return path
    if any(sep in name for sep in ("/", "\\")) or path.suffix.lower() in (".safetensors", ".pt", ".bin"):
        raise ModelFileError(f"The embedding file {path} does not exist.", "Check the path.")
    try:
        found = Path(library.get(name).path)
        if found.is_file():
            return found
    except UnknownModel:
        pass
    for candidate in known_embeddings(library):
        if candidate.stem == name:
            return candidate
    folder = paths.models_dir() / FOLDER
    raise ModelFileError(f"No embedding named {name!r} in the library or in {folder}.",
                         "Give the path of the .safetensors file, or add it to the library in Models.")


def known_embeddings(library: Library) -> list[Path]:
    """The embeddings a prompt can name: the library's, then the files in ``<models dir>/embeddings``."""
    from desktop.core import paths
    from desktop.core.models.library import TEXTUAL_INVERSION

    found = [Path(m.path) for m in library.models(kind=TEXTUAL_INVERSION) if Path(m.path).is_file()]
    folder = paths.models_dir() / FOLDER
    if folder.is_dir():
        found += sorted(p for p in folder.glob("*.safetensors") if p.is_file())
    return list(dict.fromkeys(p.resolve() for p in found))


def _word(token: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w-])" + re.escape(token) + r"(?![\w-])", re.IGNORECASE)


def uses_token(token: str, *texts: str) -> bool:
    """Whether ``token`` is a whole word of one of ``texts`` (in any case; not part of a longer name)."""
    pattern = _word(token)
    return any(pattern.search(text) for text in texts)


def prompt_for_model(text: str, embeddings: Sequence[ResolvedEmbedding]) -> str:
    """``text`` with each embedding's token as it was loaded, in lower case (see the module docstring)."""
    for emb in embeddings:
        text = _word(emb.token).sub(emb.token.lower().replace("\\", r"\\"), text)  # a literal replacement
    return text


def choose_embeddings(params: ImageParams, prompt: str, family: str, model_name: str,
                      library: Library) -> tuple[list[ResolvedEmbedding], list[str]]:
    """(the embeddings this request uses, warnings); ``prompt`` is the prompt without its LoRA tags."""
    chosen: dict[str, ResolvedEmbedding] = {}  # token -> embedding
    for choice in params.embeddings:
        path = recorded_file(choice, library, "embedding") if choice.sha256 else find_embedding(choice.path, library)
        emb = resolve(choice.name or path.stem, path)
        check_family(emb, family, model_name)
        other = chosen.get(emb.token.lower())
        if other is not None and other.sha256 != emb.sha256:
            raise InvalidParameter(f"The embeddings {other.name} and {emb.name} both stand for {emb.token!r}.",
                                   "Choose one of them.")
        chosen[emb.token.lower()] = emb
    warnings = [f"The embedding {emb.name}'s token {emb.token!r} is not in the prompt, so it changes nothing."
                for emb in chosen.values() if not uses_token(emb.token, prompt, params.negative_prompt)]
    if not params.embedding_auto:
        return list(chosen.values()), warnings
    skipped: dict[str, list[str]] = {}
    for path in known_embeddings(library):
        token = _token_of(path)
        if token is None or token.lower() in chosen or not uses_token(token, prompt, params.negative_prompt):
            continue
        emb = resolve(path.stem, path)
        try:
            check_family(emb, family, model_name)
        except InvalidParameter:
            skipped.setdefault(token, []).append(family_label(emb.base.family))
            continue
        chosen[token.lower()] = emb
    for token, families in skipped.items():
        if token.lower() not in chosen:
            where = "prompt" if uses_token(token, prompt) else "negative prompt"
            warnings.append(f"{token} in the {where} names an embedding for {' and '.join(families)}, "
                            f"not {family_label(family)}: it was not used.")
    return list(chosen.values()), warnings


_TOKENS: dict[tuple[str, int, int], str | None] = {}  # (path, size, mtime) -> its token, None: no embedding


def _token_of(path: Path) -> str | None:
    """The token of the embedding at ``path`` (None if it is none); each version of a file is read once, so
    a prompt is checked against hundreds of embeddings without reading their headers every time."""
    try:
        st = path.stat()
    except OSError:
        return None
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key not in _TOKENS:
        try:
            _TOKENS[key] = embedding_token(path, read_layout(path))
        except ModelFileError as exc:
            log.info("not an embedding: %s", exc)
            _TOKENS[key] = None
    return _TOKENS[key]


def a1111_hashes(embeddings: Sequence[ResolvedEmbedding]) -> str:
    """A1111's ``TI hashes`` value: ``token: sha256[:12]`` for each embedding."""
    return ", ".join(f"{emb.token}: {emb.sha256[:12]}" for emb in embeddings)


@contextmanager
def _quiet_transformers() -> Iterator[None]:
    from transformers.utils import logging as transformers_logging

    before = transformers_logging.get_verbosity()
    transformers_logging.set_verbosity_error()
    try:
        yield
    finally:
        transformers_logging.set_verbosity(before)


@dataclass
class _Loaded:
    embedding: ResolvedEmbedding
    added: list[tuple[Any, Any, list[str]]]  # (tokenizer, text encoder, the tokens added to them)


class EmbeddingSlots:
    """The embeddings loaded into one pipeline's tokenizers and text encoders.

    Lifecycle: made for a freshly loaded pipeline (the engine drops it with
    the pipeline); :meth:`apply` before each image keeps the loaded set when
    it is the one asked for, else unloads every embedding and loads the new
    set, so memory stays bounded and no token of an earlier image lingers.
    """

    def __init__(self, pipe: Any) -> None:
        self.pipe = pipe
        self.loaded: dict[str, _Loaded] = {}  # sha256 -> what was added
        self.loads = 0

    def _encoders(self, emb: ResolvedEmbedding) -> list[tuple[str, Any, Any]]:
        """(tensor layout key, tokenizer, text encoder) for each half of ``emb``; refuses a misfit."""
        pipe = self.pipe
        two = getattr(pipe, "text_encoder_2", None) is not None and getattr(pipe, "tokenizer_2", None) is not None
        if set(emb.layout.tensors) == {"clip_l", "clip_g"}:
            if not two:
                raise InvalidParameter(f"The embedding {emb.name} has vectors for SDXL's two text encoders, "
                                       "and the loaded model has one: it was made for another model family.",
                                       "Choose an embedding made for the loaded model's family.")
            pairs = [("clip_l", pipe.tokenizer, pipe.text_encoder), ("clip_g", pipe.tokenizer_2, pipe.text_encoder_2)]
        elif two:
            raise InvalidParameter(f"The embedding {emb.name} has vectors for one text encoder, and the loaded "
                                   "model (SDXL) has two: it was made for another model family.",
                                   "Choose an SDXL embedding (with clip_l and clip_g vectors).")
        else:
            pairs = [("", pipe.tokenizer, pipe.text_encoder)]
        for key, _, encoder in pairs:
            want = encoder.get_input_embeddings().weight.shape[-1]
            width = emb.layout.shapes[key][1]
            if width != want:
                raise InvalidParameter(
                    f"The embedding {emb.name} has {width}-wide vectors, and the loaded model's text encoder "
                    f"takes {want}-wide ones: it was made for another model family.",
                    "Choose an embedding made for the loaded model's family.")
        return pairs

    def apply(self, embeddings: list[ResolvedEmbedding]) -> None:
        wanted = {emb.sha256: emb for emb in embeddings}
        if set(wanted) == set(self.loaded):
            return
        self.unload_all()
        for sha, emb in wanted.items():
            self._load(sha, emb)

    def unload_all(self) -> None:
        """Every loaded embedding out, the tokenizers and text encoders as they were loaded."""
        by_tokenizer: dict[int, tuple[Any, Any, list[str]]] = {}
        for item in self.loaded.values():
            for tokenizer, encoder, tokens in item.added:
                by_tokenizer.setdefault(id(tokenizer), (tokenizer, encoder, []))[2].extend(tokens)
        self.loaded.clear()
        for tokenizer, encoder, tokens in by_tokenizer.values():
            # In id order: diffusers pairs the ids it finds (ascending) with the tokens in the order given.
            ordered = sorted(tokens, key=tokenizer.convert_tokens_to_ids)
            self.pipe.unload_textual_inversion(tokens=ordered, tokenizer=tokenizer, text_encoder=encoder)

    def _load(self, sha: str, emb: ResolvedEmbedding) -> None:
        import torch
        from safetensors.torch import load_file

        pairs = self._encoders(emb)
        try:
            tensors = load_file(str(emb.path))
        except Exception as exc:  # the header was checked; the data itself cannot be read
            raise ModelFileError(f"The embedding {emb.name} could not be read: {exc}.",
                                 "The file is damaged; download it again.") from exc
        item = _Loaded(emb, [])
        self.loaded[sha] = item  # so a failure halfway is unloaded with the rest
        for key, tokenizer, encoder in pairs:
            vectors = tensors[emb.layout.tensors[key]]
            if not torch.isfinite(vectors.float()).all():
                self.unload_all()
                raise ModelFileError(f"The embedding {emb.name} holds numbers that are not finite (NaN or infinity).",
                                     "The file is damaged; download it again or choose another embedding.")
            before = len(tokenizer)
            try:
                with _quiet_transformers():  # its note on how new embedding rows start is not news
                    self.pipe.load_textual_inversion(vectors.reshape(-1, vectors.shape[-1]), token=emb.token.lower(),
                                                     tokenizer=tokenizer, text_encoder=encoder)
            except ValueError as exc:
                self.unload_all()
                if "already in tokenizer vocabulary" in str(exc):
                    raise InvalidParameter(
                        f"The embedding {emb.name}'s token {emb.token!r} is already a word the model knows, so it "
                        "cannot stand for the embedding.",
                        "Rename the file (its name is its token), for example to "
                        f"{emb.token}-embedding.safetensors.") from exc
                raise ModelFileError(f"Could not load the embedding {emb.name}: {exc}".split("\n")[0][:300],
                                     "It may be made for another model, or damaged; choose another.") from exc
            item.added.append((tokenizer, encoder, tokenizer.convert_ids_to_tokens(list(range(before, len(tokenizer))))))
        self.loads += 1
