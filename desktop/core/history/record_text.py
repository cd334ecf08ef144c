"""How one GenerationRecord reads in the History workspace's record pane.

:func:`record_html` lays a record out for people: the prompts and the reply
first; then when (local time), which model ("name · quantization · file"), the
settings on one line, the timings in words and the versions on one line; last,
in smaller type, the ids, hashes and paths ("Identity").  Empty fields are left
out and every other field is shown somewhere; rating, tags and note are edited
below the text, so they are not repeated.  No widgets here.

:func:`whole_word_spans` keeps the search highlights that mark whole words
(or a word with an inflection the keyword index folds into it), so a search
for "art" does not mark the middle of "start".
"""

from __future__ import annotations

import html
import json

from desktop.core.hardware import fmt_bytes

LABEL_COLOR = "#595959"  # when the caller has no palette-derived colour

PARAMETER_LABELS = {
    "top_p": "top-p", "top_k": "top-k", "min_p": "min-p", "repeat_penalty": "repeat penalty",
    "max_tokens": "max tokens", "n_ctx": "context", "n_threads": "threads", "n_gpu_layers": "GPU layers",
    "finish_reason": "finished by", "dropped_turns": "dropped turns", "history_messages": "history messages",
    "engine_note": "engine note", "guidance_scale": "guidance", "batch_count": "batch of", "batch_index": "batch index",
    "init_image": "init image", "scheduler_class": "scheduler class", "attention_slicing": "attention slicing",
    "model_path": "model path",
}
# The settings that decide a result, in this order on the "Settings" line; the rest go to "More settings".
MAIN_PARAMETERS = {
    "text": ("temperature", "top_p", "top_k", "min_p", "repeat_penalty", "max_tokens", "stop"),
    "image": ("size", "steps", "guidance", "guidance_scale", "sampler", "scheduler", "strength", "init_image",
              "batch_count"),
}
VERSION_LABELS = {"genlab": "GenLab", "llama_cpp_python": "llama-cpp-python"}
KIND_LABELS = {"text": "Text", "image": "Image"}
ORIGIN_LABELS = {"generated": "generated here", "imported": "imported", "api": "served over the API"}


# Endings the keyword index's English stemmer folds into the word: "bake" also finds "bakes", "baked".
WORD_ENDINGS = frozenset({"s", "es", "ed", "d", "ing", "er", "ers", "ly"})


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"  # the query's words are \w+ tokens


