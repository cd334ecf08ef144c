"""Edits of the prompt's <lora:…> tags that the LoRA panel makes."""

import pytest

from desktop.core.errors import InvalidParameter
from desktop.ui.images.lora_tags import add_tag, prompt_tags, remove_tag, set_weight


def test_add_set_and_remove_a_tag_keep_the_rest_of_the_prompt():
    prompt = add_tag("a lighthouse, at dusk", "style-one", 1.0)
    assert prompt == "a lighthouse, at dusk <lora:style-one:1>"
    prompt = set_weight(prompt, "style-one", 0.755)
    assert prompt == "a lighthouse, at dusk <lora:style-one:0.76>"
    assert add_tag(prompt, "style-one", 0.5) == "a lighthouse, at dusk <lora:style-one:0.5>"  # no second tag
    assert remove_tag(prompt, "style-one") == "a lighthouse, at dusk"
    assert remove_tag("<lora:a:1> a ship", "a") == "a ship"
    assert add_tag("", "a", -0.25) == "<lora:a:-0.25>"


def test_tags_are_read_as_the_engine_reads_them():
    tags = prompt_tags("x <lora:a:0.5> <lora:b> y <lora:a:0.7:0.2>")
    assert [(t.name, t.weight) for t in tags] == [("a", 0.7), ("b", 1.0)]  # the last tag of a name wins
    assert set_weight("<lora:a:0.5> and <lora:a:1>", "a", 0.3) == "<lora:a:0.3> and <lora:a:0.3>"
    with pytest.raises(InvalidParameter, match="not a number"):
        prompt_tags("x <lora:a:lots>")
