"""The request bodies the server accepts, as pydantic models (strict JSON types, OpenAI's ranges).

:func:`parse` validates a raw body against one of them and turns the first
problem into an :class:`~desktop.core.server.errors.ApiError` naming the field
(``param``) and what is allowed: malformed JSON and schema errors are 400s,
like OpenAI's own API.  Fields clients commonly send that GenLab does not use
(``user``, ``presence_penalty``...) are accepted and ignored; ``n`` must be 1.
"""

from __future__ import annotations

from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import ErrorDetails

from desktop.core.server.errors import ApiError

MAX_MESSAGES = 1024
MAX_TOKENS = 1_048_576  # the largest context the text engine accepts
MAX_TEXT = 1_000_000  # characters in one message or prompt (the body limit is 1 MB anyway)
MAX_STOPS = 16
MAX_EMBED_INPUTS = 2048
MIN_SIDE, MAX_SIDE = 64, 4096
MAX_IMAGES = 8

Text = Annotated[str, Field(max_length=MAX_TEXT)]
StopText = Annotated[str, Field(min_length=1, max_length=256)]
Stop = StopText | Annotated[list[StopText], Field(max_length=MAX_STOPS)]


class _Body(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")


CollectionName = Annotated[str, Field(min_length=1, max_length=64)]
MAX_COLLECTIONS = 16


class GenLabOptions(_Body):
    """GenLab's own request options: ``"genlab": {"history": false}`` keeps it out of the history;
    ``"knowledge": ["docs", "history"]`` grounds a chat reply in those collections (with ``k``
    chunks at most, ``threshold`` the lowest relevance, ``no_context`` what to do when nothing is
    relevant: answer without context, or refuse with a 422)."""

    model_config = ConfigDict(strict=True, extra="forbid")
    history: bool = True
    knowledge: Annotated[list[CollectionName], Field(min_length=1, max_length=MAX_COLLECTIONS)] | None = None
    k: Annotated[int, Field(ge=1, le=50)] | None = None
    threshold: Annotated[float, Field(ge=0, le=1)] | None = None
    no_context: Literal["answer", "stop"] = "answer"


class TextPart(_Body):
    type: Literal["text"]
    text: Text


class Message(_Body):
    role: Literal["system", "developer", "user", "assistant"]
    content: Text | Annotated[list[TextPart], Field(max_length=64)]

    @property
    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text for part in self.content)


class StreamOptions(_Body):
    include_usage: bool = False


class _Sampling(_Body):
    """The sampling fields chat and completions share (the llama.cpp extras included)."""

    model: Annotated[str, Field(min_length=1, max_length=512)]
    max_tokens: Annotated[int, Field(ge=1, le=MAX_TOKENS)] | None = None
    temperature: Annotated[float, Field(ge=0, le=2)] | None = None
    top_p: Annotated[float, Field(gt=0, le=1)] | None = None
    top_k: Annotated[int, Field(ge=0)] | None = None
    min_p: Annotated[float, Field(ge=0, le=1)] | None = None
    repeat_penalty: Annotated[float, Field(gt=0, le=10)] | None = None
    seed: Annotated[int, Field(ge=0, le=2**32 - 1)] | None = None
    stop: Stop | None = None
    n: Annotated[int, Field(ge=1, le=1, description="GenLab makes one choice per request")] = 1
    stream: bool = False
    stream_options: StreamOptions | None = None
    genlab: GenLabOptions | None = None

    @property
    def stops(self) -> list[str]:
        if self.stop is None:
            return []
        return [self.stop] if isinstance(self.stop, str) else list(self.stop)

    @property
    def include_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.include_usage)

    @property
    def recorded(self) -> bool:
        return self.genlab is None or self.genlab.history


class ChatCompletionBody(_Sampling):
    messages: Annotated[list[Message], Field(min_length=1, max_length=MAX_MESSAGES)]
    max_completion_tokens: Annotated[int, Field(ge=1, le=MAX_TOKENS)] | None = None

    @field_validator("messages")
    @classmethod
    def _ends_with_user(cls, messages: list[Message]) -> list[Message]:
        if messages[-1].role != "user":
            raise ValueError("the last message must be the user's (the one to reply to)")
        return messages


class CompletionBody(_Sampling):
    prompt: Text | Annotated[list[Text], Field(min_length=1, max_length=1)]
    echo: Literal[False] = False

    @property
    def text(self) -> str:
        return self.prompt if isinstance(self.prompt, str) else self.prompt[0]


class EmbeddingBody(_Body):
    model: Annotated[str, Field(min_length=1, max_length=512)]
    input: Text | Annotated[list[Text], Field(min_length=1, max_length=MAX_EMBED_INPUTS)]
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = None

    @property
    def texts(self) -> list[str]:
        return [self.input] if isinstance(self.input, str) else list(self.input)


class ImageBody(_Body):
    model: Annotated[str, Field(min_length=1, max_length=512)]
    prompt: Annotated[str, Field(min_length=1, max_length=8000)]
    n: Annotated[int, Field(ge=1, le=MAX_IMAGES)] = 1
    size: Annotated[str, Field(pattern=r"^\d{1,6}x\d{1,6}$")] | None = None
    response_format: Literal["b64_json", "url"] = "b64_json"
    # GenLab's own fields, beside OpenAI's in the body (the client's extra_body)
    negative_prompt: Annotated[str, Field(max_length=8000)] = ""
    steps: Annotated[int, Field(ge=1, le=150)] | None = None
    guidance_scale: Annotated[float, Field(ge=0, le=30)] | None = None
    seed: Annotated[int, Field(ge=0, le=2**64 - 1)] | None = None
    genlab: GenLabOptions | None = None

    @field_validator("size")
    @classmethod
    def _sides_in_range(cls, size: str | None) -> str | None:
        if size is not None:
            for side in size.split("x"):
                if not MIN_SIDE <= int(side) <= MAX_SIDE:
                    raise ValueError(f"each side must be between {MIN_SIDE} and {MAX_SIDE} pixels, as WIDTHxHEIGHT")
        return size

    @property
    def width_height(self) -> tuple[int, int] | None:
        if self.size is None:
            return None
        width, height = self.size.split("x")
        return int(width), int(height)

    @property
    def recorded(self) -> bool:
        return self.genlab is None or self.genlab.history


B = TypeVar("B", bound=BaseModel)


def parse(model: type[B], raw: bytes) -> B:
    """``raw`` validated as ``model``, or an ApiError(400) naming the first bad field."""
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        if first["type"] == "json_invalid":
            raise ApiError(400, f"The request body is not valid JSON ({first['msg']}).", "invalid_json") from None
        if first["type"] == "model_type" and not first["loc"]:
            raise ApiError(400, "The request body must be a JSON object.", "invalid_json") from None
        param = _param(first["loc"])
        # A union (a string or a list) fails once per branch: say what each branch wanted.
        reasons = list(dict.fromkeys(_reason(e) for e in exc.errors(include_url=False) if _param(e["loc"]) == param))
        raise ApiError(400, f"Invalid value for '{param}': {' or '.join(reasons)}.", "invalid_value",
                       param) from None


def _param(loc: tuple) -> str:
    """The field's path as a client wrote it (``messages.0.content``), without pydantic's union tags."""
    parts = [str(p) for p in loc if isinstance(p, int) or (p.isidentifier() and p not in _TAGS)]
    return ".".join(parts)


_TAGS = frozenset({"str", "int", "float", "bool", "list", "dict"})


def _reason(error: ErrorDetails) -> str:
    message = str(error["msg"])
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    return message[0].lower() + message[1:] if message else "not allowed"
