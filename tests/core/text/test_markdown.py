"""Tests of the Qt-free chat text renderer: CommonMark with HTML escaped, line breaks
kept, code blocks split out and highlighted, control tokens hidden."""

from __future__ import annotations

import pytest

from desktop.core.text.markdown import (
    CodeBlock,
    Prose,
    highlight,
    plain_html,
    render_blocks,
    render_html,
    strip_special_tokens,
)


def test_a_list_ends_where_the_markdown_says():
    [prose] = render_blocks("Steps:\n\n1. one\n2. two\n\nAfter the list.")
    assert prose.html.index("</ol>") < prose.html.index("After the list.")
    assert "<li>" not in prose.html.split("</ol>")[1]


def test_single_line_breaks_are_kept():
    html = render_html("Roses are red\nViolets are blue")
    assert "Roses are red<br />" in html and "Violets are blue" in html


@pytest.mark.parametrize("source, shown", [
    ("Use <b>x</b> here", "Use &lt;b&gt;x&lt;/b&gt; here"),
    ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
    ("<div>\nblock html\n</div>", "&lt;div&gt;"),
    ("<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)&gt;"),
])
def test_raw_html_is_escaped(source, shown):
    html = render_html(source)
    assert shown in html
    assert "<script" not in html and "<b>" not in html and "<img" not in html and "<div" not in html


def test_emphasis_headings_tables_and_strikethrough_render():
    html = render_html("# Title\n\n**bold** *it* `code` ~~gone~~\n\n| a | b |\n|---|---|\n| 1 | 2 |")
    for tag in ("<h1>", "<strong>bold</strong>", "<em>it</em>", "<code>code</code>", "<s>gone</s>", "<table"):
        assert tag in html


def test_top_level_code_blocks_are_split_out_with_their_language():
    blocks = render_blocks("Before.\n\n```python\nif a < b:\n    pass\n```\n\n    indented code\n\nAfter.")
    assert [type(b) for b in blocks] == [Prose, CodeBlock, CodeBlock, Prose]
    fenced, indented = blocks[1], blocks[2]
    assert fenced.language == "python" and fenced.code == "if a < b:\n    pass"
    assert 'style="color' in fenced.html and "&lt;" in fenced.html and "<b" not in fenced.html.replace("<br", "")
    assert indented.language == "" and indented.code == "indented code"


def test_an_unclosed_fence_is_code_to_the_end():
    [prose, code] = render_blocks("Look:\n\n```js\nconst a = 1;\n**not bold**")
    assert isinstance(code, CodeBlock) and code.code == "const a = 1;\n**not bold**"
    assert "<strong>" not in code.html


def test_code_inside_a_list_stays_in_the_list_as_preformatted_text():
    [prose] = render_blocks("- item\n\n  ```\n  nested <tag>\n  ```\n- next", mono="DejaVu Sans Mono")
    assert "<pre style=\"font-family: 'DejaVu Sans Mono', monospace\">nested &lt;tag&gt;</pre>" in prose.html
    assert prose.html.index("<pre") < prose.html.index("next")


def test_unknown_language_is_escaped_plain_text():
    assert highlight("a <b> & c", "no-such-language") == "a &lt;b&gt; &amp; c"
    assert highlight("x = 1", "") == "x = 1"


def test_dark_highlighting_uses_other_colours():
    assert highlight("def f(): pass", "python", dark=True) != highlight("def f(): pass", "python")


def test_rendering_is_a_function_of_the_text():
    # A reply rendered while it streams equals its final rendering.
    text = "Some **bold**\n\n1. a\n2. b\n\n```py\nx = 1\n```"
    assert render_blocks(text) == render_blocks(text)


@pytest.mark.parametrize("raw, shown", [
    ("Hello<|im_end|>", "Hello"),
    ("<|start_header_id|>assistant<|end_header_id|>Hi<|eot_id|>", "assistantHi"),
    ("Hi<end_of_turn>\n<start_of_image>", "Hi\n"),
    ("a <| b |> c", "a <| b |> c"),  # not a token: spaces inside
    ("x < y and y > z", "x < y and y > z"),
])
def test_generic_control_tokens_are_stripped(raw, shown):
    assert strip_special_tokens(raw) == shown


def test_the_models_special_tokens_are_stripped_when_they_look_like_markup():
    assert strip_special_tokens("<s>Hi</s>", ["<s>", "</s>"]) == "Hi"
    assert strip_special_tokens("[INST] hi", ["[INST]"]) == " hi"
    # An end token that is a plain word must not eat that word from the prose.
    assert strip_special_tokens("the end of it", ["end", ""]) == "the end of it"


def test_plain_text_keeps_every_line_and_escapes():
    assert plain_html("a <b>\nc") == "<p style='white-space: pre-wrap'>a &lt;b&gt;<br>c</p>"
