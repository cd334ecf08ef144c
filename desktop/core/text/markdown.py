"""Chat text for display: Markdown to HTML, code highlighting, special tokens hidden.

Qt-free, so the renderer is tested (and usable) without a display.  A reply is
split into blocks: top-level fenced or indented code becomes a
:class:`CodeBlock` (the GUI gives it a language label and a Copy button), and
everything between is :class:`Prose` HTML.  Rendering is a pure function of
the text, so a reply rendered while it streams looks exactly like the final
rendering of the same text; an unclosed code fence simply runs to the end, as
CommonMark says.

The renderer is markdown-it-py's CommonMark with tables and strikethrough;
raw HTML is escaped (a model's ``<b>`` is shown as written) and single line
breaks are kept (``breaks``), so a poem keeps its lines.  The HTML sticks to
the subset Qt's rich text understands.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from markdown_it import MarkdownIt
from markdown_it.token import Token

# <|im_end|>, <|eot_id|>, <|start_header_id|> (ChatML, Llama 3, Phi) and
# <start_of_turn>, <end_of_image> (Gemma): control tokens, never prose.
_GENERIC_SPECIAL = re.compile(r"<\|[A-Za-z0-9_.:\-]{1,48}\|>|<(?:start|end)_of_[A-Za-z0-9_]{1,32}>")


@dataclass(frozen=True)
class Prose:
    """Markdown that is not a top-level code block, as Qt rich-text HTML."""

    html: str


@dataclass(frozen=True)
class CodeBlock:
    """A top-level code block: its source, its language (may be empty) and highlighted HTML."""

    code: str
    language: str
    html: str


Block = Prose | CodeBlock


def strip_special_tokens(text: str, specials: Iterable[str] = ()) -> str:
    """``text`` without the model's special tokens (``specials``) and generic control tokens.

    Only tokens that look like markup (``<s>``, ``</s>``, ``[INST]``) are taken
    from ``specials``: a model whose end token is a plain word must not lose
    that word from its prose.
    """
    for token in sorted({s for s in specials if _looks_like_control(s)}, key=len, reverse=True):
        text = text.replace(token, "")
    return _GENERIC_SPECIAL.sub("", text)


def _looks_like_control(token: str) -> bool:
    token = token.strip()
    return len(token) >= 3 and ((token[0], token[-1]) in (("<", ">"), ("[", "]")))


def render_blocks(text: str, *, dark: bool = False, mono: str = "monospace") -> list[Block]:
    """Render Markdown ``text`` as display blocks.

    ``dark`` picks the highlighting colours; ``mono`` is the font family of
    code inside lists and quotes (the GUI passes the system's fixed font).
    """
    md = _markdown(dark, mono)
    tokens = md.parse(text)
    blocks: list[Block] = []
    prose: list[Token] = []

    def flush() -> None:
        if prose:
            rendered = md.renderer.render(prose, md.options, {}).strip()
            if rendered:
                blocks.append(Prose(rendered))
            prose.clear()

    for token in tokens:
        if token.level == 0 and token.type in ("fence", "code_block"):
            flush()
            language = _language(token)
            code = token.content[:-1] if token.content.endswith("\n") else token.content
            blocks.append(CodeBlock(code, language, highlight(code, language, dark=dark)))
        else:
            prose.append(token)
    flush()
    return blocks


def render_html(text: str, *, dark: bool = False, mono: str = "monospace") -> str:
    """The whole of ``text`` as one HTML string (code blocks as highlighted ``<pre>``)."""
    blocks = render_blocks(text, dark=dark, mono=mono)
    return "\n".join(b.html if isinstance(b, Prose) else pre_html(b.html, mono) for b in blocks)


def plain_html(text: str) -> str:
    """Text shown as typed (a user's message): escaped, every line break kept."""
    escaped = html.escape(text).replace("\n", "<br>")
    return f"<p style='white-space: pre-wrap'>{escaped}</p>"


def highlight(code: str, language: str, *, dark: bool = False) -> str:
    """``code`` as HTML spans with inline colours (Qt has no stylesheet classes); escaped when unknown."""
    from pygments import highlight as pygments_highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    try:
        lexer = get_lexer_by_name(language, stripnl=False, ensurenl=False) if language else None
    except ClassNotFound:
        lexer = None
    if lexer is None:
        return html.escape(code)
    formatter = HtmlFormatter(nowrap=True, noclasses=True, style="github-dark" if dark else "default")
    # Pygments' own background colour is left out: the code block's frame has the theme's.
    return pygments_highlight(code, lexer, formatter).removesuffix("\n")


def _language(token: Token) -> str:
    info = token.info.strip() if token.type == "fence" else ""
    return info.split()[0] if info else ""


def pre_html(inner: str, mono: str = "monospace") -> str:
    """Highlighted code (``inner``) as a ``<pre>`` in the font family ``mono``."""
    family = mono.replace("'", "").replace('"', "")
    families = "monospace" if family == "monospace" else f"'{family}', monospace"
    return f'<pre style="font-family: {families}">{inner}</pre>'


@lru_cache(maxsize=4)
def _markdown(dark: bool, mono: str) -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "breaks": True}).enable(["table", "strikethrough"])

    def fence(renderer, tokens, idx, options, env) -> str:  # a code block inside a list or a quote
        token = tokens[idx]
        code = token.content.removesuffix("\n")
        return pre_html(highlight(code, _language(token), dark=dark), mono) + "\n"

    def table_open(renderer, tokens, idx, options, env) -> str:
        return "<table border='1' cellspacing='0' cellpadding='4'>\n"

    md.add_render_rule("fence", fence)
    md.add_render_rule("code_block", fence)
    md.add_render_rule("table_open", table_open)
    return md