def whole_word_spans(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The ``spans`` of ``text`` that mark whole words, each widened to its word's end.

    A span starting inside a word ("art" in "start") is dropped; one stopping
    inside a word is kept only when the rest is an inflection in
    ``WORD_ENDINGS`` ("bake" in "baked" marks "baked"), else dropped ("art" in "artist")."""
    out = []
    for start, end in spans:
        if not (0 <= start < end <= len(text)) or (start > 0 and _is_word_char(text[start - 1])):
            continue
        stop = end
        while stop < len(text) and _is_word_char(text[stop]):
            stop += 1
        if stop == end or text[end:stop].lower() in WORD_ENDINGS:
            out.append((start, stop))
    return out


def is_empty(value) -> bool:
    return value is None or value == "" or (isinstance(value, (list, tuple, dict)) and not value)


def number_text(value) -> str:
    """A number as short as it reads exactly: 0.7, 512, 7.5 (not 7.50000001 rounded away)."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        short = f"{value:g}"
        return short if float(short) == value else repr(value)
    return str(value)


def value_text(value) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(json.dumps(v, ensure_ascii=False) if isinstance(v, str) else value_text(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return number_text(value)


def seconds_text(s: float) -> str:
    """1.2 s, 80 ms, 2 min 05 s."""
    if s < 1:
        return f"{s * 1000:.0f} ms"
    if s < 60:
        return f"{s:.1f} s"
    minutes, rest = divmod(round(s), 60)
    return f"{minutes} min {rest:02d} s"


def when_text(created_at) -> str:
    """The local date and time, e.g. ``Thu 26 Nov 2026, 21:29:13``."""
    return f"{created_at.astimezone():%a %d %b %Y, %H:%M:%S}"


def model_text(model) -> str:
    """``name · quantization · file · size``, without the empty parts or repeats.

    A name that is the file name (with or without its extension) shows once, as
    the file; a quantization already in the name is not repeated."""
    stem = model.file.rsplit(".", 1)[0]
    name = "" if model.name in (model.file, stem) else model.name
    quantization = "" if model.quantization.lower() in model.name.lower() else model.quantization
    parts = [name, quantization, model.file, fmt_bytes(model.size) if _is_number(model.size) and model.size else ""]
    return " · ".join(p for p in parts if p)


def parameters_text(record) -> tuple[str, str]:
    """(the main settings on one line, every other parameter on another); either may be ''."""
    params = {k: v for k, v in record.parameters.items() if not is_empty(v)}
    if "width" in params and "height" in params:
        params["size"] = f"{number_text(params.pop('width'))}×{number_text(params.pop('height'))}"
    seed_setting = params.pop("seed", None)
    main, rest = [], []
    for key in MAIN_PARAMETERS.get(record.kind, ()):
        if key in params:
            main.append(f"{PARAMETER_LABELS.get(key, key)} {value_text(params.pop(key))}")
    if record.seed is not None:  # the seed used; the setting may have been -1, "pick one"
        main.append(f"seed {record.seed}" + (" (picked at random)" if seed_setting == -1 else ""))
        if seed_setting not in (None, -1, record.seed):
            rest.append(f"seed setting {value_text(seed_setting)}")
    elif seed_setting is not None:
        main.append(f"seed {value_text(seed_setting)}")
    for key, value in params.items():
        rest.append(f"{PARAMETER_LABELS.get(key, key.replace('_', ' '))} {value_text(value)}")
    return " · ".join(main), " · ".join(rest)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def timings_text(timings: dict) -> str:
    """load 1.2 s · first token 80 ms · 35.2 tok/s · 16 prompt + 80 generated tokens · total 4.1 s.

    Keys it does not know (or odd values, from an imported file) follow as "name value"."""
    t = {k: v for k, v in timings.items() if _is_number(v)}
    odd = {k: v for k, v in timings.items() if k not in t and not is_empty(v)}
    parts = []
    if "load_s" in t:
        parts.append(f"load {seconds_text(t.pop('load_s'))}")
    if "ttft_s" in t:
        parts.append(f"first token {seconds_text(t.pop('ttft_s'))}")
    if "tokens_per_s" in t:
        parts.append(f"{t.pop('tokens_per_s'):.1f} tok/s")
    counts = [f"{number_text(t.pop(key))} {label}" for key, label in
              (("prompt_tokens", "prompt"), ("completion_tokens", "generated")) if key in t]
    if counts:
        parts.append(" + ".join(counts) + " tokens")
    if "per_step_s" in t:
        parts.append(f"{t.pop('per_step_s'):.2f} s/step")
    for key, label in (("steps_s", "denoising"), ("decode_s", "decode"), ("save_s", "save")):
        if key in t:
            parts.append(f"{label} {seconds_text(t.pop(key))}")
    total = t.pop("total_s", None)
    for key, value in t.items():
        if key.endswith("_s"):
            parts.append(f"{key.removesuffix('_s').replace('_', ' ')} {seconds_text(value)}")
        else:
            parts.append(f"{key.replace('_', ' ')} {number_text(value)}")
    parts += [f"{key.removesuffix('_s').replace('_', ' ')} {value_text(value)}" for key, value in odd.items()]
    if total is not None:
        parts.append(f"total {seconds_text(total)}")
    return " · ".join(parts)


def versions_text(versions: dict) -> str:
    return " · ".join(f"{VERSION_LABELS.get(k, k)} {v}" for k, v in versions.items() if not is_empty(v))


def _block(label: str, text: str, color: str) -> str:
    return (f"<p style='margin:6px 0 0 0'><span style='color:{color}'>{label}</span></p>"
            f"<p style='white-space:pre-wrap;margin:0'>{html.escape(text)}</p>")


def _rows(rows: list[tuple[str, str]], color: str) -> str:
    cells = "".join(f"<tr><td valign='top' style='color:{color};padding-right:10px'>{label}</td><td>{value}</td></tr>"
                    for label, value in rows if value)
    return f"<table cellspacing='0' cellpadding='1' style='margin-top:8px'>{cells}</table>" if cells else ""


def record_html(record, image_missing: bool, label_color: str = LABEL_COLOR) -> str:
    """The record for people; see the module docstring.  ``label_color`` greys the labels and the Identity block."""
    e = html.escape
    out = []
    for label, text in (("Prompt", record.prompt), ("Negative prompt", record.negative_prompt),
                        ("System prompt", record.system_prompt),
                        ("Reply" if record.kind == "text" else "Output", record.output_text)):
        if text:
            out.append(_block(label, text, label_color))
    image = e(record.image_path) + (" <b>(missing)</b>" if image_missing and record.image_path else "")
    kind = KIND_LABELS.get(record.kind, record.kind)
    origin = ORIGIN_LABELS.get(record.origin, record.origin)
    settings, more_settings = parameters_text(record)
    out.append(_rows([
        ("Image file", image),
        ("When", e(when_text(record.created_at))),
        ("Kind", e(" · ".join(x for x in (kind, origin) if x))),
        ("Model", e(model_text(record.model))),
        ("Settings", e(settings)),
        ("More settings", e(more_settings)),
        ("Timings", e(timings_text(record.timings))),
        ("Device", e(record.device)),
        ("Versions", e(versions_text(record.versions))),
    ], label_color))
    identity = _rows([
        ("Record id", e(record.id)),
        ("Session id", e(record.session_id)),
        ("Parent id", e(record.parent_id)),
        ("Model sha256", e(record.model.sha256)),
        ("Model files", e(", ".join(str(f) for f in record.model.files))),
        ("Image sha256", e(record.image_sha256)),
        ("Thumbnail", e(record.thumbnail_path)),
    ], label_color)
    if identity:
        out.append(f"<p style='margin:12px 0 0 0;color:{label_color}'><b>Identity</b></p>"
                   f"<div style='font-size:small;color:{label_color}'>{identity}</div>")
    return "".join(out)
